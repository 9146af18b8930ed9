import ExplainCore

/// Registers the gradient family: `gradient`, `saliency`, `input_t_gradient`, `smoothgrad`,
/// `smoothgrad.squared`, `vargrad`, `beta_smooth` (and Captum's names `input_x_gradient`,
/// `noise_tunnel`), and the evaluation controls `random` and `input`.
public enum GradientPlugin: Plugin {
    static let noiseParameters = [
        Parameter("base", default: "gradient", "id of the analyzer applied to each noisy copy (any input-shaped analyzer; other --set values go to it)"),
        Parameter("noise_level", default: "0.1", "σ as a fraction of each sample's value range (max − min)"),
        Parameter("samples", default: "16", "number of noisy copies per input"),
        Parameter("seed", default: "0", "random seed (same seed, same result)"),
        Parameter("batch_size", default: "min(samples, 8)", "noisy copies per batch (memory grows with it)"),
        Parameter("stdev", default: "(noise_level)", "absolute standard deviation of the noise (Captum's stdevs), instead of noise_level × range"),
        RandomDraws.parameter(.torch, "the noise Captum's NoiseTunnel draws after torch.manual_seed(seed) (one torch.normal over all copies); "
                              + "zennit: zennit's SmoothGrad (torch.randn_like per copy, the last copy without noise)"),
    ]

    public static func register(into registry: inout Registry) throws {
        try registry.register(AnalyzerEntry(
            id: "gradient", family: "gradient", summary: "Gradient of the target output with respect to the input (saliency, signed)",
            formula: "R = ∂f_t(x)/∂x", reference: "Simonyan, Vedaldi & Zisserman 2014; iNNvestigate Gradient, Captum Saliency(abs=False)"
        ) { model, _, _ in try BackpropAnalyzer(id: "gradient", model: model) })

        try registry.register(AnalyzerEntry(
            id: "saliency", family: "gradient", summary: "Saliency: the absolute gradient (Captum Saliency's default abs=True)",
            formula: "R = |∂f_t(x)/∂x|", reference: "Simonyan, Vedaldi & Zisserman 2014; Captum Saliency"
        ) { model, _, _ in AbsoluteValue(id: "saliency", base: try BackpropAnalyzer(id: "gradient", model: model)) })

        try registry.register(AnalyzerEntry(
            id: "input_t_gradient", family: "gradient", summary: "Input times gradient",
            formula: "R = x ⊙ ∂f_t(x)/∂x", reference: "Shrikumar et al. 2016; iNNvestigate InputTimesGradient, Captum InputXGradient"
        ) { model, _, _ in try BackpropAnalyzer(id: "input_t_gradient", model: model, timesInput: true) })

        let noisy: [(String, NoiseTunnel.Combination, String, String, String)] = [
            ("smoothgrad", .mean, "Mean attribution over noisy copies of the input", "R = mean_k A(x + ε_k), ε_k ~ N(0, σ²)",
             "Smilkov et al. 2017; iNNvestigate SmoothGrad, Captum NoiseTunnel(smoothgrad)"),
            ("smoothgrad.squared", .squared, "Mean squared attribution over noisy copies", "R = mean_k A(x + ε_k)²",
             "Hooker et al. 2019; Captum NoiseTunnel(smoothgrad_sq)"),
            ("vargrad", .variance, "Variance of the attribution over noisy copies", "R = mean_k A(x + ε_k)² − (mean_k A(x + ε_k))²",
             "Adebayo et al. 2018; Captum NoiseTunnel(vargrad)"),
        ]
        for (id, combination, summary, formula, reference) in noisy {
            try registry.register(AnalyzerEntry(
                id: id, family: "gradient", summary: summary, formula: formula + ", σ = noise_level · (max x − min x)",
                reference: reference, parameters: noiseParameters, wrapping: "base"
            ) { model, options, registry in
                let baseID = options.string("base", default: "gradient")
                guard baseID != id, !["smoothgrad", "smoothgrad.squared", "vargrad"].contains(baseID) else {
                    throw ExplainError(.invalidArgument, "base = \(baseID): a noise tunnel cannot wrap another noise tunnel")
                }
                let samples = try options.int("samples", default: 16, range: 1...100_000)
                return try NoiseTunnel(
                    id: id, model: model, base: try registry.makeAnalyzer(baseID, model: model, options: registry.analyzer(id).foreignOptions(options)),
                    combination: combination,
                    noiseLevel: try options.double("noise_level", default: 0.1, range: 0...1_000),
                    samples: samples, seed: UInt64(try options.int("seed", default: 0, range: 0...Int.max)),
                    batchSize: try options.int("batch_size", default: min(samples, 8), range: 1...100_000),
                    stdev: options.values["stdev"] == nil ? nil : try options.double("stdev", default: 0, range: 0...1e12),
                    draws: try RandomDraws.from(options, allowed: [.explainkit, .torch, .zennit]))
            })
        }

        try registry.register(AnalyzerEntry(
            id: "beta_smooth", family: "gradient",
            summary: "Gradient with every Relu's derivative replaced by the softplus derivative σ(βz) (a smooth surrogate)",
            formula: "R = ∂f_t/∂x with d relu(z)/dz := σ(β z) = 1 / (1 + e^(−βz)); → the gradient as β → ∞",
            reference: "Dombrowski et al. 2019 (β-smoothing); zennit BetaSmooth composite",
            parameters: [Parameter("beta", default: "10", "softplus sharpness β (zennit beta_smooth)")]
        ) { model, options, _ in
            let rule = try BetaSmoothRule(beta: Float(try options.double("beta", default: 10, range: 1e-6...1e6)))
            return try BackpropAnalyzer(id: "beta_smooth", model: model, preset: Preset("beta_smooth") { when(.kind(.relu), use: rule) })
        })
        try registry.register(RuleEntry(id: "beta_smooth", summary: "Relu: R · σ(βz), the softplus derivative", arguments: ["beta"]) { a in
            try BetaSmoothRule(beta: Float(a.first ?? 10))
        })

        try registry.register(AnalyzerEntry(
            id: "random", family: "control", summary: "Control: standard normal noise shaped like the input (seeded), independent of the model",
            formula: "R ~ N(0, stddev²) per element", reference: "iNNvestigate Random (a baseline for evaluations)",
            parameters: [Parameter("stddev", default: "1", "standard deviation"), Parameter("seed", default: "0", "random seed (same seed, same result)")]
        ) { model, options, _ in
            try ControlAnalyzer(kind: .random, model: model, stddev: Float(try options.double("stddev", default: 1, range: 1e-30...1e30)),
                                seed: UInt64(try options.int("seed", default: 0, range: 0...Int.max)))
        })
        try registry.register(AnalyzerEntry(
            id: "input", family: "control", summary: "Control: the input itself", formula: "R = x",
            reference: "iNNvestigate Input (a baseline for evaluations)"
        ) { model, _, _ in try ControlAnalyzer(kind: .input, model: model) })

        try registry.register(CaseTranslator(method: "Gradient") { _ in ("gradient", Options()) })
        try registry.register(CaseTranslator(method: "Saliency") { c in
            (c.params["abs"]?.bool == true ? "saliency" : "gradient", Options())
        })
        // Captum's names for the same methods.
        try registry.register(alias: "input_x_gradient", for: "input_t_gradient")
        try registry.register(alias: "gradient.baseline", for: "gradient")   // iNNvestigate's BaselineGradient: the same gradient
        try registry.register(alias: "noise_tunnel", for: "smoothgrad")
        try registry.register(CaseTranslator(method: "InputXGradient") { _ in ("input_t_gradient", Options()) })
        // zennit's SmoothGrad attributor with its own draws (Tools/make_noise_tunnel_fixtures.py).
        try registry.register(CaseTranslator(method: "zennit SmoothGrad") { c in
            guard let k = c.params["n_iter"]?.number, let level = c.params["noise_level"]?.number, let seed = c.params["seed"]?.number else { return nil }
            let base: String
            switch c.params["composite"]?.string {
            case nil: base = "gradient"
            case "EpsilonPlusFlat"?: base = "lrp.epsilon_plus_flat"
            default: return nil
            }
            var o = Options(["base": base, "samples": k.integerText, "noise_level": "\(level)", "seed": seed.integerText, "rng": "zennit"])
            if base != "gradient" { o.values["start"] = "one" }   // zennit starts the relevance at the one-hot output gradient
            return ("smoothgrad", o)
        })
        // Captum's NoiseTunnel with its own draws (Tools/make_noise_tunnel_fixtures.py).
        try registry.register(CaseTranslator(method: "NoiseTunnel") { c in
            let ids = ["smoothgrad": "smoothgrad", "smoothgrad_sq": "smoothgrad.squared", "vargrad": "vargrad"]
            guard let type = c.params["nt_type"]?.string, let id = ids[type], let base = c.params["base"]?.string,
                  let k = c.params["nt_samples"]?.number, let stdev = c.params["stdevs"]?.number else { return nil }
            let baseID: String
            switch base {
            case "Saliency": baseID = c.params["abs"]?.bool == false ? "gradient" : "saliency"
            case "InputXGradient": baseID = "input_t_gradient"
            default: return nil
            }
            var o = Options(["base": baseID, "samples": k.integerText, "stdev": "\(stdev)", "rng": c.params["rng"]?.string ?? "explainkit"])
            if let seed = c.params["seed"]?.number { o.values["seed"] = seed.integerText }
            return (id, o)
        })
    }
}

/// The element-wise absolute value of another analyzer's attribution.
public struct AbsoluteValue: Analyzer {
    public let id: String
    public let base: any Analyzer

    public init(id: String, base: any Analyzer) {
        self.id = id
        self.base = base
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        var a = try base.analyze(input, target: target)
        let v = a.values
        a.values = Tensor(shape: v.shape) { p in v.withUnsafeBufferPointer { q in for i in 0..<p.count { p[i] = abs(q[i]) } } }
        a.delta = nil
        return a
    }
}
