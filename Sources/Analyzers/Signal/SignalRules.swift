import ExplainCore

/// Guided backpropagation at a Relu: `R_in = max(0, R_out) · 1[z > 0]` — the gradient mask of the
/// forward pass and the deconvnet's positive part together (Springenberg et al. 2015).
public struct GuidedBackpropRule: Rule {
    public init() {}
    public var description: String { "guided_backprop" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, false) }
    public func accepts(_ layer: any Layer) -> Bool { layer.kind == .relu }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let z = site.inputs[0]
        return [Tensor(shape: z.shape) { out in
            z.withUnsafeBufferPointer { pz in
                incoming.withUnsafeBufferPointer { pg in
                    Kernels.positivePart(pg.baseAddress!, maskedBy: pz.baseAddress!, into: out.baseAddress!, count: out.count)
                }
            }
        }]
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

/// Registers the signal family: `guided_backprop` and `deconvnet` (analyzers, rules and presets).
public enum SignalPlugin: Plugin {
    public static let guidedBackprop = Preset("guided_backprop") { when(.kind(.relu), use: GuidedBackpropRule()) }
    public static let deconvnet = Preset("deconvnet") { when(.kind(.relu), use: DeconvnetRule()) }

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

        try registry.register(RuleEntry(id: "guided_backprop", summary: "Relu: max(0, R) · 1[z > 0]", arguments: []) { _ in GuidedBackpropRule() })
        try registry.register(RuleEntry(id: "deconvnet", summary: "Relu: max(0, R)", arguments: []) { _ in DeconvnetRule() })
        try registry.register(PresetEntry(id: "guided_backprop", summary: "GuidedBackpropRule on every Relu") { _ in guidedBackprop })
        try registry.register(PresetEntry(id: "deconvnet", summary: "DeconvnetRule on every Relu") { _ in deconvnet })

        try registry.register(CaseTranslator(method: "GuidedBackprop") { _ in ("guided_backprop", Options()) })
        try registry.register(CaseTranslator(method: "Deconvolution") { _ in ("deconvnet", Options()) })
    }
}
