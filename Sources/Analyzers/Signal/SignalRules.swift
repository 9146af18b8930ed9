import ExplainCore

/// Guided backpropagation at a Relu: `R_in = max(0, R_out) · 1[z > 0]` — the gradient mask of the
/// forward pass and the deconvnet's positive part together (Springenberg et al. 2015).
public struct GuidedBackpropRule: Rule {
    public init() {}
    public var description: String { "guided_backprop" }
    /// `1[z > 0]` is where the Relu's output `max(z, 0)` is > 0: the rule reads the output, as a mask.
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, true) }
    public func readsOutputAsMask(_ layer: any Layer) -> Bool { true }
    public func accepts(_ layer: any Layer) -> Bool { layer.kind == .relu }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard incoming.shape == site.output.shape else {
            throw ExplainError.shape("guided_backprop: relevance \(Shape.format(incoming.shape)) does not match the output \(Shape.format(site.output.shape))")
        }
        let mask = site.outputMask
        var r = Tensor(shape: incoming.shape) { out in
            incoming.withUnsafeBufferPointer { pg in
                guard mask == nil else {
                    Kernels.positivePart(pg.baseAddress!, maskedBy: nil, into: out.baseAddress!, count: out.count)
                    return
                }
                site.output.withUnsafeBufferPointer { py in
                    Kernels.positivePart(pg.baseAddress!, maskedBy: py.baseAddress!, into: out.baseAddress!, count: out.count)
                }
            }
        }
        try mask?.keep(&r)   // the Relu kept as its mask
        return [r]
    }
}

/// Deconvnet at a Relu: `R_in = max(0, R_out)`, ignoring the forward mask (Zeiler & Fergus 2014).
public struct DeconvnetRule: Rule {
    public init() {}
    public var description: String { "deconvnet" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, false) }
    public func accepts(_ layer: any Layer) -> Bool { layer.kind == .relu }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        [Tensor(shape: incoming.shape) { out in
            incoming.withUnsafeBufferPointer { pg in
                Kernels.positivePart(pg.baseAddress!, maskedBy: nil, into: out.baseAddress!, count: out.count)
            }
        }]
    }
}

/// Registers the signal family: `guided_backprop`, `deconvnet` (analyzers, rules and presets),
/// `pattern_net` and `pattern_attribution` (patterns estimated from data).
public enum SignalPlugin: Plugin {
    public static let guidedBackprop = Preset("guided_backprop") { when(.kind(.relu), use: GuidedBackpropRule()) }
    public static let deconvnet = Preset("deconvnet") { when(.kind(.relu), use: DeconvnetRule()) }

    /// A `PatternRule` at every node that has a pattern.
    public static func patternPreset(_ patterns: Patterns, attribution: Bool) -> Preset {
        Preset(attribution ? "pattern_attribution" : "pattern_net",
               entries: patterns.byNode.sorted { $0.key < $1.key }.map { Preset.Entry(.name($0.key), PatternRule(pattern: $0.value, attribution: attribution)) })
    }

    public static func register(into registry: inout Registry) throws {
        try registry.register(AnalyzerEntry(
            id: "guided_backprop", family: "signal", summary: "Guided backpropagation: gradient with only positive signals passed back through Relu",
            formula: "at every Relu: R_in = max(0, R_out) · 1[z > 0]; other layers: plain gradient",
            reference: "Springenberg et al. 2015; iNNvestigate GuidedBackprop, Captum GuidedBackprop"
        ) { model, _, _ in try BackpropAnalyzer(id: "guided_backprop", model: model, preset: guidedBackprop) })
        try registry.register(AnalyzerEntry(
            id: "deconvnet", family: "signal", summary: "Deconvnet: positive signals passed back through Relu, without the forward mask",
            formula: "at every Relu: R_in = max(0, R_out); other layers: plain gradient",
            reference: "Zeiler & Fergus 2014; iNNvestigate Deconvnet, Captum Deconvolution"
        ) { model, _, _ in try BackpropAnalyzer(id: "deconvnet", model: model, preset: deconvnet) })

        for attribution in [false, true] {
            let id = attribution ? "pattern_attribution" : "pattern_net"
            try registry.register(AnalyzerEntry(
                id: id, family: "signal",
                summary: attribution ? "PatternAttribution: the contribution of the signal, with W ⊙ A in the backward pass"
                                     : "PatternNet: the signal projected back along patterns estimated from data",
                formula: (attribution ? "at every Conv/Dense: R_in = (W ⊙ A)ᵀ R_out" : "at every Conv/Dense: R_in = Aᵀ R_out")
                    + "; A_j = cov_j / (w_jᵀ cov_j), cov_j = E[x y_j] − E[x]E[y_j] over data (relu: where y_j > 0); Relu, pooling: gradient; seed: the target output",
                reference: "Kindermans et al. 2018; iNNvestigate \(attribution ? "PatternAttribution" : "PatternNet")",
                parameters: [Parameter("data", default: "(required)", "file:X.npy: inputs (e.g. training samples) to estimate the patterns from"),
                             Parameter("estimator", default: "relu", "relu (two-component: samples with y > 0) or linear (all samples)"),
                             Parameter("batch_size", default: "64", "data samples per forward batch")]
            ) { model, options, _ in
                guard let data = try options.tensor("data") else {
                    throw ExplainError(.invalidArgument, "\(id) estimates its patterns from data: give --set data=file:X.npy (inputs shaped like the model's)")
                }
                let name = options.string("estimator", default: "relu")
                guard let estimator = Patterns.Estimator(rawValue: name) else {
                    throw ExplainError(.invalidArgument, "estimator = '\(name)': use relu or linear")
                }
                let patterns = try Patterns(model: model, data: data, estimator: estimator, batchSize: try options.int("batch_size", default: 64, range: 1...100_000))
                var analyzer = try BackpropAnalyzer(id: id, model: model, preset: patternPreset(patterns, attribution: attribution), seedValue: .outputValue)
                analyzer.reportsConservation = false   // the signal is not a conserved quantity
                return analyzer
            })
        }

        try registry.register(RuleEntry(id: "guided_backprop", summary: "Relu: max(0, R) · 1[z > 0]", arguments: []) { _ in GuidedBackpropRule() })
        try registry.register(RuleEntry(id: "deconvnet", summary: "Relu: max(0, R)", arguments: []) { _ in DeconvnetRule() })
        try registry.register(PresetEntry(id: "guided_backprop", summary: "GuidedBackpropRule on every Relu") { _ in guidedBackprop })
        try registry.register(PresetEntry(id: "deconvnet", summary: "DeconvnetRule on every Relu") { _ in deconvnet })

        try registry.register(alias: "deconvolution", for: "deconvnet")   // Captum's name
        try registry.register(alias: "pattern.net", for: "pattern_net")   // iNNvestigate's names
        try registry.register(alias: "pattern.attribution", for: "pattern_attribution")
        try registry.register(CaseTranslator(method: "GuidedBackprop") { _ in ("guided_backprop", Options()) })
        try registry.register(CaseTranslator(method: "Deconvolution") { _ in ("deconvnet", Options()) })
    }
}
