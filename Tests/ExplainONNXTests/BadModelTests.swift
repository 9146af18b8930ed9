import ExplainCore
import ExplainONNX
import ExplainTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// Bad model files give named errors, never a crash.
@Suite struct BadModelTests {
    func modelBytes(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: TestPaths.models + "/\(name)/model.onnx"))
    }

    func importError(_ data: Data, options: ImportOptions = ImportOptions()) -> ExplainError? {
        do { _ = try ONNXImporter.decode(data, options: options); return nil } catch let e as ExplainError { return e } catch { return nil }
    }

    /// A one-node model: input (N, 4) → op → output, built from the generated protobuf types.
    func tinyModel(op: String, initializer: Onnx_TensorProto? = nil, inputs extra: [String] = []) throws -> Data {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 13
        m.opsetImport = [opset]
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = "the_node"
        node.input = ["x"] + extra
        node.output = ["y"]
        m.graph.node = [node]
        var x = Onnx_ValueInfoProto()
        x.name = "x"
        x.type.tensorType.elemType = 1
        var y = Onnx_ValueInfoProto()
        y.name = "y"
        m.graph.input = [x]
        m.graph.output = [y]
        if let initializer { m.graph.initializer = [initializer] }
        return try m.serializedBytes()
    }

    @Test func truncatedFile() throws {
        let bytes = try modelBytes("vgg")
        let e = importError(bytes.prefix(bytes.count / 2))
        #expect(e?.code == .malformedFile)
    }

    @Test func randomBytes() throws {
        var rng = TestRandom(seed: 1)
        for length in [0, 1, 17, 1000, 65_536] {
            let data = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) })
            #expect(importError(data)?.code == .malformedFile, "length \(length)")
        }
    }

    @Test func unknownOperatorListsSupportedOnes() throws {
        let e = try #require(importError(try tinyModel(op: "Resize")))
        #expect(e.code == .unsupportedOperator)
        #expect(e.node == "the_node")
        #expect(e.message.contains("Conv") && e.message.contains("Resize"))
    }

    @Test func absurdDimensionsAreRejectedBeforeAllocating() throws {
        var t = Onnx_TensorProto()
        t.name = "w"
        t.dataType = 1
        t.dims = [1 << 20, 1 << 20]
        let e = try #require(importError(try tinyModel(op: "MatMul", initializer: t, inputs: ["w"])))
        #expect(e.code == .tooLarge)
        var small = ImportOptions()
        small.maxTensorBytes = 1000
        var t2 = Onnx_TensorProto()
        t2.name = "w"
        t2.dataType = 1
        t2.dims = [100, 100]
        #expect(importError(try tinyModel(op: "MatMul", initializer: t2, inputs: ["w"]), options: small)?.code == .tooLarge)
    }

    /// Range folded at import with huge or non-finite bounds: a named error or an empty range,
    /// never a trap converting the count (found by fuzzing).
    @Test func rangeBoundsAreCheckedBeforeConverting() throws {
        func range(_ type: Int32, _ values: [Double]) throws -> Data {
            var m = try Onnx_ModelProto(serializedBytes: try tinyModel(op: "Relu"))
            for (name, v) in zip(["start", "limit", "delta"], values) {
                var t = Onnx_TensorProto()
                t.name = name
                t.dataType = type
                if type == 7 { t.int64Data = [Int64(v)] } else { t.floatData = [Float(v)] }
                m.graph.initializer.append(t)
            }
            var node = Onnx_NodeProto()
            node.opType = "Range"
            node.name = "the_range"
            node.input = ["start", "limit", "delta"]
            node.output = ["r"]
            m.graph.node.insert(node, at: 0)
            return try m.serializedBytes()
        }
        #expect(importError(try range(7, [9e18, -9e18, 1])) == nil)   // empty
        #expect(importError(try range(7, [-9e18, 9e18, 1]))?.code == .tooLarge)
        #expect(importError(try range(1, [0, .infinity, 1]))?.code == .tooLarge)
        #expect(importError(try range(1, [3e38, -3e38, 1e-30])) == nil)   // −∞ values: empty
        #expect(importError(try range(1, [0, .nan, 1]))?.code == .tooLarge)
    }

    @Test func missingInitializerAndExternalData() throws {
        let e = try #require(importError(try tinyModel(op: "MatMul", inputs: ["nowhere"])))
        #expect(e.code == .missingValue)
        #expect(e.message.contains("nowhere"))
        var t = Onnx_TensorProto()
        t.name = "w"
        t.dataType = 1
        t.dims = [4, 2]
        t.dataLocation = 1
        let e2 = try #require(importError(try tinyModel(op: "MatMul", initializer: t, inputs: ["w"])))
        #expect(e2.message.contains("external data"))
        var t3 = Onnx_TensorProto()
        t3.name = "w"
        t3.dataType = 1
        t3.dims = [4, 2]
        t3.rawData = Data(count: 7)
        #expect(importError(try tinyModel(op: "MatMul", initializer: t3, inputs: ["w"]))?.code == .malformedFile)
    }

    @Test func unsupportedAttributeAndOpset() throws {
        var m = try Onnx_ModelProto(serializedBytes: try modelBytes("vgg"))
        m.opsetImport[0].version = 7
        #expect(importError(try m.serializedBytes())?.code == .unsupportedAttribute)
        var m2 = try Onnx_ModelProto(serializedBytes: try modelBytes("vgg"))
        if let i = m2.graph.node.firstIndex(where: { $0.opType == "Conv" }) {
            var a = Onnx_AttributeProto()
            a.name = "auto_pad"
            a.type = 3
            a.s = Data("WRONG".utf8)
            m2.graph.node[i].attribute.append(a)
        }
        let e = try #require(importError(try m2.serializedBytes()))
        #expect(e.code == .unsupportedAttribute)
        #expect(e.op == "Conv" && e.node != nil)
    }

    @Test func inconsistentShapesNameTheNode() throws {
        var m = try Onnx_ModelProto(serializedBytes: try modelBytes("vgg"))
        // Declare 5 input channels for a network whose first conv takes 3.
        m.graph.input[0].type.tensorType.shape.dim[1].dimValue = 5
        let e = try #require(importError(try m.serializedBytes()))
        #expect(e.code == .shapeMismatch)
        #expect(e.node != nil)
        // The batch is shown as N, not as the sentinel extent used while inferring shapes.
        #expect(e.message.contains("(N, 5, ") && !e.message.contains("\(1_000_003)"), "\(e.message)")
    }
}
