import ExplainCore

/// Finds the exact GELU as PyTorch exports it, `Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)` (or with
/// `Mul(x, 1/√2)`, and the ½ on either product), and replaces the five nodes by one `Gelu`: one pass
/// instead of five, and one element-wise activation for the rules that treat activations as a whole
/// (LRP's identity rule on activations, AttnLRP).
enum GeluFusion {
    static func fuse(_ graph: Graph) throws -> Graph {
        var g = graph
        while let (group, x) = firstMatch(g) {
            g = try g.fusing(group, into: Gelu(), inputs: [x])
        }
        return g
    }

    /// The node indices of the first GELU pattern and its input value.
    static func firstMatch(_ g: Graph) -> ([Int], ValueID)? {
        let producers = g.producers, consumers = g.consumers
        func only(_ v: ValueID) -> Int? { consumers[v].count == 1 && !g.outputs.contains(v) ? consumers[v][0] : nil }
        func scalar(_ node: Node, _ op: Binary.Operation) -> Float? {
            guard let b = node.layer as? Binary, b.operation == op, let c = b.constant, c.count == 1,
                  op != .div || b.constantSide == .right else { return nil }
            return c.scalars[0]
        }
        for (e, node) in g.nodes.enumerated() where node.layer.kind == .erf {
            // x / √2 (or x · 1/√2) → erf → + 1
            guard let d = producers[node.inputs[0]], only(g.nodes[d].output) == e else { continue }
            let scaling = g.nodes[d]
            let halvesRoot = scalar(scaling, .div).map { abs($0 - 1.4142135) < 1e-6 } ?? false
                || scalar(scaling, .mul).map { abs($0 - 0.70710677) < 1e-6 } ?? false
            guard halvesRoot, let a = only(node.output), scalar(g.nodes[a], .add) == 1, let m = only(g.nodes[a].output) else { continue }
            let x = scaling.inputs[0]
            // x · (1 + erf) · ½ in either order: Mul(x, t) then Mul(·, ½), or Mul(Mul(x, ½), t).
            let product = g.nodes[m]
            guard let p = product.layer as? Binary, p.operation == .mul, p.constant == nil,
                  product.inputs.contains(g.nodes[a].output) else { continue }
            let other = product.inputs[0] == g.nodes[a].output ? product.inputs[1] : product.inputs[0]
            if other == x, let h = only(product.output), scalar(g.nodes[h], .mul) == 0.5 {
                return ([d, e, a, m, h], x)
            }
            if let h = producers[other], scalar(g.nodes[h], .mul) == 0.5, g.nodes[h].inputs[0] == x, only(other) == m {
                return ([h, d, e, a, m], x)
            }
        }
        return nil
    }
}
