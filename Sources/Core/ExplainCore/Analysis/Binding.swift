/// A graph with a rule attached to nodes: the result of the graph-rewriting (binding) pass.
///
/// Binding runs the preset's canonizers, asks the preset for each node's rule, checks that the
/// rule accepts the node's layer (the error names the node and the rule), and runs each rule's
/// `prepare` once, so repeated analyses reuse modified weights.
public struct BoundGraph: Sendable {
    /// A rule attached to one node, with its precomputed state.
    public struct Binding: @unchecked Sendable {
        public let rule: any Rule
        public let state: (any Sendable)?
    }

    /// The (canonized) graph.
    public let graph: Graph
    /// One entry per node: its rule, or nil for the plain pullback.
    public let bindings: [Binding?]

    /// Unruled BatchNorm nodes whose per-channel scale is folded into the transposed product of the
    /// unruled Conv/Dense feeding them (BatchNorm node → producer node): the backward pass then
    /// passes the cotangent through the BatchNorm untouched and the producer uses `scaledProducers`.
    let scaleFolds: [Int: Int]
    /// For each producer in `scaleFolds`: a copy with `W[m] · multiplier[m]` (and no bias).
    let scaledProducers: [Int: any AffineLayer]

    /// Unruled nodes whose pullback applies the mask of the unruled Relu feeding them (node → Relu
    /// node), where that Relu's output has no other consumer: the backward pass skips the Relu.
    let reluFusions: [Int: Int]
    /// `Graph.nonNegativeValues` of the bound graph (given to rules through `Site`).
    let nonNegative: [Bool]
    /// Outputs of Relus (unruled, or with a rule that `readsOutputAsMask`) whose values no backward
    /// step reads (only their shapes, or where they are > 0): the forward pass keeps them as
    /// `PositiveMask`s (`retention`).
    public let maskableValues: Set<ValueID>
    /// Unruled nodes whose backward step runs from a record of the forward pass (`RecordingPullback`)
    /// instead of their input's values.
    public let recordingNodes: Set<Int>

    /// The names of the Relu nodes whose mask their consumer's pullback applies (outside diagnostic mode).
    public var fusedRelus: [String] { reluFusions.values.sorted().map { graph.nodes[$0].name } }

    /// The names of nodes that run their plain pullback.
    public var unruled: [String] { graph.nodes.indices.filter { bindings[$0] == nil }.map { graph.nodes[$0].name } }

    /// Binds `preset` to `graph`. With `strict`, every node with parameters must get a rule.
    public init(_ graph: Graph, preset: Preset? = nil, strict: Bool = false) throws {
        var g = graph
        for c in preset?.allCanonizers ?? [] { g = try c.canonize(g) }
        var bindings: [Binding?] = []
        bindings.reserveCapacity(g.nodes.count)
        let rules = preset?.rules(in: g) ?? Array(repeating: nil, count: g.nodes.count)
        for (i, node) in g.nodes.enumerated() {
            guard let rule = rules[i] else {
                if strict && node.layer.parameterCount > 0 && node.layer.kind != .constant {
                    throw ExplainError(.invalidArgument, "no rule of preset '\(preset?.name ?? "none")' matches this node (strict binding)",
                                       node: node.name, op: node.layer.kind.rawValue)
                }
                bindings.append(nil)
                continue
            }
            guard rule.accepts(node.layer) else {
                throw ExplainError(.invalidArgument, "rule \(rule) cannot be applied to \(node.layer)", node: node.name, op: node.layer.kind.rawValue)
            }
            do {
                bindings.append(Binding(rule: rule, state: try rule.prepare(node.layer)))
            } catch let e as ExplainError {
                throw e.at(node: node.name, op: node.layer.kind.rawValue)
            }
        }
        self.graph = g
        self.bindings = bindings
        (scaleFolds, scaledProducers) = try Self.foldableBatchNorms(g, bindings: bindings)
        reluFusions = Self.fusableRelus(g, bindings: bindings)
        nonNegative = g.nonNegativeValues
        recordingNodes = Set(g.nodes.indices.filter { i in
            bindings[i] == nil && g.nodes[i].inputs.count == 1 && (g.nodes[i].layer as? any RecordingPullback)?.canRecord == true
        })
        maskableValues = Self.maskableRelus(g, bindings: bindings, reads: Self.reads(g, bindings: bindings, recording: recordingNodes))
    }

    /// What a forward pass must keep for `backward`: the values its steps read, with recording
    /// nodes keeping records (`recordingNodes`) and Relu outputs kept as masks where nothing reads
    /// more (`maskableValues`).
    public var retention: Retention {
        .backward(reads: Self.reads(graph, bindings: bindings, recording: recordingNodes), masks: maskableValues, records: recordingNodes)
    }

    /// The outputs of unruled or mask-reading Relus whose consumers all read only their inputs' shapes (`reads`).
    static func maskableRelus(_ g: Graph, bindings: [Binding?], reads: [(inputs: Bool, output: Bool)]) -> Set<ValueID> {
        let consumers = g.consumers, outputs = Set(g.outputs)
        var result = Set<ValueID>()
        for (i, node) in g.nodes.enumerated() where node.layer is Relu && node.inputs.count == 1 && !reads[i].inputs
            && bindings[i].map({ $0.rule.readsOutputAsMask(node.layer) }) ?? true {
            let v = node.output
            let users = consumers[v]
            guard !outputs.contains(v), !users.isEmpty, users.allSatisfy({ !reads[$0].inputs }) else { continue }
            result.insert(v)
        }
        return result
    }

    /// Unruled `ReluMaskingPullback` nodes fed by an unruled Relu that feeds nothing else.
    static func fusableRelus(_ g: Graph, bindings: [Binding?]) -> [Int: Int] {
        let producers = g.producers, consumers = g.consumers, outputs = Set(g.outputs)
        var fusions: [Int: Int] = [:]
        for (i, node) in g.nodes.enumerated() where bindings[i] == nil && node.layer is any ReluMaskingPullback {
            guard node.inputs.count == 1, case let v = node.inputs[0], !outputs.contains(v), consumers[v] == [i],
                  let p = producers[v], bindings[p] == nil, g.nodes[p].layer is Relu, g.nodes[p].inputs.count == 1 else { continue }
            fusions[i] = p
        }
        return fusions
    }

    /// Conv/Dense → BatchNorm pairs, both without a rule, where the BatchNorm is the only consumer.
    static func foldableBatchNorms(_ g: Graph, bindings: [Binding?]) throws -> ([Int: Int], [Int: any AffineLayer]) {
        let producers = g.producers, consumers = g.consumers, outputs = Set(g.outputs)
        var folds: [Int: Int] = [:], scaled: [Int: any AffineLayer] = [:]
        for (i, node) in g.nodes.enumerated() where bindings[i] == nil {
            guard let bn = node.layer as? BatchNorm, node.inputs.count == 1, case let v = node.inputs[0],
                  !outputs.contains(v), consumers[v] == [i], let p = producers[v], bindings[p] == nil,
                  let affine = g.nodes[p].layer as? any AffineLayer, affine.weight.rank >= 2,
                  affine.weight.shape[0] == bn.channels else { continue }
            let w = affine.weight, rows = w.shape[0], size = w.count / max(1, rows)
            let weight = Tensor(shape: w.shape) { out in
                w.withUnsafeBufferPointer { pw in
                    for r in 0..<rows { for k in 0..<size { out[r * size + k] = pw[r * size + k] * bn.multiplier[r] } }
                }
            }
            folds[i] = p
            scaled[p] = try affine.with(weight: weight, bias: nil)
        }
        return (folds, scaled)
    }

    /// Per node: which forward values its backward step reads (the rule's declaration, else the pullback's).
    public var reads: [(inputs: Bool, output: Bool)] { Self.reads(graph, bindings: bindings, recording: []) }

    /// `reads`, with nothing read by the `recording` nodes (they keep records instead).
    static func reads(_ g: Graph, bindings: [Binding?], recording: Set<Int>) -> [(inputs: Bool, output: Bool)] {
        g.nodes.indices.map { i in
            let layer = g.nodes[i].layer
            if let b = bindings[i] { return b.rule.reads(layer) }
            if recording.contains(i) { return (false, false) }
            return (layer.pullbackReadsInputs, layer.pullbackReadsOutput)
        }
    }

    /// The values a reference forward pass must keep for the bound rules (`Site.reference`): the
    /// inputs and output of every node with a rule.
    public var referenceValues: Set<ValueID> {
        Set(graph.nodes.indices.filter { bindings[$0] != nil }.flatMap { graph.nodes[$0].inputs + [graph.nodes[$0].output] })
    }

    /// A one-line summary per bound node.
    public var summary: [String] {
        graph.nodes.indices.compactMap { i in bindings[i].map { "\(graph.nodes[i].name): \($0.rule)" } }
    }
}
