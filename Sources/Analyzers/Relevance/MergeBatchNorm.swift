import ExplainCore

/// Merges each batch normalisation into the Conv or Dense layer that feeds it (when that layer
/// feeds nothing else): `W' = W·γ/√(σ²+ε)`, `b' = (b − μ)·γ/√(σ²+ε) + β`, per output channel.
///
/// Like zennit, the merged BatchNorm node stays with identity statistics but keeps its ε, so the
/// forward pass still scales by `1/√(1+ε)`; LRP presets pass relevance through it unchanged.
public struct MergeBatchNorm: Canonizer {
    public init() {}
    public var description: String { "merge_batch_norm" }

    public func canonize(_ graph: Graph) throws -> Graph {
        var g = graph
        let producers = graph.producers, consumers = graph.consumers
        for (i, node) in graph.nodes.enumerated() {
            guard let bn = node.layer as? BatchNorm, let p = producers[node.inputs[0]],
                  consumers[node.inputs[0]].count == 1,
                  let affine = g.nodes[p].layer as? any AffineLayer else { continue }
            let c = bn.channels
            guard affine.weight.shape[0] == c else { continue }
            var scale = [Double](repeating: 0, count: c), shift = scale
            for k in 0..<c {
                scale[k] = Double(bn.scale.scalars[k]) / (Double(bn.variance.scalars[k]) + Double(bn.epsilon)).squareRoot()
                shift[k] = Double(bn.bias.scalars[k]) - Double(bn.mean.scalars[k]) * scale[k]
            }
            let per = affine.weight.count / c
            let w = Tensor(shape: affine.weight.shape) { out in
                affine.weight.withUnsafeBufferPointer { src in
                    for k in 0..<c { for j in 0..<per { out[k * per + j] = Float(Double(src[k * per + j]) * scale[k]) } }
                }
            }
            let oldBias = affine.bias?.scalars ?? [Float](repeating: 0, count: c)
            guard oldBias.count == c else { continue }
            let b = try Tensor(shape: [c], scalars: (0..<c).map { Float(Double(oldBias[$0]) * scale[$0] + shift[$0]) })
            g = try g.replacingLayer(at: p, with: try affine.with(weight: w, bias: b))
            let identity = try BatchNorm(scale: Tensor(shape: [c], repeating: 1), bias: Tensor(shape: [c]),
                                         mean: Tensor(shape: [c]), variance: Tensor(shape: [c], repeating: 1), epsilon: bn.epsilon)
            g = try g.replacingLayer(at: i, with: identity)
        }
        return g
    }
}
