import ExplainCore

/// Registers the reference family: `integrated_gradients`, `deeplift`, `gradient_shap`,
/// `deeplift_shap` (analyzers, the
/// `rescale`, `reveal_cancel`, `through` and `deeplift_maxpool` rules, the `deeplift` presets).
public enum ReferencePlugin: Plugin {
    /// The activations Captum's DeepLIFT treats with its multiplier rule (Relu, LeakyRelu, Elu,
    /// Sigmoid, Tanh, Softplus); others (HardSwish, Erf, Clip, …) use their gradient, as there.
    public static let rescaled: Matcher = .kind(.relu) || .kind(.leakyRelu) || .kind(.elu) || .kind(.sigmoid) || .kind(.tanh) || .kind(.softplus)

    /// Captum's DeepLIFT: Rescale at every activation of `rescaled`; other layers use their gradient
    /// (MaxPool too, as in Captum when a MaxPool consumes a Relu's output).
    public static func deepLiftPreset(eps: Float = 1e-10, maxPoolRule: Bool = false) throws -> Preset {
        let rescale = try RescaleRule(eps: eps)
        var entries = [Preset.Entry(rescaled, rescale)]
        if maxPoolRule { entries.append(Preset.Entry(.kind(.maxPool), try DeepLiftMaxPoolRule(eps: eps))) }
        return Preset(maxPoolRule ? "deeplift.maxpool_rule" : "deeplift", entries: entries)
    }

    static let maxPoolChoices = ["gradient", "deeplift"]

    /// DeepLIFT with RevealCancel: every Conv/Dense whose output feeds only a Relu gets
    /// `RevealCancelRule` and that Relu `ThroughRule`; the other nonlinearities keep Rescale.
    public static func revealCancelPreset(for graph: Graph, eps: Float = 1e-10, maxPoolRule: Bool = false) throws -> Preset {
        let consumers = graph.consumers, outputs = Set(graph.outputs)
        var entries: [Preset.Entry] = []
        for node in graph.nodes where node.layer is any AffineLayer && !outputs.contains(node.output) {
            guard consumers[node.output].count == 1, case let relu = graph.nodes[consumers[node.output][0]], relu.layer is Relu else { continue }
            entries.append(Preset.Entry(.name(node.name), try RevealCancelRule(eps: eps)))
            entries.append(Preset.Entry(.name(relu.name), ThroughRule()))
        }
        let rescale = try deepLiftPreset(eps: eps, maxPoolRule: maxPoolRule)
        return Preset("deeplift.reveal_cancel", entries: entries + rescale.entries)
    }

    public static func register(into registry: inout Registry) throws {
        try registry.register(AnalyzerEntry(
            id: "integrated_gradients", family: "reference",
            summary: "Integrated Gradients: (x − x0) times the gradient averaged along the path from the baseline",
            formula: "R = (x − x0) ⊙ Σ_k w_k ∇f_t(x0 + α_k (x − x0)); completeness: Σ R ≈ f_t(x) − f_t(x0)",
            reference: "Sundararajan, Taly & Yan 2017; Captum IntegratedGradients, iNNvestigate IntegratedGradients",
            parameters: [
                Baseline.parameter,
                Parameter("steps", default: "50", "number of points on the path (Captum n_steps)"),
                PathQuadrature.methodParameter,
                Parameter("batch_size", default: "steps", "path points per batch (Captum internal_batch_size; memory grows with it)"),
            ]
        ) { model, options, _ in
            let quadrature = try PathQuadrature.from(options)
            return try IntegratedGradients(model: model, baseline: try Baseline.from(options),
                                           quadrature: quadrature,
                                           batchSize: try options.int("batch_size", default: quadrature.alphas.count, range: 1...100_000))
        })

        try registry.register(AnalyzerEntry(
            id: "deeplift", family: "reference",
            summary: "DeepLIFT (Rescale): differences to a baseline propagated with multipliers Δy/Δz at nonlinearities",
            formula: "R = (x − x0) ⊙ m, m = modified gradient with m = (f(z) − f(z0))/(z − z0) at Relu/LeakyRelu/Elu/Sigmoid/Tanh/Softplus "
                + "(f′(z) where |z − z0| < eps); completeness: Σ R = f_t(x) − f_t(x0)",
            reference: "Shrikumar, Greenside & Kundaje 2017; Captum DeepLift (Rescale)",
            parameters: [
                Baseline.parameter,
                Parameter("eps", default: "1e-10", "below this |z − z0| the ordinary derivative is used"),
                Parameter("maxpool", default: "gradient",
                          "MaxPool: gradient (Captum's result when a MaxPool consumes a Relu) or deeplift (Captum's max-pool rule)"),
                Parameter("rule", default: "rescale", "rescale, or reveal_cancel at every Conv/Dense that feeds a Relu (Rescale elsewhere)"),
            ]
        ) { model, options, _ in
            let rule = options.string("rule", default: "rescale")
            guard ["rescale", "reveal_cancel"].contains(rule) else { throw ExplainError(.invalidArgument, "rule = '\(rule)': use rescale or reveal_cancel") }
            let pool = options.string("maxpool", default: "gradient")
            guard maxPoolChoices.contains(pool) else {
                throw ExplainError(.invalidArgument, "maxpool = '\(pool)': use gradient or deeplift")
            }
            let eps = Float(try options.double("eps", default: 1e-10, range: 0...1))
            let preset = rule == "reveal_cancel" ? try revealCancelPreset(for: model.graph, eps: eps, maxPoolRule: pool == "deeplift")
                : try deepLiftPreset(eps: eps, maxPoolRule: pool == "deeplift")
            var analyzer = try BackpropAnalyzer(id: "deeplift", model: model, preset: preset, timesInput: true)
            analyzer.baseline = try Baseline.from(options)
            return analyzer
        })

        try registry.register(AnalyzerEntry(
            id: "gradient_shap", family: "reference",
            summary: "GradientSHAP (expected gradients): (x + ε − x0) times the gradient at a random point between a random baseline and x",
            formula: "R = mean_k (x + ε_k − x0_k) ⊙ ∇f_t(x0_k + α_k (x + ε_k − x0_k)), x0_k from the baselines, α_k ~ U(0,1), ε_k ~ N(0, stdev²)",
            reference: "Lundberg & Lee 2017; Erion et al. 2021 (expected gradients); Captum GradientShap, shap GradientExplainer",
            parameters: [BaselineSet.parameter, Parameter("samples", default: "5", "random draws per input (Captum n_samples)"),
                         Parameter("stdev", default: "0", "standard deviation of the noise added to the input"),
                         Parameter("seed", default: "0", "random seed (same seed, same result)"),
                         RandomDraws.parameter(.captum, "Captum's draws after np.random.seed(seed) and torch.manual_seed(seed); "
                                               + "numpy: shap GradientExplainer's with rseed=seed (no noise)"),
                         Parameter("batch_size", default: "16", "draws per batch")]
        ) { model, options, _ in
            let o = options
            return try GradientShap(model: model, baselines: { try BaselineSet(from: o, like: $0) },
                                    samples: try options.int("samples", default: 5, range: 1...1_000_000),
                                    stdev: try options.double("stdev", default: 0, range: 0...1_000_000),
                                    seed: UInt64(try options.int("seed", default: 0, range: 0...Int.max)),
                                    batchSize: try options.int("batch_size", default: 16, range: 1...100_000),
                                    draws: try RandomDraws.from(options, allowed: [.explainkit, .captum, .numpy]))
        })
        try registry.register(AnalyzerEntry(
            id: "deeplift_shap", family: "reference",
            summary: "DeepLIFT-SHAP: DeepLIFT (Rescale) averaged over a set of baselines",
            formula: "R = mean_k DeepLIFT(x; x0_k); Σ R = f_t(x) − mean_k f_t(x0_k)",
            reference: "Lundberg & Lee 2017; Captum DeepLiftShap; shap DeepExplainer (with maxpool=deeplift)",
            parameters: [BaselineSet.parameter, Parameter("eps", default: "1e-10", "below this |z − z0| the ordinary derivative is used"),
                         Parameter("maxpool", default: "gradient",
                                   "MaxPool: gradient (Captum's DeepLiftShap) or deeplift (the max-pool rule; shap's DeepExplainer)"),
                         Parameter("batch_size", default: "16", "baselines per batch")]
        ) { model, options, _ in
            let eps = Float(try options.double("eps", default: 1e-10, range: 0...1))
            let pool = options.string("maxpool", default: "gradient")
            guard maxPoolChoices.contains(pool) else { throw ExplainError(.invalidArgument, "maxpool = '\(pool)': use gradient or deeplift") }
            let o = options
            let preset = try deepLiftPreset(eps: eps, maxPoolRule: pool == "deeplift")
            return DeepLiftShap(deeplift: try BackpropAnalyzer(id: "deeplift", model: model, preset: preset, timesInput: true),
                                baselines: { try BaselineSet(from: o, like: $0) },
                                batchSize: try options.int("batch_size", default: 16, range: 1...100_000))
        })

        try registry.register(RuleEntry(id: "rescale", summary: "DeepLIFT Rescale at an element-wise activation: R · Δy/Δz (needs a baseline)",
                                        arguments: ["eps"]) { a in try RescaleRule(eps: Float(a.first ?? 1e-10)) })
        try registry.register(RuleEntry(id: "reveal_cancel", summary: "DeepLIFT RevealCancel at a Conv/Dense feeding a Relu (with `through` on the Relu; needs a baseline)",
                                        arguments: ["eps"]) { a in try RevealCancelRule(eps: Float(a.first ?? 1e-10)) })
        try registry.register(RuleEntry(id: "through", summary: "passes the multiplier through an activation unchanged", arguments: []) { _ in ThroughRule() })
        try registry.register(RuleEntry(id: "deeplift_maxpool", summary: "DeepLIFT max-pool rule (Captum; needs a baseline)",
                                        arguments: ["eps"]) { a in try DeepLiftMaxPoolRule(eps: Float(a.first ?? 1e-10)) })
        try registry.register(PresetEntry(id: "deeplift", summary: "rescale on every Relu, LeakyRelu, Elu, Sigmoid, Tanh and Softplus") { _ in try deepLiftPreset() })
        try registry.register(PresetEntry(id: "deeplift.maxpool_rule", summary: "deeplift, and deeplift_maxpool on every MaxPool") { _ in
            try deepLiftPreset(maxPoolRule: true)
        })

        try registry.register(AnalyzerEntry(
            id: "blur_ig", family: "reference",
            summary: "Blur Integrated Gradients: integrated gradients along ever stronger Gaussian blurs of the input",
            formula: "R = −Σ_i (σ_{i+1} − σ_i) ∂blur(x, σ)/∂σ|σ_i ⊙ ∇f_t(blur(x, σ_i)), σ_i = i σ_max / steps (or its square root)",
            reference: "Xu, Venugopalan & Sundararajan 2020; Google PAIR saliency BlurIG",
            parameters: [
                Parameter("max_sigma", default: "50", "largest blur σ (pixels)"),
                Parameter("steps", default: "100", "points on the blur path"),
                Parameter("grad_step", default: "0.01", "σ step of the forward difference ∂blur/∂σ"),
                Parameter("sqrt", default: "false", "space the σ values as square roots (PAIR's sqrt=True)"),
                Parameter("batch_size", default: "steps", "path points per batch"),
            ]
        ) { model, options, _ in
            try BlurIntegratedGradients(model: model, maxSigma: try options.double("max_sigma", default: 50, range: 1e-6...1e6),
                                        steps: try options.int("steps", default: 100, range: 1...100_000),
                                        gradStep: try options.double("grad_step", default: 0.01, range: 1e-9...1e3),
                                        squareRoot: try options.bool("sqrt", default: false),
                                        batchSize: try options.values["batch_size"].map { _ in try options.int("batch_size", default: 100, range: 1...100_000) })
        })
        try registry.register(AnalyzerEntry(
            id: "guided_ig", family: "reference",
            summary: "Guided Integrated Gradients: a path that moves the features with the smallest gradients first, near the straight line",
            formula: "R = Σ_steps Δx ⊙ ∇f_t(x) along the guided path (per step: the `fraction` of features with smallest |g| move toward the input, within max_dist of the straight line)",
            reference: "Kapishnikov et al. 2021; Google PAIR saliency GuidedIG",
            parameters: [
                Baseline.parameter,
                Parameter("steps", default: "200", "steps of the path (PAIR x_steps)"),
                Parameter("fraction", default: "0.25", "share of the features moved per round"),
                Parameter("max_dist", default: "0.02", "largest relative L1 deviation from the straight line (0: Integrated Gradients' path)"),
            ]
        ) { model, options, _ in
            try GuidedIntegratedGradients(model: model, baseline: try Baseline.from(options),
                                          steps: try options.int("steps", default: 200, range: 1...100_000),
                                          fraction: try options.double("fraction", default: 0.25, range: 1e-9...1),
                                          maxDistance: try options.double("max_dist", default: 0.02, range: 0...1))
        })
        try registry.register(CaseTranslator(method: "PAIR GuidedIG") { c in
            var o = Options()
            for key in ["fraction", "max_dist", "baseline"] { if let v = c.params[key]?.number { o.values[key] = "\(v)" } }
            if let v = c.params["steps"]?.number { o.values["steps"] = v.integerText }
            return ("guided_ig", o)
        })
        try registry.register(CaseTranslator(method: "PAIR BlurIG") { c in
            var o = Options()
            for key in ["max_sigma", "grad_step"] { if let v = c.params[key]?.number { o.values[key] = "\(v)" } }
            if let v = c.params["steps"]?.number { o.values["steps"] = v.integerText }
            if let sqrt = c.params["sqrt"]?.bool { o.values["sqrt"] = "\(sqrt)" }
            return ("blur_ig", o)
        })
        try registerXRAI(into: &registry)
        try registerTranslators(into: &registry)
    }

    static func registerXRAI(into registry: inout Registry) throws {
        try registry.register(CaseTranslator(method: "PAIR XRAI") { c in
            var o = Options()
            for key in ["steps", "min_pixel_diff"] { if let v = c.params[key]?.number { o.values[key] = v.integerText } }
            if let v = c.params["area_threshold"]?.number { o.values["area_threshold"] = "\(v)" }
            if let v = c.params["algorithm"]?.string { o.values["algorithm"] = v }
            if let v = c.params["segments"]?.string { o.values["segments"] = "file:" + v }
            return ("xrai", o)
        })
        try registry.register(AnalyzerEntry(
            id: "xrai", family: "reference",
            summary: "XRAI: regions added greedily by the mean Integrated Gradients of their new pixels (black and white baselines)",
            formula: "attr = max_c ½ (IG(x; min x) + IG(x; max x)); repeat: add the region maximising mean(attr over its uncovered pixels); a pixel's value = that gain",
            reference: "Kapishnikov, Bolukbasi, Viégas & Terry 2019; Google PAIR saliency XRAI",
            parameters: [
                Parameter("steps", default: "100", "Integrated Gradients points per baseline (numpy linspace, weights 1/n)"),
                Parameter("segments", default: "felzenszwalb", "file:S.npy label maps (N, H, W) or (N, K, H, W), each label a region; default: PAIR's Felzenszwalb regions at six scales"),
                Parameter("area_threshold", default: "1", "stop once this share of the image is covered"),
                Parameter("min_pixel_diff", default: "50", "drop regions that add fewer new pixels"),
                Parameter("algorithm", default: "full", "full (greedy, regions re-scored each step) or fast (sorted once)"),
                Parameter("batch_size", default: "steps", "path points per batch"),
            ]
        ) { model, options, _ in
            let name = options.string("algorithm", default: "full")
            guard let algorithm = XRAI.Algorithm(rawValue: name) else { throw ExplainError(.invalidArgument, "algorithm = '\(name)': use full or fast") }
            return try XRAI(model: model, steps: try options.int("steps", default: 100, range: 1...100_000),
                            batchSize: try options.values["batch_size"].map { _ in try options.int("batch_size", default: 100, range: 1...100_000) },
                            segments: try options.tensor("segments"),
                            areaThreshold: try options.double("area_threshold", default: 1, range: 0...1),
                            minPixelDiff: try options.int("min_pixel_diff", default: 50, range: 0...Int(Int32.max)), algorithm: algorithm)
        })
    }

    static func registerTranslators(into registry: inout Registry) throws {
        // zennit's IntegratedGradients attributor: the gradient at α = 1/n … 1, i.e. right Riemann sums.
        try registry.register(CaseTranslator(method: "zennit IntegratedGradients") { c in
            guard let n = c.params["n_iter"]?.number else { return nil }
            return ("integrated_gradients", Options(["steps": n.integerText, "method": "riemann_right", "baseline": "\(c.params["baseline"]?.number ?? 0)"]))
        })
        try registry.register(CaseTranslator(method: "shap GradientExplainer") { c in
            guard let file = c.params["baselines"]?.string, let k = c.params["nsamples"]?.number, let seed = c.params["rseed"]?.number else { return nil }
            return ("gradient_shap", Options(["baselines": "file:" + file, "samples": k.integerText, "seed": seed.integerText, "rng": "numpy"]))
        })
        try registry.register(CaseTranslator(method: "GradientShap+captum") { c in
            guard let file = c.params["baselines"]?.string, let k = c.params["n_samples"]?.number, let stdev = c.params["stdevs"]?.number,
                  let seed = c.params["seed"]?.number else { return nil }
            return ("gradient_shap", Options(["baselines": "file:" + file, "samples": k.integerText, "stdev": "\(stdev)", "seed": seed.integerText, "rng": "captum"]))
        })
        // iNNvestigate's DeepLIFTWrapper runs the deeplift package with nonlinear_mode "rescale",
        // reference 0 and gradients through max pooling: this id's defaults.
        try registry.register(alias: "deep_lift.wrapper", for: "deeplift")
        try registry.register(CaseTranslator(method: "DeepLiftShap") { c in
            c.params["baselines"]?.string.map { ("deeplift_shap", Options(["baselines": "file:" + $0])) }
        })
        try registry.register(CaseTranslator(method: "SHAP DeepExplainer") { c in
            c.params["background"]?.string.map { ("deeplift_shap", Options(["baselines": "file:" + $0, "maxpool": "deeplift"])) }
        })
        try registry.register(CaseTranslator(method: "IntegratedGradients") { c in
            guard c.params["multiply_by_inputs"]?.bool != false, let method = c.params["method"]?.string,
                  let steps = c.params["n_steps"]?.number else { return nil }
            var o = Options(["method": method, "steps": steps.integerText])
            if let b = c.params["baseline"]?.number { o.values["baseline"] = "\(b)" }
            return ("integrated_gradients", o)
        })
        try registry.register(CaseTranslator(method: "DeepLift") { c in
            guard c.params["rule"]?.string == "rescale", c.params["multiply_by_inputs"]?.bool != false else { return nil }
            var o = Options()
            if let b = c.params["baseline"]?.number { o.values["baseline"] = "\(b)" }
            if let e = c.params["eps"]?.number { o.values["eps"] = "\(e)" }
            if c.params["maxpool"]?.string?.hasPrefix("captum DeepLift max-pool rule") == true { o.values["maxpool"] = "deeplift" }
            return ("deeplift", o)
        })
    }
}
