import ExplainCore
import Foundation
import SwiftProtobuf

/// Options of the ONNX importer.
public struct ImportOptions: Sendable {
    /// Largest tensor (initializer or constant) accepted, in bytes; checked before allocating.
    public var maxTensorBytes: Int = 2 << 30
    /// Overrides the declared input shape (dimension 0 is the batch; see `ImportedModel.batchNote`).
    public var inputShape: [Int]? = nil
    /// Graph inputs held at fixed values (a text model's `attention_mask`, `token_type_ids`): they
    /// become constants, so the model has one runtime input left. A batch of 1 broadcasts to the
    /// explained batch wherever the graph broadcasts.
    public var bind: [String: Tensor] = [:]

    public init(maxTensorBytes: Int = 2 << 30, inputShape: [Int]? = nil, bind: [String: Tensor] = [:]) {
        self.maxTensorBytes = maxTensorBytes
        self.inputShape = inputShape
        self.bind = bind
    }
}

/// A model imported from ONNX: the Core graph plus facts about the file.
public struct ImportedModel: Sendable {
    public var graph: Graph
    /// The ONNX default-domain opset.
    public var opset: Int
    public var producer: String
    /// The name of the graph input.
    public var inputName: String
    /// When the graph ends in Softmax: the value that feeds it (the logits).
    public var softmaxInput: ValueID?
    /// For a file exported with a fixed batch size (`torch.onnx.export` without `dynamic_axes`):
    /// whether the graph was generalised to any batch size, or why it runs at that size only.
    public var batchNote: String? = nil

    /// The value to explain: the logits before a final Softmax, else the graph output.
    public var logits: ValueID { softmaxInput ?? graph.outputs[0] }
}

/// Imports ONNX models (opsets 11–21, as written by `torch.onnx.export` — TorchScript or dynamo — and tf2onnx) into Core graphs.
public enum ONNXImporter {
    public static let supportedOpsets = 11...21
    /// The operators of the default domain that import (sorted).
    public static var supportedOperators: [String] { Operators.supported }

    /// Reads and imports an `.onnx` file.
    public static func load(path: String, options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        let bytes: Data
        guard FileManager.default.fileExists(atPath: path) else { throw ExplainError(.io, "file not found", file: path) }
        guard let d = FileManager.default.contents(atPath: path) else { throw ExplainError(.io, "cannot read the file", file: path) }
        bytes = d
        do {
            return try decode(bytes, options: options)
        } catch let e as ExplainError {
            throw e.inFile(path)
        }
    }

    /// Imports a model from the bytes of an `.onnx` file.
    public static func decode(_ bytes: Data, options: ImportOptions = ImportOptions()) throws -> ImportedModel {
        var model: Onnx_ModelProto
        do {
            var decoding = BinaryDecodingOptions()
            decoding.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: bytes, options: decoding)
        } catch {
            throw ExplainError(.malformedFile, "not a valid ONNX model (protobuf decoding failed: \(error)); the file may be truncated or not an ONNX file")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw ExplainError(.malformedFile, "the file holds no ONNX graph (is it an ONNX model?)")
        }
        var opset = 0
        for o in model.opsetImport where o.domain.isEmpty || o.domain == "ai.onnx" { opset = Int(o.version) }
        guard supportedOpsets.contains(opset) else {
            throw ExplainError(.unsupportedAttribute, "opset \(opset) is not supported (\(supportedOpsets.lowerBound)–\(supportedOpsets.upperBound)); re-export with torch.onnx.export(..., opset_version=17)")
        }
        let decoder = TensorDecoder(maxBytes: options.maxTensorBytes)
        var constants: [String: ConstantValue] = [:]
        for t in model.graph.initializer {
            constants[t.name] = try decoder.decode(t, what: "initializer '\(t.name)'")
        }
        let producer = model.producerName + (model.producerVersion.isEmpty ? "" : " " + model.producerVersion)
        // The decoded initializers replace their protobuf copies (half the memory of a large model).
        var graphProto = try FunctionInlining.inline(model.graph, functions: model.functions)
        graphProto.initializer = []
        model = Onnx_ModelProto()
        func imported(_ batch: GraphImport.BatchMode) throws -> ImportedModel {
            var importer = GraphImport(proto: graphProto, opset: opset, options: options, constants: constants, batch: batch)
            let (graph, inputName, softmaxInput) = try importer.run()
            return ImportedModel(graph: graph, opset: opset, producer: producer, inputName: inputName, softmaxInput: softmaxInput)
        }
        var declared = try imported(.declared)
        guard let fixed = declared.graph.declaredInputShapes.first?.first ?? nil else { return declared }
        // A fixed batch size (the default of torch.onnx.export): try the graph with the batch left
        // open, and keep it only when it computes every sample exactly as the file's graph does.
        do {
            let general = try imported(.generalized(from: fixed))
            try BatchGeneralisation.check(general.graph, against: declared.graph, batch: fixed)
            var model = general
            model.batchNote = "exported with a fixed batch size of \(fixed); runs at any batch size (checked against the file's graph at \(fixed + 1) samples)"
            return model
        } catch let e as ExplainError {
            declared.batchNote = "exported with a fixed batch size of \(fixed) and runs at that size only: \(e.description)"
            return declared
        }
    }
}

/// The state of one import: names resolved to runtime values or constants.
struct GraphImport {
    let proto: Onnx_GraphProto
    let opset: Int
    let options: ImportOptions
    var builder = GraphBuilder()
    var values: [String: ValueID] = [:]
    var shapes: [ValueID: [Int]] = [:]
    var constants: [String: ConstantValue] = [:]
    var valueNodes: [ValueID: String] = [:]
    /// The runtime input's value id.
    var inputID: ValueID? = nil
    let batch: BatchMode

    /// How the input's batch dimension is read.
    enum BatchMode {
        /// As the file declares it (fixed or dynamic).
        case declared
        /// Open, although the file fixes it at the given size: constant shapes with that size
        /// in the batch position are read as the batch size.
        case generalized(from: Int)
    }

    init(proto: Onnx_GraphProto, opset: Int, options: ImportOptions, constants: [String: ConstantValue], batch: BatchMode) {
        self.proto = proto
        self.opset = opset
        self.options = options
        self.constants = constants
        self.batch = batch
    }

    mutating func run() throws -> (Graph, String, ValueID?) {
        for (name, value) in options.bind {
            guard let declared = proto.input.first(where: { $0.name == name }), constants[name] == nil else {
                throw ExplainError(.invalidArgument, "--bind \(name): the model has no input of that name; its inputs are \(proto.input.filter { constants[$0.name] == nil }.map(\.name))")
            }
            let integer = [6, 7].contains(declared.type.tensorType.elemType)
            if integer, let bad = value.scalars.first(where: { !$0.isFinite || $0.rounded() != $0 || abs($0) >= 16_777_216 }) {
                throw ExplainError(.invalidArgument, "--bind \(name): the input holds integers (token ids, masks), but the array has \(bad)")
            }
            constants[name] = integer ? .int(IntTensor(shape: value.shape, values: value.scalars.map { .known(Int($0)) })) : .float(value)
        }
        let runtimeInputs = proto.input.filter { constants[$0.name] == nil }
        guard runtimeInputs.count == 1, let input = runtimeInputs.first else {
            let hint = runtimeInputs.count > 1 ? ": hold the others at fixed values with --bind NAME=file:X.npy (e.g. attention_mask)" : ""
            throw ExplainError(.unsupportedAttribute, "models with \(runtimeInputs.count) runtime inputs are not supported (exactly one is needed): \(runtimeInputs.map(\.name))\(hint)")
        }
        let elem = input.type.tensorType.elemType
        // Integer inputs (token ids for an embedding) are carried as floats, exact up to 2^24.
        guard [0, 1, 6, 7].contains(elem) else {
            throw ExplainError(.unsupportedDataType, "input '\(input.name)' has element type \(TensorDecoder.typeNames[elem] ?? "\(elem)"); FLOAT inputs, or INT32 / INT64 token ids, are supported")
        }
        // Unknown extents are written as a name, left out, or (by some exporters) as 0 or -1.
        var declared: [Int?] = try input.type.tensorType.shape.dim.map {
            guard $0.dimValue < 1 << 31 else {
                throw ExplainError(.tooLarge, "input '\(input.name)' declares an extent of \($0.dimValue); the file is damaged or the model is too large")
            }
            return $0.dimValue > 0 ? Int($0.dimValue) : nil
        }
        if let override = options.inputShape {
            guard override.count >= 1, override.allSatisfy({ $0 > 0 }) else {
                throw ExplainError.init(.invalidArgument, "input shape \(override) must have positive dimensions")
            }
            declared = [declared.first ?? nil] + override.dropFirst().map { Optional($0) }
        }
        if case .generalized = batch, !declared.isEmpty { declared[0] = nil }
        let id = builder.addInput(name: input.name, shape: declared)
        values[input.name] = id
        inputID = id
        if !declared.isEmpty, declared.dropFirst().allSatisfy({ $0 != nil }) {
            shapes[id] = [declared[0] ?? ShapeProbe.batch] + declared.dropFirst().map { $0! }
        }

        for (index, node) in proto.node.enumerated() {
            let name = node.name.isEmpty ? "\(node.opType)_\(index)" : node.name
            do {
                try convert(node, name: name)
            } catch var e as ExplainError {
                // Shapes met during import carry the batch as a sentinel extent: show it as N.
                e.message = e.message.replacingOccurrences(of: "\(ShapeProbe.batch)", with: "N")
                throw e.at(node: name, op: node.opType)
            }
        }

        var outputs: [ValueID] = []
        for o in proto.output {
            guard let v = values[o.name] else {
                throw ExplainError(.unsupportedAttribute, "graph output '\(o.name)' is a constant or missing; it must be computed from the input")
            }
            outputs.append(v)
        }
        let graph = try BiasFusion.fuse(try GeluFusion.fuse(try builder.build(outputs: outputs)))
        var softmaxInput: ValueID? = nil
        if let out = outputs.first, let p = graph.producers[out], graph.nodes[p].layer.kind == .softmax {
            softmaxInput = graph.nodes[p].inputs[0]
        }
        return (graph, input.name, softmaxInput)
    }

    mutating func convert(_ node: Onnx_NodeProto, name: String) throws {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw ExplainError(.unsupportedOperator, "operator domain '\(node.domain)' is not supported (only the default ONNX domain)")
        }
        if node.opType == "If" { return try convertIf(node, name: name) }
        guard let converter = Operators.table[node.opType] else {
            throw ExplainError(.unsupportedOperator, "operator '\(node.opType)' is not supported; supported operators are \(Operators.supported.joined(separator: ", "))")
        }
        let operands = try node.input.map { n -> Operand in
            if n.isEmpty { return .absent }
            if let v = values[n] { return .value(v, shape: shapes[v]) }
            if let c = constants[n] { return .constant(c) }
            throw ExplainError(.missingValue, "input '\(n)' is neither an initializer nor the output of an earlier node")
        }
        guard let outputName = node.output.first, !outputName.isEmpty else {
            throw ExplainError(.malformedFile, "node has no output")
        }
        var context = NodeContext(attributes: Attributes(node, name: name), operands: operands, opset: opset,
                                  decoder: TensorDecoder(maxBytes: options.maxTensorBytes))
        if let inputID { context.batchSource = .value(inputID, shape: shapes[inputID]) }
        if case .generalized(let b) = batch { context.fixedBatch = b }
        let result = try converter(context)
        // Extra outputs (MaxPool indices, BatchNorm statistics, Dropout mask) must be unused.
        let extra = Set(node.output.dropFirst().filter { !$0.isEmpty })
        if !extra.isEmpty, proto.node.contains(where: { !Set($0.input).isDisjoint(with: extra) }) || proto.output.contains(where: { extra.contains($0.name) }) {
            throw ExplainError(.unsupportedAttribute, "the extra outputs \(extra.sorted()) of \(node.opType) are used; only the first output is supported")
        }
        switch result {
        case .alias(let v):
            values[outputName] = v
        case .constant(let c):
            if case .int(let t) = c, (try? Shape.elementCount(t.shape)) != t.values.count {
                // Every folding checks its shapes; this guards the ones to come.
                throw ExplainError(.malformedFile, "the folded value has \(t.values.count) entries for shape \(Shape.format(t.shape))")
            }
            constants[outputName] = c
        case .layer(let layer, let operands):
            try addLayer(layer, operands: operands, name: name, outputName: outputName)
        }
    }

    /// `If` whose condition is known at import time (shape tests in PyTorch's dynamo exports): the
    /// chosen branch's nodes are imported in its place and its outputs become the If's.
    mutating func convertIf(_ node: Onnx_NodeProto, name: String) throws {
        guard let condName = node.input.first, let cond = constants[condName] else {
            throw ExplainError(.unsupportedOperator, "If needs a condition known at import time (a shape test); a data-dependent If is not supported")
        }
        let taken = try cond.ints("If condition").first.map { $0 != 0 } ?? false
        let attribute = taken ? "then_branch" : "else_branch"
        guard let branch = node.attribute.first(where: { $0.name == attribute }), branch.hasG else {
            throw ExplainError(.malformedFile, "If has no \(attribute)")
        }
        for (i, n) in branch.g.node.enumerated() {
            try convert(n, name: name + "/" + (n.name.isEmpty ? "\(n.opType)_\(i)" : n.name))
        }
        for (j, out) in branch.g.output.enumerated() where j < node.output.count && !node.output[j].isEmpty {
            if let v = values[out.name] { values[node.output[j]] = v }
            else if let c = constants[out.name] { constants[node.output[j]] = c }
            else { throw ExplainError(.missingValue, "If's \(attribute) output '\(out.name)' is not computed") }
        }
    }

    mutating func addLayer(_ layer: any Layer, operands: [Operand], name: String, outputName: String) throws {
        // All operands constant: evaluate now (constant folding).
        if operands.allSatisfy({ if case .constant = $0 { return true } else { return false } }) {
            let args = try operands.map { op -> Tensor in
                guard case .constant(let c) = op else { throw ExplainError(.missingValue, "missing operand") }
                return try c.floatTensor("operand")
            }
            constants[outputName] = .float(try layer.forward(args))
            return
        }
        var ids: [ValueID] = []
        var inputShapes: [[Int]?] = []
        for (i, op) in operands.enumerated() {
            switch op {
            case .value(let v, let s):
                ids.append(v); inputShapes.append(s)
            case .constant(let c):
                let t = try c.floatTensor("operand")
                let v = try builder.add(Constant(t), inputs: [], name: "\(name)/constant_\(i)")
                ids.append(v); inputShapes.append(t.shape)
            case .absent:
                throw ExplainError(.missingValue, "input \(i) is required")
            }
        }
        let out = try builder.add(layer, inputs: ids, name: name, outputName: outputName)
        values[outputName] = out
        if inputShapes.allSatisfy({ $0 != nil }) {
            shapes[out] = try layer.outputShape(inputShapes.map { $0! })
        }
    }
}
