import ExplainCore

/// Registers the layer family (Captum's layer attributions): `layer_activation`,
/// `layer_gradient_x_activation`, `internal_influence`, `layer_conductance`,
/// `layer_integrated_gradients`, `layer_deeplift`, `layer_deeplift_shap`, `layer_gradient_shap`,
/// `layer_lrp`, `layer_feature_ablation`, `layer_feature_permutation`, and `neuron_conductance`. Each attributes the explained output to the neurons of one layer (the
/// result is shaped like that layer), except neuron conductance (input-shaped: the input's share
/// through one neuron).
public enum LayerPlugin: Plugin {
    static let pathParameters = [
        LayerChoice.parameter, Baseline.parameter,
        Parameter("steps", default: "50", "number of points on the path (Captum n_steps)"),
        PathQuadrature.methodParameter,
        Parameter("batch_size", default: "steps", "path points per batch (Captum internal_batch_size; memory grows with it)"),
    ]

    /// A backward-pass analyzer made by id, to be read at a layer.
    static func backprop(_ id: String, model: ExplainableModel, options: Options, registry: Registry, wrapper: String) throws -> BackpropAnalyzer {
        let made = try registry.makeAnalyzer(id, model: model, options: options)
        guard let b = made as? BackpropAnalyzer else {
            throw ExplainError(.invalidArgument, "\(wrapper) reads a backward pass at a layer; '\(id)' is not a single backward pass (use gradient, deeplift, guided_backprop or an lrp.* method)")
        }
        return b
    }

    /// Reads `per`: what one ablation or permutation moves.
    static func unit(_ options: Options) throws -> LayerFeatureAblation.Unit {
        let per = options.string("per", default: "neuron")
        guard let unit = LayerFeatureAblation.Unit(rawValue: per) else { throw ExplainError(.invalidArgument, "per = '\(per)': use neuron or channel") }
        return unit
    }

    public static func register(into registry: inout Registry) throws {
        try registry.register(AnalyzerEntry(
            id: "layer_activation", family: "layer", summary: "The layer's output itself (independent of the target)",
            formula: "R = A(x)", reference: "Captum LayerActivation", parameters: [LayerChoice.parameter]
        ) { model, options, _ in try LayerActivation(model: model, layer: options.values["layer"]) })

        try registry.register(AnalyzerEntry(
            id: "layer_gradient_x_activation", family: "layer", summary: "The layer's output times the gradient at it (or the gradient alone)",
            formula: "R = A(x) ⊙ ∂f_t/∂A (multiply=true), R = ∂f_t/∂A (multiply=false)",
            reference: "Shrikumar et al. 2016 at a layer; Captum LayerGradientXActivation",
            parameters: [LayerChoice.parameter, Parameter("multiply", default: "true", "multiply the gradient by the layer's output (Captum multiply_by_inputs)")]
        ) { model, options, _ in
            let multiply = try options.bool("multiply", default: true)
            return try LayerBackprop(id: "layer_gradient_x_activation",
                                     base: try BackpropAnalyzer(id: "gradient", model: model, timesInput: multiply), layer: options.values["layer"])
        })

        let paths: [(LayerPathGradients.Variant, String, String, String)] = [
            (.internalInfluence, "Internal influence: the gradient at the layer integrated along the input-space path from the baseline",
             "R = Σ_k w_k ∂f_t/∂A (x0 + α_k (x − x0))", "Leino et al. 2018; Captum InternalInfluence"),
            (.conductance, "Layer conductance: the gradient at the layer times the layer's change along the input-space path",
             "R = Σ_{k<n} ∂f_t/∂A (x_k) ⊙ (A(x_{k+1}) − A(x_k)), x_k = x0 + α_k (x − x0), n + 1 points of the rule; Σ R ≈ f_t(x) − f_t(x0)",
             "Dhamdhere, Sundararajan & Yan 2018; Captum LayerConductance"),
        ]
        for (variant, summary, formula, reference) in paths {
            try registry.register(AnalyzerEntry(
                id: variant.rawValue, family: "layer", summary: summary, formula: formula, reference: reference, parameters: pathParameters
            ) { model, options, _ in
                let quadrature = try PathQuadrature.from(options, extra: variant == .conductance ? 1 : 0)
                return try LayerPathGradients(variant: variant, model: model, layer: options.values["layer"], baseline: try Baseline.from(options),
                                              quadrature: quadrature,
                                              batchSize: try options.int("batch_size", default: quadrature.alphas.count, range: 1...100_000))
            })
        }

        try registry.register(AnalyzerEntry(
            id: "layer_integrated_gradients", family: "layer",
            summary: "Integrated Gradients in a layer's space: the path runs from A(x0) to A(x), the rest of the network sees x",
            formula: "R = (A(x) − A(x0)) ⊙ Σ_k w_k ∂f_t/∂A |_(A(x0) + α_k (A(x) − A(x0))); Σ R ≈ f_t(x) − f_t(x; A ← A(x0))",
            reference: "Sundararajan, Taly & Yan 2017 at a layer; Captum LayerIntegratedGradients", parameters: pathParameters
        ) { model, options, _ in
            let quadrature = try PathQuadrature.from(options)
            return try LayerIntegratedGradients(model: model, layer: options.values["layer"], baseline: try Baseline.from(options),
                                                quadrature: quadrature,
                                                batchSize: try options.int("batch_size", default: quadrature.alphas.count, range: 1...100_000))
        })

        try registry.register(AnalyzerEntry(
            id: "layer_deeplift", family: "layer", summary: "DeepLIFT's multipliers at a layer times the layer's difference to the baseline's",
            formula: "R = m_A ⊙ (A(x) − A(x0)), m_A = DeepLIFT multiplier of f_t at A (Rescale after the layer); Σ R = f_t(x) − f_t(x0)",
            reference: "Shrikumar, Greenside & Kundaje 2017 at a layer; Captum LayerDeepLift",
            parameters: [LayerChoice.parameter, Parameter("base", default: "deeplift", "the DeepLIFT analyzer whose options (baseline, rule, maxpool, eps) apply")],
            wrapping: "base"
        ) { model, options, registry in
            let baseID = options.string("base", default: "deeplift")
            let base = try backprop(baseID, model: model, options: try registry.analyzer("layer_deeplift").foreignOptions(options),
                                    registry: registry, wrapper: "layer_deeplift")
            return try LayerBackprop(id: "layer_deeplift", base: base, layer: options.values["layer"])
        })

        try registry.register(AnalyzerEntry(
            id: "layer_lrp", family: "layer", summary: "The relevance an LRP method (or any single backward pass) assigns to a layer's neurons",
            formula: "R = relevance at A of the base method (conservation: Σ R = f_t(x) up to absorbed bias and ε terms)",
            reference: "Bach et al. 2015 at a layer; Captum LayerLRP, zennit (relevance at an intermediate layer)",
            parameters: [LayerChoice.parameter, Parameter("base", default: "lrp.epsilon", "the LRP method (any lrp.* id, or another backward-pass method); its options apply")],
            wrapping: "base"
        ) { model, options, registry in
            let baseID = options.string("base", default: "lrp.epsilon")
            let base = try backprop(baseID, model: model, options: try registry.analyzer("layer_lrp").foreignOptions(options),
                                    registry: registry, wrapper: "layer_lrp")
            return try LayerBackprop(id: "layer_lrp", base: base, layer: options.values["layer"])
        })

        try registry.register(AnalyzerEntry(
            id: "layer_feature_ablation", family: "layer",
            summary: "The drop of the target output when one neuron (or channel) of the layer is set to a value",
            formula: "R_j = f_t(x) − f_t(x with A_j ← b); per channel: every element of channel c gets f_t(x) − f_t(x with A_c ← b)",
            reference: "Captum LayerFeatureAblation",
            parameters: [LayerChoice.parameter,
                         Parameter("baseline", default: "0", "the value an ablated neuron takes (Captum layer_baselines)"),
                         Parameter("per", default: "neuron", "what one ablation removes: neuron or channel (Captum layer_mask by channel)"),
                         Parameter("batch_size", default: "64", "ablated copies per forward batch (only the network after the layer runs)")]
        ) { model, options, _ in
            try LayerFeatureAblation(model: model, layer: options.values["layer"], unit: try unit(options),
                                     value: Float(try options.double("baseline", default: 0)),
                                     batchSize: try options.int("batch_size", default: 64, range: 1...100_000))
        })
        try registry.register(AnalyzerEntry(
            id: "layer_feature_permutation", family: "layer",
            summary: "The drop of the target output when one neuron (or channel) of the layer takes another sample's values (the batch permuted)",
            formula: "R_j(s) = f_t(x_s) − f_t(x_s with A_j ← A_j(x_π_j(s))), π_j a random non-identity permutation of the batch per unit",
            reference: "Fisher, Rudin & Dominici 2019 (permutation importance); Captum LayerFeaturePermutation",
            parameters: [LayerChoice.parameter,
                         Parameter("per", default: "neuron", "what one permutation moves: neuron or channel (Captum layer_mask by channel)"),
                         Parameter("seed", default: "0", "random seed of the permutations (same seed, same result)"),
                         BatchPermutation.parameter,
                         Parameter("batch_size", default: "64", "permuted copies per forward batch (only the network after the layer runs)")]
        ) { model, options, _ in
            try LayerFeatureAblation(model: model, layer: options.values["layer"], unit: try unit(options),
                                     batchSize: try options.int("batch_size", default: 64, range: 1...100_000),
                                     permutationSeed: UInt64(try options.int("seed", default: 0, range: 0...Int.max)),
                                     torchDraws: try RandomDraws.from(options, allowed: [.explainkit, .torch]) == .torch)
        })

        try registry.register(AnalyzerEntry(
            id: "neuron_conductance", family: "layer",
            summary: "How each input feature drives the target output through one neuron of a layer (input-shaped)",
            formula: "R = (x − x0) ⊙ Σ_k w_k ∂f_t/∂y_n (x_k) · ∂y_n/∂x (x_k), x_k = x0 + α_k (x − x0); Σ over a layer's neurons = Integrated Gradients",
            reference: "Dhamdhere, Sundararajan & Yan 2018; Captum NeuronConductance",
            parameters: [LayerChoice.parameter,
                         NeuronSelector.parameter, Baseline.parameter,
                         Parameter("steps", default: "50", "number of points on the path (Captum n_steps)"),
                         Parameter("method", default: "riemann_trapezoid", "quadrature (Captum's default here): "
                                   + PathQuadrature.Method.allCases.map(\.rawValue).joined(separator: ", ")),
                         Parameter("batch_size", default: "steps", "path points per batch")]
        ) { model, options, _ in
            var o = options
            if o.values["method"] == nil { o.values["method"] = PathQuadrature.Method.riemannTrapezoid.rawValue }
            let quadrature = try PathQuadrature.from(o)
            return try NeuronConductance(model: model, layer: options.values["layer"], neuron: try NeuronSelector(options.string("neuron", default: "max")),
                                         baseline: try Baseline.from(options), quadrature: quadrature,
                                         batchSize: try options.int("batch_size", default: quadrature.alphas.count, range: 1...100_000))
        })

        try registry.register(AnalyzerEntry(
            id: "layer_deeplift_shap", family: "layer", summary: "Layer DeepLIFT averaged over a set of baselines",
            formula: "R = mean_j m_A^(j) ⊙ (A(x) − A(x0_j)); Σ R = f_t(x) − mean_j f_t(x0_j) where every path crosses the layer",
            reference: "Lundberg & Lee 2017 at a layer; Captum LayerDeepLiftShap",
            parameters: [LayerChoice.parameter, BaselineSet.parameter,
                         Parameter("base", default: "deeplift", "the DeepLIFT analyzer whose options (rule, maxpool, eps) apply; its baseline is replaced by each of the set's"),
                         Parameter("batch_size", default: "16", "baselines per batch")],
            wrapping: "base"
        ) { model, options, registry in
            let baseID = options.string("base", default: "deeplift")
            let own = try registry.analyzer("layer_deeplift_shap")
            let base = try backprop(baseID, model: model, options: own.foreignOptions(options), registry: registry, wrapper: "layer_deeplift_shap")
            let o = options
            return try LayerDeepLiftShap(deeplift: base, layer: options.values["layer"], baselines: { try BaselineSet(from: o, like: $0) },
                                         batchSize: try options.int("batch_size", default: 16, range: 1...100_000))
        })

        try registry.register(AnalyzerEntry(
            id: "layer_gradient_shap", family: "layer",
            summary: "GradientSHAP at a layer: the layer's difference to a random baseline's times the gradient at a random point between them",
            formula: "R = mean_k (A(x + ε_k) − A(x0_k)) ⊙ ∂f_t/∂A (x0_k + α_k (x + ε_k − x0_k)), x0_k from the baselines, α_k ~ U(0,1), ε_k ~ N(0, stdev²)",
            reference: "Lundberg & Lee 2017 at a layer; Captum LayerGradientShap",
            parameters: [LayerChoice.parameter, BaselineSet.parameter,
                         Parameter("samples", default: "5", "random draws per input (Captum n_samples)"),
                         Parameter("stdev", default: "0", "standard deviation of the noise added to the input"),
                         Parameter("seed", default: "0", "random seed (same seed, same result)"), ShapDraws.rngParameter,
                         Parameter("batch_size", default: "16", "draws per batch")]
        ) { model, options, _ in
            let o = options
            return try LayerGradientShap(model: model, layer: options.values["layer"], baselines: { try BaselineSet(from: o, like: $0) },
                                         samples: try options.int("samples", default: 5, range: 1...1_000_000),
                                         stdev: try options.double("stdev", default: 0, range: 0...1e6),
                                         seed: UInt64(try options.int("seed", default: 0, range: 0...Int.max)),
                                         batchSize: try options.int("batch_size", default: 16, range: 1...100_000),
                                         captumDraws: try RandomDraws.from(options, allowed: [.explainkit, .captum]) == .captum)
        })

        // Fixture cases (Tests/Fixtures/layer, made by Tools/make_layer_fixtures.py with Captum).
        @Sendable func layerOption(_ c: FixtureCase) -> Options? {
            (c.params["onnx_tensor"]?.string ?? c.params["onnx_node"]?.string).map { Options(["layer": $0]) }
        }
        @Sendable func pathOptions(_ c: FixtureCase) -> Options? {
            guard var o = layerOption(c), let method = c.params["method"]?.string, let steps = c.params["n_steps"]?.number else { return nil }
            o.values["method"] = method
            o.values["steps"] = steps.integerText
            if let b = c.params["baseline"]?.number { o.values["baseline"] = "\(b)" }
            return o
        }
        try registry.register(CaseTranslator(method: "LayerActivation") { c in layerOption(c).map { ("layer_activation", $0) } })
        try registry.register(CaseTranslator(method: "LayerGradientXActivation") { c in
            guard var o = layerOption(c) else { return nil }
            o.values["multiply"] = "\(c.params["multiply_by_inputs"]?.bool != false)"
            return ("layer_gradient_x_activation", o)
        })
        try registry.register(CaseTranslator(method: "InternalInfluence") { c in pathOptions(c).map { ("internal_influence", $0) } })
        try registry.register(CaseTranslator(method: "LayerConductance") { c in pathOptions(c).map { ("layer_conductance", $0) } })
        try registry.register(CaseTranslator(method: "LayerIntegratedGradients") { c in pathOptions(c).map { ("layer_integrated_gradients", $0) } })
        try registry.register(CaseTranslator(method: "LayerDeepLift") { c in
            guard c.params["multiply_by_inputs"]?.bool != false, var o = layerOption(c) else { return nil }
            if let b = c.params["baseline"]?.number { o.values["baseline"] = "\(b)" }
            return ("layer_deeplift", o)
        })
        try registry.register(CaseTranslator(method: "LayerFeatureAblation") { c in
            guard var o = layerOption(c), let per = c.params["per"]?.string else { return nil }
            o.values["per"] = per
            if let b = c.params["layer_baselines"]?.number { o.values["baseline"] = "\(b)" }
            return ("layer_feature_ablation", o)
        })
        try registry.register(CaseTranslator(method: "LayerFeaturePermutation") { c in
            guard var o = layerOption(c), let per = c.params["per"]?.string else { return nil }
            o.values["per"] = per
            o.values["rng"] = c.params["rng"]?.string ?? "explainkit"
            if let seed = c.params["seed"]?.number { o.values["seed"] = seed.integerText }
            return ("layer_feature_permutation", o)
        })
        try registry.register(CaseTranslator(method: "NeuronConductance") { c in
            guard var o = pathOptions(c), let index = c.params["neuron_index"]?.number else { return nil }
            o.values["neuron"] = index.integerText
            return ("neuron_conductance", o)
        })
        try registerNeuronMethods(into: &registry)
        try registry.register(CaseTranslator(method: "LayerGradientShap+captum") { c in
            guard var o = layerOption(c), let file = c.params["baselines"]?.string, let k = c.params["n_samples"]?.number,
                  let stdev = c.params["stdevs"]?.number, let seed = c.params["seed"]?.number else { return nil }
            o.values.merge(["baselines": "file:" + file, "samples": k.integerText, "stdev": "\(stdev)", "seed": seed.integerText, "rng": "captum"]) { $1 }
            return ("layer_gradient_shap", o)
        })
        try registry.register(CaseTranslator(method: "LayerDeepLiftShap") { c in
            guard var o = layerOption(c), let file = c.params["baselines"]?.string else { return nil }
            o.values["baselines"] = "file:" + file
            return ("layer_deeplift_shap", o)
        })
        try registry.register(CaseTranslator(method: "LayerLRP") { c in
            guard c.params["rule"]?.string == "EpsilonRule", var o = layerOption(c) else { return nil }
            o.values["base"] = "lrp.epsilon"
            if let e = c.params["epsilon"]?.number { o.values["epsilon"] = "\(e)" }
            return ("layer_lrp", o)
        })
    }
}
