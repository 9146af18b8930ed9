import ExplainCore

/// An example of a rule defined outside ExplainKit (see Docs/HowTo/WriteARule.md): LRP-ε whose
/// result keeps only positive relevance, `R_in = max(0, x ⊙ Wᵀ(R / stab_ε(z)))`.
///
/// It depends on ExplainCore only: it reuses the layer's own transposed product
/// (`AffineLayer.inputGradient`) and adds nothing to Core.
public struct PositiveEpsilonRule: Rule {
    public let epsilon: Float

    public init(epsilon: Float) throws {
        guard epsilon >= 0, epsilon.isFinite else {
            throw ExplainError(.invalidArgument, "epsilon_positive needs epsilon ≥ 0, got \(epsilon)")
        }
        self.epsilon = epsilon
    }

    public var description: String { "epsilon_positive(\(epsilon))" }

    public func accepts(_ layer: any Layer) -> Bool { layer is any AffineLayer }

    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let layer = site.node.layer as? any AffineLayer else {
            throw ExplainError(.invalidArgument, "epsilon_positive needs a Conv or Dense layer")
        }
        let x = site.inputs[0], z = site.output
        // s = R / stab(z), with stab(z) = z + ε·sign(z), sign(0) = +1
        let s = try Tensor(shape: z.shape, scalars: zip(incoming.scalars, z.scalars).map { r, zj in
            r / (zj >= 0 ? zj + epsilon : zj - epsilon)
        })
        let g = try layer.inputGradient(inputShape: x.shape, cotangent: s, weight: nil)
        return [try Tensor(shape: x.shape, scalars: zip(x.scalars, g.scalars).map { max(0, $0 * $1) })]
    }
}

/// Registers the example rule under the CLI id `epsilon_positive` (argument: ε, default 1e-6).
public enum ExampleRulePlugin: Plugin {
    public static func register(into registry: inout Registry) throws {
        try registry.register(RuleEntry(id: "epsilon_positive", summary: "LRP-ε keeping positive relevance only", arguments: ["epsilon"]) { args in
            try PositiveEpsilonRule(epsilon: Float(args.first ?? 1e-6))
        })
    }
}
