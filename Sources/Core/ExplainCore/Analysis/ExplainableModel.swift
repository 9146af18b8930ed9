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

    /// The last hidden value before the explained output: the last feature map, else the input of
    /// the last layer with weights (the penultimate representation of an MLP).
    public func lastHiddenLayer(inputShape: [Int]) throws -> ValueID? {
        if let v = try lastFeatureMap(inputShape: inputShape) { return v }
        for i in graph.nodesNeeded(for: [output]).reversed() where graph.nodes[i].layer is any AffineLayer {
            let v = graph.nodes[i].inputs[0]
            if !graph.inputs.contains(v) { return v }
        }
        return nil
    }
}
