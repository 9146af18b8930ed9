import Foundation

/// A model to explain: a graph and the value whose output is explained (by default the logits,
/// i.e. the input of a final Softmax).
public struct ExplainableModel: Sendable {
    public var graph: Graph
    /// The explained value.
    public var output: ValueID

    public init(graph: Graph, output: ValueID? = nil) {
        self.graph = graph
        self.output = output ?? graph.outputs[0]
    }

    /// A copy that explains the value produced by the named node (or the named value).
    public func explaining(node name: String) throws -> ExplainableModel {
        var m = self
        m.output = try graph.value(named: name)
        return m
    }

    /// The single graph input.
    public var input: ValueID { graph.inputs[0] }

    /// The pass on the unaltered input that methods perturbing or sampling around it start from:
    /// checks the batch (present, finite), and returns the explained output, the seed (one row
    /// per sample; `Target.seed` with ones) and the resolved target indices.
    public func cleanPass(_ input: Tensor, target: Target) throws -> (output: Tensor, seed: Tensor, picked: [Int]?) {
        guard input.rank >= 1, input.shape[0] >= 1 else {
            throw ExplainError.shape("input \(Shape.format(input.shape)) needs a batch dimension with at least one sample")
        }
        try input.requireFinite("the input")
        let out = try BatchChunks.predict(graph, input, output: output)
        let (seed, picked) = try target.seed(for: out)
        return (out, seed, picked)
    }
}

extension ExplainableModel {
    /// The last value before the explained output that is a feature map `(N, C, H, W)` with more
    /// than one row and more than one column (the default layer of CAM and layer methods on image
    /// models; a pooled `(N, C, 1, 1)` value, or a channels-last `(N, 1, 1, C)` one as in ConvNeXt's
    /// head, is not one); nil when the network has none (e.g. an MLP).
    public func lastFeatureMap(inputShape: [Int]) throws -> ValueID? {
        let shapes = try graph.inferShapes([[1] + inputShape.dropFirst()])
        for i in graph.nodesNeeded(for: [output]).reversed() {
            let v = graph.nodes[i].output
            if v != output, let s = shapes[v], s.count == 4, s[2] > 1, s[3] > 1 { return v }
        }
        return nil
    }

    /// On a transformer: the tokens `(N, T, C)` that enter the last attention before the explained
    /// output — the output of the LayerNorm nearest before its Softmax (pytorch-grad-cam's advice
    /// for ViT: the last block's first norm; after it attention still mixes the tokens, while later
    /// values reach the output through the class token only). Nil when there is none or its tokens
    /// do not tile the input.
    public func lastTokenLayer(inputShape: [Int]) throws -> ValueID? {
        let g = graph
        guard inputShape.count == 4, let softmax = g.nodesNeeded(for: [output]).last(where: { g.nodes[$0].layer.kind == .softmax }) else { return nil }
        let producers = g.producers
        var queue = [softmax], seen: Set<Int> = [softmax], found: Int? = nil
        while !queue.isEmpty, found == nil {
            let i = queue.removeFirst()
            for v in g.nodes[i].inputs {
                guard let p = producers[v], seen.insert(p).inserted else { continue }
                if g.nodes[p].layer.kind == .layerNorm { found = p; break }
                queue.append(p)
            }
        }
        guard let ln = found else { return nil }
        let v = g.nodes[ln].output
        let shapes = try g.inferShapes([[1] + inputShape.dropFirst()])
        guard let s = shapes[v], s.count == 3, TokenGrid(tokens: s[1], height: inputShape[2], width: inputShape[3]) != nil else { return nil }
        return v
    }

    /// The output of the embedding the input's token ids feed (a text model), if any.
    public var inputEmbedding: ValueID? {
        graph.nodes.first { $0.layer is Embedding && $0.inputs.contains(input) }?.output
    }

    /// The layer the layer methods take by default: a text model's input embedding (Captum's NLP
    /// recipe; ids have no gradient); on a vision transformer the tokens entering its last attention
    /// (`lastTokenLayer`); else the last feature map; else the input of the last layer with weights
    /// (the penultimate representation of an MLP).
    public func lastHiddenLayer(inputShape: [Int]) throws -> ValueID? {
        if let v = inputEmbedding { return v }
        if let v = try lastTokenLayer(inputShape: inputShape) { return v }
        if let v = try lastFeatureMap(inputShape: inputShape) { return v }
        for i in graph.nodesNeeded(for: [output]).reversed() where graph.nodes[i].layer is any AffineLayer {
            let v = graph.nodes[i].inputs[0]
            if !graph.inputs.contains(v) { return v }
        }
        return nil
    }
}
