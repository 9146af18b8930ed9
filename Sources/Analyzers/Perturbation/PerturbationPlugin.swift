import ExplainCore

/// Registers the model-agnostic family: `occlusion`, `feature_ablation`, `feature_permutation`, `shapley_values`,
/// `shapley_sampling`, `permutation_shap`, `kernel_shap`, `partition_shap`, `lime`, `rise`.
public enum PerturbationPlugin: Plugin {
    static let family = "model-agnostic"
    static let batch = Parameter("batch_size", default: "64", "perturbed copies per forward batch")
    static let groups = Parameter("groups", default: "(method default)", "file:G.npy: integer group id per element (input or one sample's shape)")
    static func grid(_ fallback: String) -> Parameter {
        Parameter("grid", default: fallback, "images: k × k rectangular blocks over H and W, shared by the channels (instead of groups)")
    }
    static let slic = [Parameter("slic", default: "(off)", "images: scikit-image's SLIC superpixels, about k per image (n_segments), shared by the channels (instead of groups)"),
                       Parameter("compactness", default: "10", "SLIC: weight of closeness against similarity of values (values scaled to [0, 1], Lab for RGB; scikit-image's)"),
                       Parameter("quickshift", default: "(off)", "images: scikit-image's quick shift superpixels, lime (lime_image's 4,200,0.2) or kernel_size,max_dist,ratio (instead of groups)"),
                       Parameter("quickshift_seed", default: "42", "quick shift: seed of its tie-breaking noise (scikit-image's rng)"),
                       Parameter("convert2lab", default: "(quick shift: true; SLIC: RGB only)", "convert RGB to CIE Lab first (true: one channel too, as grey RGB; SLIC without it: Lab for 3 channels only, as scikit-image)")]
    static let seed = Parameter("seed", default: "0", "random seed (same seed, same result)")
    /// The `seed` parameter of a method that draws like numpy's legacy generator.
    static func numpySeed(_ meaning: String) -> Parameter { Parameter("seed", default: "0", "numpy seed \(meaning); 0…4294967295") }
    /// A peer's seed (`seed`, 0…2³² − 1).
    static func peerSeed(_ o: Options) throws -> UInt32 { try RandomDraws.peerSeed(UInt64(try o.int("seed", default: 0, range: 0...Int.max))) }

    /// The groups an analyzer uses for an input: the options' `groups` or `grid`, else `fallback`.
    static func grouping(_ options: Options, fallback: @escaping @Sendable (Tensor) throws -> FeatureGroups) throws -> @Sendable (Tensor) throws -> FeatureGroups {
        let o = options
        if options.values["grid"] != nil { _ = try options.int("grid", default: 4, range: 1...4096) }
        return { input in try FeatureGroups.from(o, input: input) { try fallback(input) } }
    }

    /// Reads `l1_reg`: false (or 0) for none, `num_features(r)` for the first r least-angle features.
    static func l1Features(_ options: Options) throws -> Int? {
        let text = options.string("l1_reg", default: "false")
        if text == "false" || text == "0" { return nil }
        guard text.hasPrefix("num_features("), text.hasSuffix(")"), let r = Int(text.dropFirst(13).dropLast()), r >= 1 else {
            throw ExplainError(.invalidArgument, "l1_reg = '\(text)': use false or num_features(R) with R ≥ 1 (shap's aic, bic and Lasso alphas are not built)")
        }
        return r
    }

    static func integers(_ options: Options, _ key: String) throws -> [Int]? {
        guard let whole = options.values[key] else { return nil }
        return try options.list(key).map { text in
            guard let v = Int(text) else { throw ExplainError(.invalidArgument, "\(key) = '\(whole)': '\(text)' is not an integer") }
            return v
        }
    }

    static func seedValue(_ o: Options) throws -> UInt64 { UInt64(try o.int("seed", default: 0, range: 0...Int.max)) }
    static func batchSize(_ o: Options) throws -> Int { try o.int("batch_size", default: 64, range: 1...100_000) }

    /// The trailing parameters of the group-based methods: groups, grid (with its default for this
    /// method), SLIC, baseline, batch size.
    static func groupParameters(grid fallback: String) -> [Parameter] { [groups, grid(fallback)] + slic + [Baseline.parameter, batch] }

    static let backgroundParameter = Parameter("background", default: "(none: the baseline)",
        "file:B.npy: a background set (K samples shaped like the input); absent groups take each background sample's values and a coalition's value is their mean (shap's interventional masking); replaces baseline")

    /// The background set, if given (not together with a baseline).
    static func background(_ o: Options) throws -> Tensor? {
        guard let b = try o.tensor("background") else { return nil }
        guard o.values["baseline"] == nil, o.tensors["baseline"] == nil else {
            throw ExplainError(.invalidArgument, "give either baseline or background: a background set replaces the baseline")
        }
        return b
    }

    /// The default grouping of most group-based methods (4 × 4 blocks for images, every feature otherwise).
    static func defaultGrouping(_ o: Options) throws -> @Sendable (Tensor) throws -> FeatureGroups {
        try grouping(o) { try FeatureGroups.defaultGroups($0) }
    }

    public static func register(into registry: inout Registry) throws {
        try registry.register(AnalyzerEntry(
            id: "occlusion", family: family, summary: "Occlusion: drop of the target output when a sliding window takes the baseline's values",
            formula: "R_i = mean over windows p ∋ i of f_t(x) − f_t(x with window p := x0)",
            reference: "Zeiler & Fergus 2014; Captum Occlusion",
            parameters: [Parameter("window", default: "C,⌈H/8⌉,⌈W/8⌉", "window size per sample dimension (one number: C,k,k on images; style=zennit: every dimension, default 8)"),
                         Parameter("strides", default: "⌈window/2⌉", "step per sample dimension (style=zennit: default 8)"), Baseline.parameter, batch,
                         Parameter("style", default: "captum", "captum: the mean drop over the windows; zennit: zennit 0.5.1's Occlusion — the output with only the window kept, summed over the windows, windows wrapping around")]
        ) { model, o, _ in
            switch o.string("style", default: "captum") {
            case "captum":
                return Occlusion(model: model, window: try integers(o, "window"), strides: try integers(o, "strides"), baseline: try Baseline.from(o),
                                 batchSize: try batchSize(o))
            case "zennit":
                return try RolledOcclusion(model: model, window: try integers(o, "window") ?? [8], stride: try integers(o, "strides") ?? [8],
                                           baseline: try Baseline.from(o), batchSize: try batchSize(o))
            case let other: throw ExplainError(.invalidArgument, "style = '\(other)': use captum (default) or zennit")
            }
        })
        try registry.register(AnalyzerEntry(
            id: "feature_ablation", family: family, summary: "Feature ablation: drop of the target output when each group takes the baseline's values",
            formula: "R_i = f_t(x) − f_t(x with group(i) := x0)", reference: "Captum FeatureAblation",
            parameters: groupParameters(grid: "(every element its own group)")
        ) { model, o, _ in
            FeatureAblation(model: model, baseline: try Baseline.from(o), batchSize: try batchSize(o),
                            groups: try grouping(o) { FeatureGroups(elementsOf: $0) })
        })
        try registry.register(AnalyzerEntry(
            id: "feature_permutation", family: family,
            summary: "Feature permutation: drop of the target output when each group takes another sample's values (the batch permuted)",
            formula: "R_i = f_t(x_s) − f_t(x_s with group(i) := x_π(s)), π a random permutation of the batch per group (not the identity)",
            reference: "Breiman 2001 (permutation importance); Captum FeaturePermutation",
            parameters: [groups, grid("(every element its own group)"), seed, BatchPermutation.parameter, batch]
        ) { model, o, _ in
            FeatureAblation(id: "feature_permutation", model: model,
                            replacement: .permutation(seed: UInt64(try o.int("seed", default: 0, range: 0...Int.max)),
                                                      torch: try RandomDraws.from(o, allowed: [.explainkit, .torch]) == .torch),
                            batchSize: try batchSize(o), groups: try grouping(o) { FeatureGroups(elementsOf: $0) })
        })
        try registry.register(AnalyzerEntry(
            id: "shapley_values", family: family, summary: "Exact Shapley values of feature groups (all 2^M coalitions)",
            formula: "φ_g = Σ_{S ∌ g} |S|!(M−|S|−1)!/M! (v(S ∪ g) − v(S)), v(S) = f_t(x with groups ∉ S := x0); Σ φ = f_t(x) − f_t(x0)",
            reference: "Shapley 1953; Štrumbelj & Kononenko 2014; Captum ShapleyValues",
            parameters: groupParameters(grid: "3 (images); every feature (vectors)") + [backgroundParameter]
        ) { model, o, _ in
            ShapleyValues(id: "shapley_values", model: model, estimator: .exact, baseline: try Baseline.from(o),
                          background: try background(o), batchSize: try batchSize(o),
                          groups: try grouping(o) { $0.rank == 4 ? try FeatureGroups(grid: min(3, $0.shape[2], $0.shape[3]), input: $0) : FeatureGroups(elementsOf: $0) })
        })
        try registry.register(AnalyzerEntry(
            id: "shapley_sampling", family: family, summary: "Shapley value sampling: mean marginal contribution of each group over random orders",
            formula: "φ_g = mean over random orders π of v(groups before g in π ∪ {g}) − v(groups before g in π); Σ φ = f_t(x) − f_t(x0)",
            reference: "Castro, Gómez & Tejada 2009; Captum ShapleyValueSampling",
            parameters: [Parameter("samples", default: "25", "random orders per sample (M + 1 forward passes each)"), seed,
                         RandomDraws.parameter(.torch, "Captum's orders, torch.randperm(M) after torch.manual_seed(seed), the same for every sample")]
                         + groupParameters(grid: "4 (images); every feature (vectors)") + [backgroundParameter]
        ) { model, o, _ in
            ShapleyValues(id: "shapley_sampling", model: model,
                          estimator: .permutations(count: try o.int("samples", default: 25, range: 1...1_000_000), seed: try seedValue(o),
                                                   torch: try RandomDraws.from(o, allowed: [.explainkit, .torch]) == .torch),
                          baseline: try Baseline.from(o), background: try background(o), batchSize: try batchSize(o),
                          groups: try defaultGrouping(o))
        })
        try registry.register(AnalyzerEntry(
            id: "permutation_shap", family: family,
            summary: "shap's Permutation explainer: each group's change when switched on and off again along random orders (antithetic)",
            formula: "per order π of the varying groups: φ_g += v(before g ∪ g) − v(before g) and v(after… ∪ g) − v(after…) switching off; "
                + "φ = sum / (2 · orders), orders = ⌊max_evals / (2M′ + 1)⌋; Σ φ = v(all varying) − v(∅)",
            reference: "Štrumbelj & Kononenko 2014; shap PermutationExplainer (orders from numpy's legacy MT19937 seeded like seed=…)",
            parameters: [Parameter("max_evals", default: "500", "forward passes (coalitions) per sample; 2M′ + 1 per order"),
                         numpySeed("of the orders (shap PermutationExplainer(seed=…))")]
                         + groupParameters(grid: "4 (images); every feature (vectors)") + [backgroundParameter]
        ) { model, o, _ in
            ShapleyValues(id: "permutation_shap", model: model,
                          estimator: .antitheticPermutations(maxEvals: try o.int("max_evals", default: 500, range: 1...100_000_000),
                                                             seed: try peerSeed(o)),
                          baseline: try Baseline.from(o), background: try background(o), batchSize: try batchSize(o),
                          groups: try defaultGrouping(o))
        })
        try registry.register(AnalyzerEntry(
            id: "sampling_shap", family: family,
            summary: "shap's SamplingExplainer (IME): per feature, on/off differences over random orders and background rows, samples shared by variance",
            formula: "φ_j = mean over (order π, row r) of f(x, after j := X_r) − f(x, j and after := X_r); two rounds (even, then by variance); "
                + "φ += (f(x) − E f(X) − Σ φ) · share by variance",
            reference: "Štrumbelj & Kononenko 2010, 2014; shap SamplingExplainer (numpy's legacy MT19937 seeded like np.random.seed)",
            parameters: [Parameter("samples", default: "1000 · M", "samples per explained row (M: features that differ from the background); at least 2M"),
                         Parameter("min_samples_per_feature", default: "100", "first-round samples per feature before the variance-based second round"),
                         numpySeed("(np.random.seed before shap_values)"),
                         backgroundParameter, Baseline.parameter, batch]
        ) { model, o, _ in
            SamplingShap(model: model, samples: o.values["samples"] == nil ? nil : try o.int("samples", default: 0, range: 2...10_000_000),
                         minSamplesPerFeature: try o.int("min_samples_per_feature", default: 100, range: 1...100_000_000),
                         seed: try peerSeed(o),
                         baseline: try Baseline.from(o), background: try background(o), batchSize: try batchSize(o))
        })
        try registry.register(AnalyzerEntry(
            id: "kernel_shap", family: family, summary: "KernelSHAP: Shapley values of feature groups by weighted regression over coalitions",
            formula: "φ = argmin Σ_z π(z) (v(z) − f_t(x0) − z·φ)² s.t. Σ φ = f_t(x) − f_t(x0); π = Shapley kernel",
            reference: "Lundberg & Lee 2017; shap KernelExplainer, Captum KernelShap",
            parameters: [Parameter("samples", default: "2M + 2048", "coalitions (all of them, exactly, when ≥ 2^M − 2), or file:Z.npy (N, S, M) with weights"),
                         Parameter("weights", default: "(Shapley kernel)", "file:W.npy (N, S): weights of given coalitions"),
                         seed,
                         Parameter("rng", default: "explainkit", "numpy: draw the coalitions as shap's KernelExplainer does after np.random.seed(seed), over the groups that can change the output; "
                                   + "captum: Captum's KernelShap after torch.manual_seed(seed) (samples default 25, its n_samples; weighted least squares with intercept)"),
                         Parameter("l1_reg", default: "false", "num_features(r): only the first r features of least-angle regression get values (shap KernelExplainer's default is num_features(10))")]
                         + groupParameters(grid: "4 (images); every feature (vectors)") + [backgroundParameter]
        ) { model, o, _ in
            let estimator: ShapleyValues.Estimator
            if let z = try o.tensor("samples") {
                guard let w = try o.tensor("weights") else { throw ExplainError(.invalidArgument, "given coalitions (samples=file:…) need their weights (weights=file:…)") }
                estimator = .given(coalitions: z, weights: w)
            } else {
                let samples = o.values["samples"] == nil ? nil : try o.int("samples", default: 0, range: 1...10_000_000)
                let l1 = try l1Features(o)
                switch try RandomDraws.from(o, allowed: [.explainkit, .numpy, .captum]) {
                case .captum:
                    guard l1 == nil, o.values["background"] == nil else {
                        throw ExplainError(.invalidArgument, "rng = captum makes Captum's KernelShap, which has no l1_reg and no background set: drop them or use rng = numpy (shap)")
                    }
                    estimator = .captumKernel(samples: samples ?? CaptumKernelShap.defaultSamples,
                                              seed: try peerSeed(o))
                case .numpy:
                    estimator = .shapKernel(samples: samples, seed: try peerSeed(o), l1Features: l1)
                default: estimator = .kernelSHAP(samples: samples, seed: try seedValue(o), l1Features: l1)
                }
            }
            return ShapleyValues(id: "kernel_shap", model: model, estimator: estimator, baseline: try Baseline.from(o),
                                 background: try background(o), batchSize: try batchSize(o), groups: try defaultGrouping(o))
        })
        try registry.register(AnalyzerEntry(
            id: "lime", family: family, summary: "LIME: a weighted ridge regression of the target output on random group-presence vectors",
            formula: "β = argmin Σ π(z)(f_t(x_z) − b − z·β)² + ridge·|β|², π = √exp(−d²/width²), d = 1 − √(|z|/M)",
            reference: "Ribeiro, Singh & Guestrin 2016; lime LimeImageExplainer / LimeTabularExplainer, Captum Lime",
            parameters: [Parameter("samples", default: "1000", "random presence vectors (the first all ones), or file:Z.npy (N, S, M)"),
                         Parameter("kernel_width", default: "0.25", "width of the exponential kernel on the cosine distance"),
                         Parameter("ridge", default: "1", "ridge penalty α (the intercept is not penalised)"),
                         seed,
                         Parameter("rng", default: "explainkit", "captum: Captum's Lime after torch.manual_seed(seed): torch.bernoulli vectors (samples default 25), "
                                   + "kernel exp(−d²/(2·width²)) on the cosine distance of input and perturbed input (width default 1), Lasso(alpha) surrogate; "
                                   + "lime: lime_image's LimeImageExplainer(random_state=seed).explain_instance, draw for draw (quick shift superpixels and mean colours by default; "
                                   + "with slic=k, SegmentationAlgorithm('slic', n_segments=k) with lime's numbering: feature j hides SLIC label j, so the last segment is never hidden)"),
                         Parameter("alpha", default: "0.01", "with rng = captum: the Lasso penalty of the surrogate (Captum's SkLearnLasso(alpha=0.01))"),
                         Parameter("hide_color", default: "baseline (rng = lime: mean)", "mean: absent groups take their own mean colour (lime_image's hide_color=None); baseline: the baseline's values")]
                         + groupParameters(grid: "4 (images); every feature (vectors)")
        ) { model, o, _ in
            // Not `given ?? .random(count: try …)`: Swift 6.3.1 miscompiles an error thrown inside
            // `??`'s right side when it builds an enum case with payloads (crash; Docs/Decisions/0005).
            let samples: Lime.Samples
            let draws = try RandomDraws.from(o, allowed: [.explainkit, .captum, .lime])
            let captum = draws == .captum, limeImage = draws == .lime
            if let z = try o.tensor("samples") {
                guard !captum && !limeImage else { throw ExplainError(.invalidArgument, "rng = \(draws.rawValue) draws its own vectors: drop samples=file:… or rng") }
                samples = .given(z)
            } else if captum {
                guard o.values["ridge"] == nil else { throw ExplainError(.invalidArgument, "rng = captum fits Captum's Lasso surrogate: use alpha, not ridge") }
                samples = .captum(count: try o.int("samples", default: CaptumLime.defaultSamples, range: 1...10_000_000),
                                  seed: try peerSeed(o))
            } else {
                guard o.values["alpha"] == nil else { throw ExplainError(.invalidArgument, "alpha is the Lasso penalty of rng = captum; lime's own surrogate takes ridge") }
                let count = try o.int("samples", default: 1000, range: limeImage ? 1...10_000_000 : 2...10_000_000)
                samples = limeImage ? .limeImage(count: count, seed: try peerSeed(o), labelsFromOne: o.values["slic"] != nil)
                    : .random(count: count, seed: try seedValue(o))
            }
            // lime_image's defaults: quick shift superpixels and mean colours, unless given otherwise.
            let hide = o.string("hide_color", default: limeImage && o.values["baseline"] == nil && o.tensors["baseline"] == nil ? "mean" : "baseline")
            guard hide == "mean" || hide == "baseline" else { throw ExplainError(.invalidArgument, "hide_color = '\(hide)': use mean (lime's hide_color=None) or baseline") }
            var grouping = o
            if limeImage && ["groups", "grid", "slic", "quickshift"].allSatisfy({ o.values[$0] == nil && o.tensors[$0] == nil }) {
                grouping.values["quickshift"] = "lime"
            }
            return try Lime(model: model, samples: samples,
                            kernelWidth: try o.double("kernel_width", default: captum ? CaptumLime.defaultKernelWidth : 0.25),
                            ridge: try o.double("ridge", default: 1), alpha: try o.double("alpha", default: CaptumLime.defaultAlpha),
                            meanFill: hide == "mean", baseline: try Baseline.from(o), batchSize: try batchSize(o), groups: try defaultGrouping(grouping))
        })
        try registry.register(AnalyzerEntry(
            id: "rise", family: family, summary: "RISE: the target output averaged over random smooth masks, weighting each mask",
            formula: "R = Σ_i f_t(x0 + M_i ⊙ (x − x0)) M_i / (n · p)",
            reference: "Petsiuk, Das & Saenko 2018",
            parameters: [Parameter("masks", default: "1000", "number of random masks, or file:M.npy (n, 1, H, W)"),
                         Parameter("cells", default: "8", "grid cells per side of a random mask"),
                         Parameter("p", default: "0.5", "probability of keeping a cell"), seed, Baseline.parameter, batch]
        ) { model, o, _ in
            let masks: Rise.Masks   // not `?? .random(… try …)`: see lime above
            if let m = try o.tensor("masks") {
                masks = .given(m)
            } else {
                masks = .random(count: try o.int("masks", default: 1000, range: 1...10_000_000), cells: try o.int("cells", default: 8, range: 1...4096),
                                seed: try seedValue(o))
            }
            return try Rise(model: model, masks: masks, keep: try o.double("p", default: 0.5), baseline: try Baseline.from(o),
                            batchSize: try batchSize(o))
        })

        try registry.register(AnalyzerEntry(
            id: "partition_shap", family: family,
            summary: "shap's Partition explainer on images: hierarchical Owen values over a binary hierarchy of image boxes",
            formula: "per node: Δ = f(S ∪ left/right) − f(S) in both contexts, weights halved per level, largest |Δ|·w first until max_evals; leftovers shared by size; Σ φ = f_t(x) − f_t(masked)",
            reference: "Lundberg et al.; shap Partition explainer with shap.maskers.Image",
            parameters: [Parameter("mask", default: "0", "what absent elements become: a number, or blur(WIDTH,HEIGHT) (OpenCV box blur of the image, shap's \"blur(w,h)\")"),
                         Parameter("max_evals", default: "500", "forward passes per image (shap max_evals; at most 1 000 000: the queue grows with it)"),
                         Parameter("batch_size", default: "10", "queue entries expanded per round (shap batch_size; changes which nodes are expanded)"),
                         Parameter("fixed_context", default: "none", "none (Owen values), 0 or 1 (shap fixed_context)")]
        ) { model, o, _ in
            let context = o.string("fixed_context", default: "none")
            guard ["none", "0", "1"].contains(context) else { throw ExplainError(.invalidArgument, "fixed_context = '\(context)': use none, 0 or 1") }
            return try PartitionShap(model: model, maskValue: try PartitionShap.parseMask(o.string("mask", default: "0")),
                                     maxEvals: try o.int("max_evals", default: 500, range: 3...1_000_000),
                                     batchSize: try o.int("batch_size", default: 10, range: 1...1_000_000), fixedContext: Int(context))
        })

        // Captum's names.
        try registry.register(alias: "shapley_value_sampling", for: "shapley_sampling")
        try registry.register(alias: "kernelshap", for: "kernel_shap")
        try registry.register(alias: "permutation_explainer", for: "permutation_shap")
        try registry.register(alias: "sampling_explainer", for: "sampling_shap")
        try registerTranslators(into: &registry)
    }

    /// A fixture case's scalar baseline as an option.
    static func baseline(_ c: FixtureCase) -> [String: String] {
        (c.params["baselines"]?.number ?? c.params["baseline"]?.number).map { ["baseline": "\($0)"] } ?? [:]
    }

    /// A file the case names under `key`, as a `file:` option value.
    static func file(_ c: FixtureCase, _ key: String) -> String? { c.params[key]?.string.map { "file:" + $0 } }

    static func registerTranslators(into registry: inout Registry) throws {
        try registry.register(CaseTranslator(method: "SHAP Partition image") { c in
            var o = Options()
            for key in ["mask", "fixed_context"] { if let v = c.params[key]?.string { o.values[key] = v } }
            for key in ["max_evals", "batch_size"] { if let v = c.params[key]?.number { o.values[key] = v.integerText } }
            return ("partition_shap", o)
        })
        try registry.register(CaseTranslator(method: "Occlusion") { c in
            guard let w = c.params["sliding_window_shapes"]?.array?.compactMap(\.number),
                  let s = c.params["strides"]?.array?.compactMap(\.number) else { return nil }
            return ("occlusion", Options(baseline(c).merging(["window": w.map { $0.integerText }.joined(separator: ","),
                                                              "strides": s.map { $0.integerText }.joined(separator: ",")]) { $1 }))
        })
        try registry.register(CaseTranslator(method: "zennit Occlusion") { c in
            guard let w = c.params["window"]?.array?.compactMap(\.number), let st = c.params["stride"]?.array?.compactMap(\.number) else { return nil }
            return ("occlusion", Options(["style": "zennit", "window": w.map { $0.integerText }.joined(separator: ","),
                                          "strides": st.map { $0.integerText }.joined(separator: ",")]))
        })
        // Captum's sampling methods with their own draws: n_samples, seed and an optional feature mask.
        for (method, id, rng) in [("ShapleyValueSampling+torch", "shapley_sampling", "torch"), ("KernelShap+captum", "kernel_shap", "captum"),
                                  ("Lime+captum", "lime", "captum")] {
            try registry.register(CaseTranslator(method: method) { c in
                guard let k = c.params["n_samples"]?.number else { return nil }
                var o = Options(baseline(c).merging(["samples": k.integerText, "rng": rng]) { $1 })
                if let seed = c.params["seed"]?.number { o.values["seed"] = seed.integerText }
                if let mask = file(c, "feature_mask") { o.values["groups"] = mask }
                return (id, o)
            })
        }
        try registry.register(CaseTranslator(method: "FeaturePermutation") { c in
            var o = Options(["rng": c.params["rng"]?.string ?? "explainkit"])
            if let seed = c.params["seed"]?.number { o.values["seed"] = seed.integerText }
            if let mask = file(c, "feature_mask") { o.values["groups"] = mask }
            return ("feature_permutation", o)
        })
        try registry.register(CaseTranslator(method: "FeatureAblation") { c in
            file(c, "feature_mask").map { ("feature_ablation", Options(baseline(c).merging(["groups": $0]) { $1 })) }
        })
        try registry.register(CaseTranslator(method: "ShapleyExact") { c in
            file(c, "segments").map { ("shapley_values", Options(baseline(c).merging(["groups": $0]) { $1 })) }
        })
        try registry.register(CaseTranslator(method: "KernelSHAP") { c in
            // Every coalition enumerated (the fixtures have at most 10 groups).
            file(c, "segments").map { ("kernel_shap", Options(baseline(c).merging(["groups": $0, "samples": "1048576"]) { $1 })) }
        })
        try registry.register(CaseTranslator(method: "LIME image") { c in
            guard let k = c.params["num_samples"]?.number, let seed = c.params["seed"]?.number else { return nil }
            var o = ["samples": k.integerText, "seed": seed.integerText, "rng": "lime"]
            if let segments = c.params["n_segments"]?.number { o["slic"] = segments.integerText }
            return ("lime", Options(o))
        })
        try registry.register(CaseTranslator(method: "KernelSHAP+given_samples") { c in
            guard let g = file(c, "segments"), let z = file(c, "samples"), let w = file(c, "weights") else { return nil }
            return ("kernel_shap", Options(baseline(c).merging(["groups": g, "samples": z, "weights": w]) { $1 }))
        })
        try registry.register(CaseTranslator(method: "LIME+given_samples") { c in
            guard let g = file(c, "segments"), let z = file(c, "samples"), let width = c.params["kernel_width"]?.number else { return nil }
            var o = baseline(c).merging(["groups": g, "samples": z, "kernel_width": "\(width)"]) { $1 }
            if let alpha = c.params["ridge_alpha"]?.number { o["ridge"] = "\(alpha)" }
            return ("lime", Options(o))
        })
        try registry.register(CaseTranslator(method: "RISE+given_masks") { c in
            guard let m = file(c, "masks"), let p = c.params["p"]?.number else { return nil }
            return ("rise", Options(baseline(c).merging(["masks": m, "p": "\(p)"]) { $1 }))
        })
        // shap with a background dataset (Tools/make_shap_background_fixture.py).
        for (method, id) in [("SHAP Exact background", "shapley_values"), ("SHAP KernelExplainer background", "kernel_shap"),
                             ("SHAP PermutationExplainer background", "permutation_shap"), ("SHAP KernelExplainer numpy", "kernel_shap"),
                             ("SHAP SamplingExplainer numpy", "sampling_shap")] {
            try registry.register(CaseTranslator(method: method) { c in
                guard let file = c.params["background"]?.string else { return nil }
                var values = ["background": "file:" + file]
                for key in ["seed", "max_evals", "samples", "min_samples_per_feature"] { if let v = c.params[key]?.number { values[key] = v.integerText } }
                for key in ["rng", "l1_reg"] where id != "sampling_shap" { if let v = c.params[key]?.string { values[key] = v } }
                return (id, Options(values))
            })
        }
    }
}
