import ExplainCore
import ExplainONNX
import ExplainTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// Model-local functions are inlined at import: formal names mapped to the call's, attributes
/// referring to the call's (or the function's default), calls nested in bodies and calls inside
/// `If` branches, an `If` whose condition folds; a function that calls itself is a named error.
@Suite struct FunctionInliningTests {
    func node(_ op: String, _ inputs: [String], _ outputs: [String], domain: String = "", name: String = "",
              attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op; n.domain = domain; n.input = inputs; n.output = outputs; n.name = name; n.attribute = attributes
        return n
    }

    func floatAttribute(_ name: String, _ value: Float? = nil, ref: String? = nil) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = 1
        if let value { a.f = value }
        if let ref { a.refAttrName = ref }
        return a
    }

    /// x · alpha with alpha an attribute (default 2), and a function calling it.
    func model(calls: [Onnx_NodeProto], output: String, recursive: Bool = false) throws -> Data {
        var scale = Onnx_FunctionProto()
        scale.domain = "custom"; scale.name = "Scale"; scale.input = ["a"]; scale.output = ["b"]; scale.attribute = ["alpha"]
        scale.attributeProto = [floatAttribute("alpha", 2)]
        scale.node = [node("Constant", [], ["k"], attributes: [floatAttribute("value_float", ref: "alpha")]), node("Mul", ["a", "k"], ["b"])]
        var twice = Onnx_FunctionProto()
        twice.domain = "custom"; twice.name = "Twice"; twice.input = ["p"]; twice.output = ["q"]
        twice.node = recursive ? [node("Twice", ["p"], ["q"], domain: "custom")]
            : [node("Scale", ["p"], ["mid"], domain: "custom"), node("Scale", ["mid"], ["q"], domain: "custom")]
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 18
        var custom = Onnx_OperatorSetIdProto()
        custom.domain = "custom"; custom.version = 1
        m.opsetImport = [opset, custom]
        m.functions = [scale, twice]
        m.graph.node = calls
        var x = Onnx_ValueInfoProto()
        x.name = "x"; x.type.tensorType.elemType = 1
        for d in [0, 3] { var dim = Onnx_TensorShapeProto.Dimension(); if d > 0 { dim.dimValue = Int64(d) } else { dim.dimParam = "N" }; x.type.tensorType.shape.dim.append(dim) }
        var y = Onnx_ValueInfoProto()
        y.name = output
        m.graph.input = [x]
        m.graph.output = [y]
        return try m.serializedBytes()
    }

    @Test func attributesDefaultsAndNestedCalls() throws {
        let calls = [node("Scale", ["x"], ["y1"], domain: "custom", name: "given", attributes: [floatAttribute("alpha", 3)]),
                     node("Twice", ["y1"], ["y"], domain: "custom", name: "nested")]
        let imported = try ONNXImporter.decode(try model(calls: calls, output: "y"))
        let x = try Tensor(shape: [2, 3], scalars: [1, -2, 3, 0.5, 4, -1])
        let y = try imported.graph.predict(x)
        // 3 (given) · 2 · 2 (the default, twice).
        #expect(y.scalars == x.scalars.map { $0 * 12 })
        #expect(imported.graph.nodes.contains { $0.name.hasPrefix("nested/") })
    }

    @Test func recursionIsANamedError() throws {
        let calls = [node("Twice", ["x"], ["y"], domain: "custom")]
        let e = #expect(throws: ExplainError.self) { try ONNXImporter.decode(try model(calls: calls, output: "y", recursive: true)) }
        #expect(e?.message.contains("levels deep") == true, "\(e?.message ?? "")")
    }
}
