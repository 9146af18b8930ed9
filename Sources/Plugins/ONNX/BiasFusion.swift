import ExplainCore

/// Folds a constant Add that follows a bias-free Dense into its bias: PyTorch exports a Linear layer
/// on a tensor of rank > 2 (a transformer's tokens, ConvNeXt's channels-last MLP) as `MatMul` then
/// `Add(bias)`. One node saves a pass, and the affine LRP rules see the bias where they expect it
/// (the ε-rule's denominator, the `_IB` variants that ignore it).
enum BiasFusion {
    static func fuse(_ graph: Graph) throws -> Graph {
        var g = graph
        while let (group, layer, x) = firstMatch(g) {
            g = try g.fusing(group, into: layer, inputs: [x])
        }
        return g
    }

    static func firstMatch(_ g: Graph) -> ([Int], Dense, ValueID)? {
        let consumers = g.consumers
        for (d, node) in g.nodes.enumerated() {
            guard let dense = node.layer as? Dense, dense.bias == nil, !dense.transposeInput,
                  consumers[node.output].count == 1, !g.outputs.contains(node.output) else { continue }
            let a = consumers[node.output][0]
            guard let add = g.nodes[a].layer as? Binary, add.operation == .add, let c = add.constant,
                  c.count == dense.outFeatures, c.shape.last == dense.outFeatures,
                  let bias = try? c.reshaped([dense.outFeatures]),
                  let fused = try? Dense(weight: dense.weight, bias: bias) else { continue }
            return ([d, a], fused, node.inputs[0])
        }
        return nil
    }
}
