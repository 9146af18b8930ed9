import ExplainCore

/// Registers the relevance family: LRP rules, presets (zennit and iNNvestigate names), the
/// BatchNorm canonizer, Deep Taylor, and the generic `lrp` analyzer driven by `--rule` entries.
public enum RelevancePlugin: Plugin {
    static func bounds(_ options: Options, _ key: String) throws -> Tensor {
        let values = options.list(key)
        guard !values.isEmpty else {
            throw ExplainError(.invalidArgument, "\(key) is required: the input's lowest/highest value, a scalar or one value per channel (e.g. --set \(key)=-1.05)")
        }
        let numbers = try values.map { v -> Float in
            guard let f = Float(v), f.isFinite else { throw ExplainError(.invalidArgument, "\(key) value '\(v)' is not a number") }
            return f
        }
        return numbers.count == 1 ? Tensor(scalar: numbers[0]) : try Tensor(shape: [numbers.count], scalars: numbers)
    }

    static func number(_ args: [Double], _ i: Int, _ name: String, default value: Double? = nil) throws -> Float {
        if i < args.count { return Float(args[i]) }
        guard let value else { throw ExplainError(.invalidArgument, "needs argument \(i + 1) (\(name))") }
        return Float(value)
    }

    static let boundParameters = [Parameter("low", default: "(required)", "lowest input value: scalar or one per channel"),
                                  Parameter("high", default: "(required)", "highest input value: scalar or one per channel")]
    static func start(_ o: Options) throws -> Target.SeedValue {
        switch o.string("start", default: "logit") {
        case "logit": return .outputValue
        case "one": return .one
        case let other: throw ExplainError(.invalidArgument, "start = \(other): use logit (relevance starts as the target's output value) or one")
        }
    }

    static let ruleParameters = [Parameter("start", default: "logit", "initial relevance at the target: logit (its output value) or one"),
                                 Parameter("rules", default: "", "extra selector=rule:args entries separated by ';', tried first (e.g. conv=gamma:0.25;first=zbox:-1,1)"),
                                 Parameter("keep", default: "", "node names whose incoming relevance is returned (comma-separated)")]

    /// One registered LRP analyzer: a preset built from options, seeded with the target logit.
    static func lrp(_ id: String, _ summary: String, formula: String, reference: String, parameters: [Parameter] = [],
                    preset: @escaping @Sendable (Options) throws -> Preset) -> AnalyzerEntry {
        AnalyzerEntry(id: id, family: "relevance", summary: summary, formula: formula, reference: reference,
                      parameters: parameters + ruleParameters) { model, options, registry in
            try analyzer(id, model: model, preset: try preset(options), options: options, registry: registry, userName: nil)
        }
    }

    /// The analyzer for `preset` with the user's `rules` entries tried first (the preset is renamed
    /// `userName`, or `<name>+user`, when there are any); a user entry that selects no node (after
    /// canonizers) is most likely a typo and is reported in the diagnostics.
    static func analyzer(_ id: String, model: ExplainableModel, preset: Preset, options: Options, registry: Registry,
                         userName: String?) throws -> BackpropAnalyzer {
        let text = options.string("rules", default: "")
        let user = try RuleSpec.entries(text, registry: registry)
        let p = user.isEmpty ? preset : preset.overriding(with: user, name: userName ?? "\(preset.name)+user")
        var analyzer = try BackpropAnalyzer(id: id, model: model, preset: p, seedValue: try start(options), keep: options.list("keep"))
        let g = analyzer.bound.graph
        for (entryText, entry) in zip(RuleSpec.split(text), user) where !g.nodes.indices.contains(where: { entry.matcher.matches($0, in: g) }) {
            analyzer.notes.append("rule entry '\(entryText)' matched no node")
        }
        if let note = unruledNote(analyzer.bound) { analyzer.notes.append(note) }
        return analyzer
    }

    /// Layers whose plain pullback moves relevance unchanged (shapes, routing) or by the winner
    /// (MaxPool): no rule needed; and the embedding of token ids, where relevance ends (layer methods
    /// stop at its output; input methods say so).
    static let ruleFree: Set<LayerKind> = [.flatten, .reshape, .transpose, .squeeze, .unsqueeze, .identity, .pad, .maxPool, .concat, .softmax,
                                           .gather, .constant, .embedding]

    /// A note when nodes between input and output have no LRP rule and are not shape-only (e.g.
    /// LayerNorm, a product of two activations, a MatMul of activations): relevance crosses them
    /// by their gradient, so conservation is not guaranteed there.
    static func unruledNote(_ bound: BoundGraph) -> String? {
        let g = bound.graph
        var counts: [String: Int] = [:]
        for i in g.nodes.indices where bound.bindings[i] == nil && !ruleFree.contains(g.nodes[i].layer.kind) {
            counts[g.nodes[i].layer.kind.rawValue, default: 0] += 1
        }
        guard !counts.isEmpty else { return nil }
        let list = counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        let transformer = counts.keys.contains(LayerKind.layerNorm.rawValue) || counts.keys.contains(LayerKind.matmul.rawValue)
        return "no LRP rule at \(counts.values.reduce(0, +)) node(s) (\(list)): relevance crosses them by their gradient, so conservation is not guaranteed there"
            + (transformer ? "; for transformers use attnlrp or cp_lrp" : "")
    }

    public static func register(into registry: inout Registry) throws {
        // Rules, by CLI id.
        let rules: [(String, String, [String], @Sendable ([Double]) throws -> any Rule)] = [
            ("z", "LRP-0: epsilon with the default stabiliser 1e-6", [], { _ in try EpsilonRule(epsilon: 1e-6) }),
            ("epsilon", "LRP-ε (epsilon, default 1e-6)", ["epsilon"], { a in try EpsilonRule(epsilon: number(a, 0, "epsilon", default: 1e-6)) }),
            ("epsilon_ib", "LRP-ε ignoring the bias", ["epsilon"], { a in try EpsilonRule(epsilon: number(a, 0, "epsilon", default: 1e-6), ignoreBias: true) }),
            ("z_plus", "LRP-z⁺ (= α1β0)", [], { _ in try ZPlusRule() }),
            ("z_plus_fast", "z⁺ on the raw input, positive weights, no bias", [], { _ in ZPlusFastRule() }),
            ("alpha_beta", "LRP-αβ (alpha, beta), alpha − beta = 1", ["alpha", "beta"], { a in try AlphaBetaRule(alpha: number(a, 0, "alpha"), beta: number(a, 1, "beta", default: Double(number(a, 0, "alpha")) - 1)) }),
            ("alpha_beta_ib", "LRP-αβ ignoring the bias", ["alpha", "beta"], { a in try AlphaBetaRule(alpha: number(a, 0, "alpha"), beta: number(a, 1, "beta", default: Double(number(a, 0, "alpha")) - 1), ignoreBias: true) }),
            ("gamma", "generalised LRP-γ (gamma, default 0.25)", ["gamma"], { a in try GammaRule(gamma: number(a, 0, "gamma", default: 0.25)) }),
            ("flat", "LRP-flat", [], { _ in FlatRule() }),
            ("w_square", "LRP-w²", [], { _ in WSquareRule() }),
            ("zbox", "LRP-z^B (low, high)", ["low", "high"], { a in try ZBoxRule(low: number(a, 0, "low"), high: number(a, 1, "high")) }),
            ("pass", "relevance passed through unchanged", [], { _ in PassRule() }),
            ("batch_norm", "BatchNorm without a preceding Conv/Dense: ε-rule on its per-channel affine map", ["epsilon"], { a in BatchNormRule(epsilon: try number(a, 0, "epsilon", default: 1e-6)) }),
            ("norm", "relevance shared in proportion to contributions (pooling, Add)", [], { _ in NormRule() }),
        ]
        for (id, summary, arguments, make) in rules { try registry.register(RuleEntry(id: id, summary: summary, arguments: arguments, make: make)) }
        try registry.register(CanonizerEntry(id: "merge_batch_norm", summary: "fold BatchNorm into the preceding Conv/Dense", canonizer: MergeBatchNorm()))

        // zennit composites.
        let zennit = "Montavon et al. 2019 (Layer-wise relevance propagation: an overview); zennit composite"
        let composites: [(String, String, String, @Sendable (Options) throws -> Preset)] = [
            ("lrp.epsilon_plus", "Conv: z⁺, Dense: ε(1e-6)", "EpsilonPlus", { _ in try RelevancePresets.epsilonPlus() }),
            ("lrp.epsilon_plus_flat", "first layer: flat, Conv: z⁺, Dense: ε", "EpsilonPlusFlat", { _ in try RelevancePresets.epsilonPlusFlat() }),
            ("lrp.epsilon_alpha2_beta1", "Conv: α2β1, Dense: ε", "EpsilonAlpha2Beta1", { _ in try RelevancePresets.epsilonAlpha2Beta1(flat: false) }),
            ("lrp.epsilon_alpha2_beta1_flat", "first layer: flat, Conv: α2β1, Dense: ε", "EpsilonAlpha2Beta1Flat", { _ in try RelevancePresets.epsilonAlpha2Beta1(flat: true) }),
        ]
        for (id, summary, name, make) in composites {
            try registry.register(lrp(id, "LRP preset: \(summary)", formula: summary + "; Relu/BN: pass; pooling/Add: norm", reference: "\(zennit) \(name)", preset: make))
            try registry.register(PresetEntry(id: id, summary: summary, make: make))
        }
        let gammaBox: @Sendable (Options) throws -> Preset = { o in
            try RelevancePresets.epsilonGammaBox(low: bounds(o, "low"), high: bounds(o, "high"),
                                                 gamma: Float(try o.double("gamma", default: 0.25, range: 0...1e6)))
        }
        try registry.register(lrp("lrp.epsilon_gamma_box", "LRP preset: first Conv: z^B, other Conv: γ, Dense: ε",
                                  formula: "first Conv: zbox(low, high); Conv: gamma(0.25); Dense: epsilon(1e-6)", reference: "\(zennit) EpsilonGammaBox",
                                  parameters: boundParameters + [Parameter("gamma", default: "0.25", "γ of the Conv layers")], preset: gammaBox))
        try registry.register(PresetEntry(id: "lrp.epsilon_gamma_box", summary: "first Conv: zbox, Conv: gamma, Dense: epsilon", make: gammaBox))

        // iNNvestigate analyzers (in zennit's algebra).
        let inn = "Bach et al. 2015; iNNvestigate"
        let eps: @Sendable (Options) throws -> Float = { Float(try $0.double("epsilon", default: 1e-7, range: 0...1e9)) }
        let epsParam = [Parameter("epsilon", default: "1e-7", "stabiliser ε (iNNvestigate's default)")]
        let singles: [(String, String, [Parameter], @Sendable (Options) throws -> any Rule)] = [
            ("lrp.z", "LRP-0 on every Conv/Dense", [], { _ in try EpsilonRule(epsilon: 1e-6) }),
            ("lrp.z_IB", "LRP-0 ignoring biases", [], { _ in try EpsilonRule(epsilon: 1e-6, ignoreBias: true) }),
            ("lrp.epsilon", "LRP-ε on every Conv/Dense", epsParam, { o in try EpsilonRule(epsilon: try eps(o)) }),
            ("lrp.epsilon_IB", "LRP-ε ignoring biases", epsParam, { o in try EpsilonRule(epsilon: try eps(o), ignoreBias: true) }),
            ("lrp.w_square", "LRP-w² on every Conv/Dense", [], { _ in WSquareRule() }),
            ("lrp.flat", "LRP-flat on every Conv/Dense", [], { _ in FlatRule() }),
            ("lrp.z_plus", "LRP-z⁺ on every Conv/Dense", [], { _ in try ZPlusRule() }),
            ("lrp.z_plus_fast", "fast z⁺ on every Conv/Dense", [], { _ in ZPlusFastRule() }),
            ("lrp.alpha_2_beta_1", "LRP-α2β1 on every Conv/Dense", [], { _ in try AlphaBetaRule(alpha: 2, beta: 1) }),
            ("lrp.alpha_2_beta_1_IB", "LRP-α2β1 ignoring biases", [], { _ in try AlphaBetaRule(alpha: 2, beta: 1, ignoreBias: true) }),
            ("lrp.alpha_1_beta_0", "LRP-α1β0 on every Conv/Dense", [], { _ in try AlphaBetaRule(alpha: 1, beta: 0) }),
            ("lrp.alpha_1_beta_0_IB", "LRP-α1β0 ignoring biases", [], { _ in try AlphaBetaRule(alpha: 1, beta: 0, ignoreBias: true) }),
            ("lrp.alpha_beta", "LRP-αβ on every Conv/Dense", [Parameter("alpha", default: "1", "α"), Parameter("beta", default: "alpha − 1", "β")], { o in
                let a = try o.double("alpha", default: 1, range: 1...1e6)
                return try AlphaBetaRule(alpha: Float(a), beta: Float(try o.double("beta", default: a - 1, range: 0...1e6)))
            }),
            ("lrp.gamma", "generalised LRP-γ on every Conv/Dense", [Parameter("gamma", default: "0.25", "γ")], { o in
                try GammaRule(gamma: Float(try o.double("gamma", default: 0.25, range: 0...1e6)))
            }),
            ("deep_taylor", "Deep Taylor (z⁺ on every layer, for Relu networks)", [], { _ in try ZPlusRule() }),
        ]
        for (id, summary, params, make) in singles {
            try registry.register(lrp(id, summary, formula: summary, reference: id == "deep_taylor" ? "Montavon et al. 2017; iNNvestigate DeepTaylor" : "\(inn) \(id)",
                                      parameters: params) { o in RelevancePresets.single(id, try make(o)) })
        }
        try registry.register(lrp("deep_taylor.bounded", "Deep Taylor with z^B on the first layer", formula: "first layer: zbox(low, high); others: z⁺",
                                  reference: "Montavon et al. 2017; iNNvestigate BoundedDeepTaylor", parameters: boundParameters) { o in
            RelevancePresets.make("deep_taylor.bounded", [Preset.Entry(.first(.affine), try ZBoxRule(low: bounds(o, "low"), high: bounds(o, "high"))),
                                                          Preset.Entry(.affine, try ZPlusRule())])
        })
        for (variant, flat) in [("a", false), ("b", false), ("a", true), ("b", true)] {
            let id = "lrp.sequential_preset_\(variant)\(flat ? "_flat" : "")"
            try registry.register(lrp(id, "iNNvestigate sequential preset \(variant.uppercased())\(flat ? " with flat first layer" : ""): Dense ε, Conv α\(variant == "a" ? "1β0" : "2β1")",
                                      formula: "Dense: epsilon; Conv: alpha_beta\(flat ? "; first layer: flat" : "")", reference: "Kohlbrenner et al. 2020; \(inn) LRPSequentialPreset\(variant.uppercased())\(flat ? "Flat" : "")",
                                      parameters: [Parameter("epsilon", default: "0.1", "ε of the Dense layers")]) { o in
                try RelevancePresets.sequential(variant, flat: flat, epsilon: Float(try o.double("epsilon", default: 0.1, range: 0...1e9)))
            })
        }
        try registry.register(lrp("lrp.sequential_preset_b_flat_until_idx",
                                  "iNNvestigate sequential preset B with flat on the Conv/Dense layers up to an index: Dense ε, Conv α2β1",
                                  formula: "Conv/Dense layers 0…until_layer_idx (from the input): flat; Dense: epsilon; Conv: alpha_beta(2, 1)",
                                  reference: "Kohlbrenner et al. 2020; \(inn) LRPSequentialPresetBFlatUntilIdx",
                                  parameters: [Parameter("until_layer_idx", default: "0", "last Conv/Dense layer (0 = the first, counted from the input) that takes the flat rule"),
                                               Parameter("epsilon", default: "0.1", "ε of the Dense layers")]) { o in
            try RelevancePresets.sequentialBFlatUntil(try o.int("until_layer_idx", default: 0, range: 0...1_000_000),
                                                      epsilon: Float(try o.double("epsilon", default: 0.1, range: 0...1e9)))
        })
        // The generic analyzer: a named preset (optional) plus user rules.
        try registry.register(AnalyzerEntry(
            id: "lrp", family: "relevance", summary: "LRP with user rules (--set rules=…) falling through to a preset (--set preset=…)",
            formula: "per-layer rules as given", reference: "Bach et al. 2015; Montavon et al. 2019",
            parameters: [Parameter("preset", default: "", "preset id the rules fall through to (e.g. lrp.epsilon_plus)")] + boundParameters + ruleParameters
        ) { model, options, registry in
            var base = RelevancePresets.make("lrp", [])
            let presetID = options.string("preset", default: "")
            if !presetID.isEmpty {
                var presetOptions = Options()
                for k in ["low", "high"] { if let v = options.values[k] { presetOptions.values[k] = v } }
                base = try registry.preset(presetID).make(presetOptions)
            }
            return try analyzer("lrp", model: model, preset: base, options: options, registry: registry, userName: "user")
        })

        // Transformers (LXT's gradient × input form).
        try registerTransformerMethods(into: &registry)

        // Fixture translators.
        let compositeIDs = ["EpsilonPlus": "lrp.epsilon_plus", "EpsilonPlusFlat": "lrp.epsilon_plus_flat",
                            "EpsilonAlpha2Beta1": "lrp.epsilon_alpha2_beta1", "EpsilonAlpha2Beta1Flat": "lrp.epsilon_alpha2_beta1_flat",
                            "EpsilonGammaBox": "lrp.epsilon_gamma_box"]
        for (name, id) in compositeIDs {
            try registry.register(CaseTranslator(method: "LRP composite \(name)") { c in
                var o = Options()
                if name == "EpsilonGammaBox" {
                    guard let low = c.params["low"]?.number, let high = c.params["high"]?.number else { return nil }
                    o = Options(["low": "\(low)", "high": "\(high)", "gamma": "\(c.params["gamma"]?.number ?? 0.25)"])
                }
                return (id, o)
            })
        }
        let singleTranslations: [(String, @Sendable (FixtureCase) -> (String, Options)?)] = [
            ("Epsilon", { c in ("lrp.epsilon", Options(["epsilon": "\(c.params["epsilon"]?.number ?? 1e-6)"])) }),
            ("ZPlus", { _ in ("lrp.z_plus", Options()) }),
            ("AlphaBeta", { c in
                guard let a = c.params["alpha"]?.number, let b = c.params["beta"]?.number else { return nil }
                return ("lrp.alpha_beta", Options(["alpha": "\(a)", "beta": "\(b)"]))
            }),
            ("Gamma", { c in ("lrp.gamma", Options(["gamma": "\(c.params["gamma"]?.number ?? 0.25)"])) }),
            ("Flat", { _ in ("lrp.flat", Options()) }),
            ("WSquare", { _ in ("lrp.w_square", Options()) }),
        ]
        for (name, t) in singleTranslations {
            try registry.register(CaseTranslator(method: "LRP single rule \(name)") { c in t(c).map { (id: $0.0, options: $0.1) } })
        }
        try registry.register(CaseTranslator(method: "LRP ZBox first layer + Epsilon") { c in
            guard let low = c.params["low"]?.number, let high = c.params["high"]?.number else { return nil }
            let eps = c.params["epsilon"]?.number ?? 1e-6
            return ("lrp", Options(["rules": "first=zbox:\(low),\(high);affine=epsilon:\(eps)"]))
        })
        // zennit's ExcitationBackprop composite (z⁺ on every Conv/Dense, norm on sums and average
        // pooling) is lrp.z_plus in this algebra (see Docs/Methods/lrp.z_plus.md).
        try registry.register(alias: "excitation_backprop", for: "lrp.z_plus")
        // Captum's LRP with its default rules (ε = 1e-9 at every Linear/Conv) is lrp.epsilon with that ε.
        try registry.register(CaseTranslator(method: "LRP") { c in
            guard c.params["rule"]?.string == "EpsilonRule" else { return nil }
            return ("lrp.epsilon", Options(["epsilon": "\(c.params["epsilon"]?.number ?? 1e-9)"]))
        })
    }
}
