import ExplainCore

/// The LRP presets (composites), with zennit's and iNNvestigate's names.
public enum RelevancePresets {
    static let conv = Matcher.kind(.conv2d) || .kind(.conv1d)
    static let dense = Matcher.kind(.dense)
    static let activations: Matcher = .activation || .kind(.identity)
    static let mixing: Matcher = .kind(.averagePool) || .kind(.globalAveragePool) || .kind(.add) || .kind(.concat)

    /// The entries every LRP preset ends with: activations pass relevance, merged BatchNorms pass
    /// it (unmerged ones use the ε-rule), pooling and residual additions share it in proportion
    /// (norm); MaxPool (winner takes all) and shape layers use their gradient.
    static func tail(_ e: [Preset.Entry]) -> [Preset.Entry] {
        e + [Preset.Entry(activations, PassRule()), Preset.Entry(.kind(.batchNorm), BatchNormRule()), Preset.Entry(mixing, NormRule())]
    }

    /// A preset with the given affine entries, BatchNorm merging, and the common tail.
    public static func make(_ name: String, _ entries: [Preset.Entry]) -> Preset {
        Preset(name, canonizers: [MergeBatchNorm()], entries: tail(entries))
    }

    /// The same rule on every Conv and Dense layer.
    public static func single(_ name: String, _ rule: any Rule) -> Preset {
        make(name, [Preset.Entry(.affine, rule)])
    }

    public static func epsilonPlus() throws -> Preset {
        make("lrp.epsilon_plus", [Preset.Entry(conv, try ZPlusRule()), Preset.Entry(dense, try EpsilonRule(epsilon: 1e-6))])
    }

    public static func epsilonPlusFlat() throws -> Preset {
        make("lrp.epsilon_plus_flat", [Preset.Entry(.first(.affine), FlatRule()), Preset.Entry(conv, try ZPlusRule()),
                                       Preset.Entry(dense, try EpsilonRule(epsilon: 1e-6))])
    }

    public static func epsilonAlpha2Beta1(flat: Bool) throws -> Preset {
        var e = [Preset.Entry(conv, try AlphaBetaRule(alpha: 2, beta: 1)), Preset.Entry(dense, try EpsilonRule(epsilon: 1e-6))]
        if flat { e.insert(Preset.Entry(.first(.affine), FlatRule()), at: 0) }
        return make(flat ? "lrp.epsilon_alpha2_beta1_flat" : "lrp.epsilon_alpha2_beta1", e)
    }

    public static func epsilonGammaBox(low: Tensor, high: Tensor, gamma: Float = 0.25) throws -> Preset {
        make("lrp.epsilon_gamma_box", [Preset.Entry(.first(conv), try ZBoxRule(low: low, high: high)),
                                       Preset.Entry(conv, try GammaRule(gamma: gamma)),
                                       Preset.Entry(dense, try EpsilonRule(epsilon: 1e-6))])
    }

    /// iNNvestigate's sequential presets: Dense → ε, Conv → α1β0 (A) or α2β1 (B); `flat` puts Flat on the first layer.
    public static func sequential(_ variant: String, flat: Bool, epsilon: Float) throws -> Preset {
        let convRule: any Rule = variant == "a" ? try AlphaBetaRule(alpha: 1, beta: 0) : try AlphaBetaRule(alpha: 2, beta: 1)
        var e = [Preset.Entry(conv, convRule), Preset.Entry(dense, try EpsilonRule(epsilon: epsilon))]
        if flat { e.insert(Preset.Entry(.first(.affine), FlatRule()), at: 0) }
        return make("lrp.sequential_preset_\(variant)\(flat ? "_flat" : "")", e)
    }

    /// iNNvestigate's `LRPSequentialPresetBFlatUntilIdx`: preset B with Flat on the Conv/Dense layers
    /// at positions 0…`untilIndex` (counted from the input; weightless layers not counted).
    public static func sequentialBFlatUntil(_ untilIndex: Int, epsilon: Float) throws -> Preset {
        var p = try sequential("b", flat: true, epsilon: epsilon)
        p.entries.insert(Preset.Entry(.positions(.affine, 0...max(untilIndex, 0)), FlatRule()), at: 0)
        p.name = "lrp.sequential_preset_b_flat_until_idx"
        return p
    }
}
