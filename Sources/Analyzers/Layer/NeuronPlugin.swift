import ExplainCore

extension LayerPlugin {
    /// Captum's neuron methods: (id, base analyzer id, Captum class).
    static let neuronMethods: [(id: String, base: String, captum: String)] = [
        ("neuron_gradient", "gradient", "NeuronGradient"),
        ("neuron_integrated_gradients", "integrated_gradients", "NeuronIntegratedGradients"),
        ("neuron_deeplift", "deeplift", "NeuronDeepLift"),
        ("neuron_deeplift_shap", "deeplift_shap", "NeuronDeepLiftShap"),
        ("neuron_gradient_shap", "gradient_shap", "NeuronGradientShap"),
        ("neuron_guided_backprop", "guided_backprop", "NeuronGuidedBackprop"),
        ("neuron_deconvolution", "deconvnet", "NeuronDeconvolution"),
        ("neuron_feature_ablation", "feature_ablation", "NeuronFeatureAblation"),
    ]

    static let neuronLayerParameter = Parameter("layer", default: "last hidden",
        "node or value holding the neuron (default: the last feature map, else the input of the last Dense)")

    /// Registers `neuron` (any input method from one neuron, `base=ID`), the Captum-named neuron
    /// methods (their base fixed; its parameters are theirs), and fixture translators for Captum's
    /// `Neuron*` cases (the base method's translator, with the case's neuron). Runs after the
    /// families whose methods serve as bases.
    static func registerNeuronMethods(into registry: inout Registry) throws {
        let own = [neuronLayerParameter, NeuronSelector.parameter]
        @Sendable func make(_ id: String, base: String, _ model: ExplainableModel, _ options: Options, _ registry: Registry) throws -> any Analyzer {
            let keys: Set<String> = ["layer", "neuron", "base"]
            return try NeuronAttribution(id: id, model: model, layer: options.values["layer"],
                                         neuron: try NeuronSelector(options.string("neuron", default: "max")), base: base,
                                         baseOptions: options.filter { !keys.contains($0) }, registry: registry)
        }
        try registry.register(AnalyzerEntry(
            id: "neuron", family: "layer", summary: "Any input method run from one neuron of an inner layer instead of the target output",
            formula: "R = base(∂y_n/∂x): the base method with the neuron y_n of the layer as the explained output",
            reference: "Captum Neuron* attributions",
            parameters: own + [Parameter("base", default: "gradient", "the input method (an analyzer id)")], wrapping: "base"
        ) { model, options, registry in try make("neuron", base: options.string("base", default: "gradient"), model, options, registry) })

        for (id, base, captum) in neuronMethods {
            let entry = try registry.analyzer(base)
            try registry.register(AnalyzerEntry(
                id: id, family: "layer", summary: "\(captum): \(base) from one neuron of an inner layer (input-shaped)",
                formula: "\(entry.formula) — with f_t the neuron y_n of the layer (explained instead of the target output)",
                reference: "Captum \(captum); \(entry.reference)", parameters: own + entry.parameters
            ) { model, options, registry in try make(id, base: base, model, options, registry) })
            // Captum's Neuron* case: the base method's translation, with the case's neuron.
            guard let translator = registry.translators[String(captum.dropFirst("Neuron".count))] else { continue }
            // Without a neuron the base's translation is left to the runner (which names what is missing).
            try registry.register(CaseTranslator(method: captum) { c in
                guard let (baseID, baseOptions) = try translator.translate(c) else { return nil }
                let selector = c.params["neuron_selector"]?.array?.compactMap(\.number).map { $0.integerText }.joined(separator: ",")
                guard let node = c.params["neuron_node"]?.string,
                      let neuron = selector.flatMap({ $0.isEmpty ? nil : $0 }) ?? c.params["neuron_index"]?.number.map({ $0.integerText })
                else { return (baseID, baseOptions) }
                var o = baseOptions
                o.values["layer"] = node
                o.values["neuron"] = neuron
                return (id, o)
            })
        }
    }
}
