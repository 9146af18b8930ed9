import ExplainCore

/// Finds the exact GELU as PyTorch exports it, `Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)` (or with
/// `Mul(x, 1/√2)`, and the ½ on either product), and replaces the five nodes by one `Gelu`: one pass
/// instead of five, and one element-wise activation for the rules that treat activations as a whole
/// (LRP's identity rule on activations, AttnLRP).
///
/// The tanh form as PyTorch exports `nn.GELU(approximate="tanh")` at opsets below 20 — eight nodes,
/// `Mul(½, Mul(x, Add(1, Tanh(Mul(√(2/π), Add(x, Mul(0.044715, Mul(x, Mul(x, x)))))))))` (constants
/// on either side, `Pow(x, 3)` for the cube) — becomes one `Gelu(tanh: true)`.
enum GeluFusion {
    static func fuse(_ graph: Graph) throws -> Graph {
        var g = graph
        while let (group, x) = firstMatch(g) {
            g = try g.fusing(group, into: Gelu(), inputs: [x])
        }
        while let (group, x) = firstTanhMatch(g) {
            g = try g.fusing(group, into: Gelu(tanh: true), inputs: [x])
        }
        return g
    }

    /// The node indices of the first tanh-GELU pattern and its input value.
    static func firstTanhMatch(_ g: Graph) -> ([Int], ValueID)? {
        let producers = g.producers, consumers = g.consumers
        func only(_ v: ValueID) -> Int? { consumers[v].count == 1 && !g.outputs.contains(v) ? consumers[v][0] : nil }
        func scalar(_ i: Int, _ op: Binary.Operation, _ value: Float, tolerance: Float = 1e-6) -> Bool {
            guard let b = g.nodes[i].layer as? Binary, b.operation == op, let c = b.constant, c.count == 1 else { return false }
            return abs(c.scalars[0] - value) <= tolerance
        }
        /// The runtime operands of a two-input Mul/Add (nil for one with a constant).
        func pair(_ i: Int, _ op: Binary.Operation) -> (ValueID, ValueID)? {
            guard let b = g.nodes[i].layer as? Binary, b.operation == op, b.constant == nil, g.nodes[i].inputs.count == 2 else { return nil }
            return (g.nodes[i].inputs[0], g.nodes[i].inputs[1])
        }
        for (t, node) in g.nodes.enumerated() where node.layer.kind == .tanh {
            // √(2/π) · (x + 0.044715 · x³) → tanh → + 1
            guard let s = producers[node.inputs[0]], only(g.nodes[s].output) == t, scalar(s, .mul, 0.7978846, tolerance: 1e-5),
                  let a = producers[g.nodes[s].inputs[0]], only(g.nodes[a].output) == s, let (p, q) = pair(a, .add) else { continue }
            var group = [s, t]
            // One addend is x, the other 0.044715 · x³.
            var match: (ValueID, [Int])? = nil
            for (x, cubic) in [(p, q), (q, p)] {
                guard let k = producers[cubic], only(cubic) == a, scalar(k, .mul, 0.044715, tolerance: 1e-6),
                      let c3 = producers[g.nodes[k].inputs[0]], only(g.nodes[k].inputs[0]) == k else { continue }
                if let pw = g.nodes[c3].layer as? Power, pw.exponent == 3, g.nodes[c3].inputs[0] == x {
                    match = (x, [c3, k]); break
                }
                if let (u, v) = pair(c3, .mul), [u, v].contains(x), let sq = producers[u == x ? v : u], only(g.nodes[sq].output) == c3,
                   let (m, n) = pair(sq, .mul), m == x, n == x {
                    match = (x, [sq, c3, k]); break
                }
            }
            guard let (x, cube) = match else { continue }
            group = cube + [a] + group
            guard let one = only(node.output), scalar(one, .add, 1), let prod = only(g.nodes[one].output) else { continue }
            // ½ · x · (1 + tanh): Mul(x, 1 + t) then Mul(½, ·), or Mul(Mul(x, ½), 1 + t).
            guard let (u, v) = pair(prod, .mul), [u, v].contains(g.nodes[one].output) else { continue }
            let other = u == g.nodes[one].output ? v : u
            if other == x, let h = only(g.nodes[prod].output), scalar(h, .mul, 0.5) {
                return (group + [one, prod, h], x)
            }
            if let h = producers[other], scalar(h, .mul, 0.5), g.nodes[h].inputs[0] == x, only(other) == prod {
                return ([h] + group + [one, prod], x)
            }
        }
        return nil
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
