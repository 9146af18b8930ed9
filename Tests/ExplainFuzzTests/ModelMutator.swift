import ExplainONNX
import ExplainTestSupport
import Foundation
import SwiftProtobuf

/// Structured mutations of a valid ONNX model — the kinds of damage a hand-edited, truncated,
/// mis-exported or hostile file carries: wrong operators and attributes, dangling and duplicated
/// names, broken initializers, absurd shapes. Each mutation is described in words for the report.
struct ModelMutator {
    var rng: TestRandom
    var log: [String] = []

    init(seed: UInt64) { rng = TestRandom(seed: seed) }

    static let ops = ONNXImporter.supportedOperators + ["Resize", "Loop", ""]
    static let attributeNames = ["axis", "axes", "perm", "group", "kernel_shape", "strides", "pads", "dilations", "epsilon",
                                 "alpha", "beta", "gamma", "transA", "transB", "keepdims", "starts", "ends", "to", "mode",
                                 "ceil_mode", "auto_pad", "count_include_pad", "storage_order", "allowzero", "split",
                                 "approximate", "value", "value_float", "value_ints", "min", "max", "noop_with_empty_axes",
                                 "stash_type", "training_mode", "momentum", "batch_dims", "reduction", "start", "limit", "delta"]
    static let strangeInts: [Int64] = [0, -1, 1, 2, 3, 4, 7, -2, 1000, 1 << 20, 1 << 31, 1 << 40, -(1 << 40), .max, .min]
    static let strangeFloats: [Float] = [0, -1, 1, 1e-30, 1e30, .nan, .infinity, -.infinity, 0.5, -0.0]
    static let dataTypes: [Int32] = [0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 16, 99, -1]

    mutating func pick<T>(_ a: [T]) -> T? { a.isEmpty ? nil : a[Int.random(in: 0..<a.count, using: &rng)] }
    mutating func index(_ n: Int) -> Int? { n == 0 ? nil : Int.random(in: 0..<n, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func strangeInt() -> Int64 { pick(Self.strangeInts) ?? 0 }

    /// Every value name the graph knows (inputs, initializers, node outputs).
    func names(_ g: Onnx_GraphProto) -> [String] {
        g.input.map(\.name) + g.initializer.map(\.name) + g.node.flatMap(\.output)
    }

    /// Applies one to three mutations.
    mutating func mutate(_ model: inout Onnx_ModelProto) {
        for _ in 0..<Int.random(in: 1...3, using: &rng) { mutateOnce(&model) }
    }

    mutating func mutateOnce(_ m: inout Onnx_ModelProto) {
        switch Int.random(in: 0..<13, using: &rng) {
        case 10, 11: plausibleAttribute(&m.graph)
        case 12: plausibleInitializer(&m.graph)
        case 0: mutateOperator(&m.graph)
        case 1: mutateNodeInputs(&m.graph)
        case 2: mutateNodeOutputsOrOrder(&m.graph)
        case 3, 4: mutateAttribute(&m.graph)
        case 5, 6: mutateInitializer(&m.graph)
        case 7: mutateGraphInterface(&m.graph)
        case 8: mutateConstantNode(&m.graph)
        default:
            if chance(0.5) { m.opsetImport = [Onnx_OperatorSetIdProto.with { $0.version = strangeInt() }]; log.append("opset \(m.opsetImport[0].version)") } else { mutateNodeInputs(&m.graph) }
        }
    }

    mutating func mutateOperator(_ g: inout Onnx_GraphProto) {
        guard let i = index(g.node.count), let op = pick(Self.ops) else { return }
        log.append("node \(i) '\(g.node[i].name)': \(g.node[i].opType) → \(op)")
        g.node[i].opType = op
        if chance(0.1) { g.node[i].domain = "com.microsoft"; log.append("domain com.microsoft") }
    }

    mutating func mutateNodeInputs(_ g: inout Onnx_GraphProto) {
        guard let i = index(g.node.count) else { return }
        let all = names(g)
        var inputs = g.node[i].input
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: if let k = index(inputs.count) { inputs.remove(at: k) }
        case 1: if let k = index(inputs.count) { inputs.append(inputs[k]) }
        case 2: if let k = index(inputs.count), let n = pick(all) { inputs[k] = n }
        case 3: if let k = index(inputs.count) { inputs[k] = chance(0.5) ? "no_such_value" : "" }
        default: if let n = pick(all) { inputs.append(n) }
        }
        log.append("node \(i) '\(g.node[i].name)' inputs \(g.node[i].input) → \(inputs)")
        g.node[i].input = inputs
    }

    mutating func mutateNodeOutputsOrOrder(_ g: inout Onnx_GraphProto) {
        guard let i = index(g.node.count), let j = index(g.node.count) else { return }
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: log.append("remove node \(i) '\(g.node[i].name)'"); g.node.remove(at: i)
        case 1: log.append("duplicate node \(i)"); g.node.insert(g.node[i], at: j)
        case 2: log.append("swap nodes \(i), \(j)"); g.node.swapAt(i, j)
        case 3: if let n = pick(g.node[j].output) { log.append("node \(i) output → \(n) (node \(j)'s)"); g.node[i].output = [n] }
        default: log.append("node \(i) outputs → []"); g.node[i].output = chance(0.5) ? [] : g.node[i].output + ["extra_out"]
        }
    }

    mutating func mutateAttribute(_ g: inout Onnx_GraphProto) {
        guard let i = index(g.node.count) else { return }
        var node = g.node[i]
        if node.attribute.isEmpty || chance(0.25) {
            var a = Onnx_AttributeProto()
            a.name = pick(Self.attributeNames) ?? "axis"
            randomValue(&a)
            log.append("node \(i) '\(node.name)' (\(node.opType)) gets \(a.name) = \(describe(a))")
            node.attribute.append(a)
        } else if let k = index(node.attribute.count) {
            var a = node.attribute[k]
            if chance(0.15) {
                log.append("node \(i) '\(node.name)' (\(node.opType)) loses \(a.name)")
                node.attribute.remove(at: k)
            } else {
                if a.ints.count > 0, chance(0.7) {
                    let e = Int.random(in: 0..<a.ints.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: a.ints[e] = strangeInt()
                    case 1: a.ints.remove(at: e)
                    default: a.ints.append(strangeInt())
                    }
                } else if chance(0.3) {
                    randomValue(&a)
                } else {
                    a.i = strangeInt(); a.f = pick(Self.strangeFloats) ?? 0
                }
                log.append("node \(i) '\(node.name)' (\(node.opType)) \(a.name) = \(describe(a))")
                node.attribute[k] = a
            }
        }
        g.node[i] = node
    }

    /// An integer attribute set to small values that pass the first checks and reach the kernels:
    /// kernel sizes, strides, pads, dilations, groups, axes, permutations (duplicates included).
    mutating func plausibleAttribute(_ g: inout Onnx_GraphProto) {
        let candidates = g.node.indices.flatMap { i in g.node[i].attribute.indices.map { (i, $0) } }.filter { i, k in
            let a = g.node[i].attribute[k]
            return a.type == 2 || a.type == 7
        }
        guard let (i, k) = pick(candidates) else { return mutateAttribute(&g) }
        var a = g.node[i].attribute[k]
        if a.type == 2 {
            a.i = Int64.random(in: -3...5, using: &rng)
        } else {
            let n = chance(0.7) ? a.ints.count : Int.random(in: 0...6, using: &rng)
            a.ints = (0..<n).map { _ in Int64.random(in: (a.name == "pads" ? 0 : -3)...5, using: &rng) }
        }
        log.append("node \(i) '\(g.node[i].name)' (\(g.node[i].opType)) \(a.name) ≈ \(describe(a))")
        g.node[i].attribute[k] = a
    }

    /// An initializer's values changed in place, shape kept: small integers in an integer tensor
    /// (shapes, indices, axes), NaN, ±∞ or huge values in a float one.
    mutating func plausibleInitializer(_ g: inout Onnx_GraphProto) {
        guard let i = index(g.initializer.count) else { return }
        var t = g.initializer[i]
        let count = t.rawData.count
        if t.dataType == 7, count >= 8 {
            var raw = [UInt8](t.rawData)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let k = Int.random(in: 0..<(count / 8), using: &rng)
                var v = Int64.random(in: -4...6, using: &rng)
                withUnsafeBytes(of: &v) { b in for j in 0..<8 { raw[k * 8 + j] = b[j] } }
            }
            t.rawData = Data(raw)
        } else if t.dataType == 1, count >= 4 {
            var raw = [UInt8](t.rawData)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let k = Int.random(in: 0..<(count / 4), using: &rng)
                var v = pick([Float.nan, .infinity, -.infinity, 3e38, 0, -1e-30]) ?? 0
                withUnsafeBytes(of: &v) { b in for j in 0..<4 { raw[k * 4 + j] = b[j] } }
            }
            t.rawData = Data(raw)
        } else { return mutateInitializer(&g) }
        log.append("initializer '\(t.name)' values changed")
        g.initializer[i] = t
    }

    mutating func randomValue(_ a: inout Onnx_AttributeProto) {
        a.ints = []; a.floats = []; a.strings = []; a.s = Data(); a.i = 0; a.f = 0
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: a.type = 2; a.i = strangeInt()
        case 1: a.type = 7; a.ints = (0..<Int.random(in: 0...6, using: &rng)).map { _ in strangeInt() }
        case 2: a.type = 1; a.f = pick(Self.strangeFloats) ?? 0
        case 3: a.type = 3; a.s = Data((pick(["SAME_UPPER", "VALID", "NOTSET", "tanh", "constant", "reflect", "", "x"]) ?? "").utf8)
        default: a.type = 4; a.t = randomTensor()
        }
    }

    func describe(_ a: Onnx_AttributeProto) -> String {
        switch a.type {
        case 2: return "\(a.i)"
        case 7: return "\(a.ints)"
        case 1: return "\(a.f)"
        case 3: return "'\(String(decoding: a.s, as: UTF8.self))'"
        default: return "\(a.type)"
        }
    }

    mutating func randomTensor() -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.dataType = pick([1, 7, 6, 9, 11]) ?? 1
        t.dims = (0..<Int.random(in: 0...3, using: &rng)).map { _ in chance(0.7) ? Int64.random(in: 0...4, using: &rng) : strangeInt() }
        let n = Int.random(in: 0...12, using: &rng)
        switch t.dataType {
        case 1: t.floatData = (0..<n).map { _ in pick(Self.strangeFloats) ?? 0 }
        case 7: t.int64Data = (0..<n).map { _ in strangeInt() }
        default: t.rawData = Data((0..<n * 4).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        return t
    }

    mutating func mutateInitializer(_ g: inout Onnx_GraphProto) {
        guard let i = index(g.initializer.count) else { return mutateAttribute(&g) }
        var t = g.initializer[i]
        let before = "\(t.dims) type \(t.dataType) raw \(t.rawData.count)"
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: if let k = index(t.dims.count) { t.dims[k] = strangeInt() } else { t.dims = [strangeInt()] }
        case 1: if chance(0.5), !t.dims.isEmpty { t.dims.removeLast() } else { t.dims.append(pick([1, 2, 0, -1]) ?? 1) }
        case 2: t.rawData = t.rawData.prefix(Int.random(in: 0...max(t.rawData.count, 1), using: &rng))
        case 3: t.rawData.append(contentsOf: [1, 2, 3])
        case 4: t.dataType = pick(Self.dataTypes) ?? 1
        case 5: t.floatData = [1, 2, 3]; if chance(0.5) { t.rawData = Data() }
        case 6:   // a small integer tensor (Reshape shapes, Slice bounds, axes): overwrite one value
            if t.dataType == 7, t.rawData.count >= 8, t.rawData.count <= 64 {
                let k = Int.random(in: 0..<(t.rawData.count / 8), using: &rng)
                var v = strangeInt()
                withUnsafeBytes(of: &v) { b in t.rawData.replaceSubrange((k * 8)..<(k * 8 + 8), with: b) }
            } else if !t.int64Data.isEmpty, let k = index(t.int64Data.count) {
                t.int64Data[k] = strangeInt()
            } else if let k = index(t.rawData.count) {
                t.rawData[t.rawData.startIndex + k] = UInt8.random(in: 0...255, using: &rng)
            }
        default:
            t.dataLocation = 1
            t.externalData = [Onnx_StringStringEntryProto.with { $0.key = "location"; $0.value = "../../etc/passwd" }]
        }
        log.append("initializer '\(t.name)' \(before) → \(t.dims) type \(t.dataType) raw \(t.rawData.count)")
        g.initializer[i] = t
    }

    mutating func mutateGraphInterface(_ g: inout Onnx_GraphProto) {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            guard !g.input.isEmpty else { return }
            var dims = g.input[0].type.tensorType.shape.dim
            if let k = index(dims.count) {
                if chance(0.3) { dims[k].dimParam = "n" } else { dims[k].dimValue = strangeInt() }
            } else { dims.append(Onnx_TensorShapeProto.Dimension.with { $0.dimValue = 3 }) }
            if chance(0.2), !dims.isEmpty { dims.removeLast() }
            log.append("input shape → \(dims.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam })")
            g.input[0].type.tensorType.shape.dim = dims
        case 1:
            guard !g.input.isEmpty else { return }
            g.input[0].type.tensorType.elemType = pick(Self.dataTypes) ?? 0
            log.append("input type \(g.input[0].type.tensorType.elemType)")
        case 2:
            log.append("second input")
            g.input.append(Onnx_ValueInfoProto.with { $0.name = "second"; $0.type.tensorType.elemType = 1 })
        case 3:
            log.append("no inputs"); g.input = []
        case 4:
            if let n = pick(names(g)), !g.output.isEmpty { log.append("output → \(n)"); g.output[0].name = n }
        default:
            log.append(chance(0.5) ? "no outputs" : "output → missing")
            if g.output.isEmpty { return }
            if log.last == "no outputs" { g.output = [] } else { g.output[0].name = "missing" }
        }
    }

    mutating func mutateConstantNode(_ g: inout Onnx_GraphProto) {
        let constants = g.node.indices.filter { g.node[$0].opType == "Constant" }
        guard let i = pick(constants), let k = index(g.node[i].attribute.count) else { return mutateInitializer(&g) }
        g.node[i].attribute[k].t = randomTensor()
        log.append("Constant '\(g.node[i].name)' value → dims \(g.node[i].attribute[k].t.dims) type \(g.node[i].attribute[k].t.dataType)")
    }
}
