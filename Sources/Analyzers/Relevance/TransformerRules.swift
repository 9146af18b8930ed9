import ExplainCore

// Rules of AttnLRP (Achtibat et al. 2024) and CP-LRP (Ali et al. 2022) in the gradient × input form
// in which LXT computes them: the backward pass carries a modified gradient g, and the relevance of
// a value x is x ⊙ g. Between these nodes the plain gradient is LRP-0 with the bias absorbing its
// share, so these rules are bound in presets of their own (`attnlrp`, `cp_lrp`), not mixed with
// the relevance-propagating rules of the other LRP presets.

/// AttnLRP's identity rule at an element-wise activation: `g_in = g_out · f(x) / (x + 10⁻¹⁰)`,
/// so that `x · g_in = f(x) · g_out`: the activation passes its relevance on unchanged.
public struct IdentityGradientRule: Rule {
    /// LXT's stabiliser of the ratio `f(x) / x`.
    public static let stabiliser: Float = 1e-10
    public init() {}
    public var description: String { "identity (gradient × input form)" }
    public func accepts(_ layer: any Layer) -> Bool { layer is any ElementwiseActivation }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let x = site.inputs[0], y = site.output
        return [Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in incoming.withUnsafeBufferPointer { pg in
                for i in 0..<out.count {
                    let d = px[i] + Self.stabiliser
                    out[i] = d == 0 ? 0 : pg[i] * (py[i] / d)
                }
            } } }
        }]
    }
}

/// Layer normalisation with the deviation held constant (AttnLRP's and CP-LRP's rule for
/// normalisations; LXT detaches σ): `g_in = (γ ⊙ g − mean(γ ⊙ g)) / σ` per normalised row.
public struct DetachedDeviationRule: Rule {
    public init() {}
    public var description: String { "layer_norm with σ held constant" }
    public func accepts(_ layer: any Layer) -> Bool { layer is LayerNorm }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, false) }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let norm = site.node.layer as? LayerNorm else {
            throw ExplainError(.invalidArgument, "the rule needs a LayerNorm", node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        return try norm.pullback(inputs: site.inputs, output: site.output, cotangent: incoming, holdingDeviation: true)
    }
}

/// No gradient passes (CP-LRP at the attention softmax: the attention weights act as constants,
/// so relevance reaches the tokens through the values only).
public struct StopGradientRule: Rule {
    public init() {}
    public var description: String { "stop_gradient" }
    public func accepts(_ layer: any Layer) -> Bool { true }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, false) }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        site.inputs.map { Tensor(shape: $0.shape) }
    }
}

/// AttnLRP's uniform rule at a product of two runtime values (attention's `Q·Kᵀ` and `A·V`, a
/// gated product): each factor's gradient halved, so that the product's relevance splits equally
/// (`x·g_x + y·g_y = 2 · xy · g` for a bilinear product). A product with a constant is linear: plain gradient.
public struct UniformProductRule: Rule {
    public init() {}
    public var description: String { "uniform (halved for products of two runtime values)" }
    public func accepts(_ layer: any Layer) -> Bool {
        layer is MatMul || (layer as? Binary)?.operation == .mul
    }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let plain = try site.node.layer.pullback(inputs: site.inputs, output: site.output, cotangent: incoming)
        guard site.node.layer.arity == 2 else { return plain }
        return plain.map { g in
            var h = g
            h.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= 0.5 } }
            return h
        }
    }
}

extension RelevancePlugin {
    /// Element-wise activations other than Relu (where the identity rule is the gradient) and Sqrt
    /// (a step of a normalisation written out, not an activation).
    static let transformerActivations: Matcher = .activation && !.kind(.relu) && !.kind(.sqrt)

    /// CP-LRP as LXT applies it to torchvision's ViT: identity at activations, σ held constant in
    /// layer norms, no gradient through the attention softmax; × input.
    public static let cpLRP = Preset("cp_lrp") {
        when(transformerActivations, use: IdentityGradientRule())
        when(.kind(.layerNorm), use: DetachedDeviationRule())
        when(.kind(.softmax), use: StopGradientRule())
    }

    /// AttnLRP: identity at activations, σ held constant in layer norms, the uniform rule at
    /// products of two runtime values; the softmax keeps its gradient (its Taylor rule in this form); × input.
    public static let attnLRP = Preset("attnlrp") {
        when(transformerActivations, use: IdentityGradientRule())
        when(.kind(.layerNorm), use: DetachedDeviationRule())
        when(.kind(.matmul) || .kind(.mul), use: UniformProductRule())
    }
}

extension RelevancePlugin {
    static func registerTransformerMethods(into registry: inout Registry) throws {
        let common = "activations: identity; LayerNorm: σ held constant; Conv/Dense/MatMul with weights, Add: gradient (LRP-0, biases absorb their share); R = x ⊙ g at the input"
        try registry.register(AnalyzerEntry(
            id: "attnlrp", family: "relevance", summary: "AttnLRP for transformers: identity rule at activations, uniform rule at attention products, σ held constant in LayerNorm",
            formula: "products of two activations (Q·Kᵀ, A·V): each factor's gradient halved; softmax: gradient; " + common,
            reference: "Achtibat et al. 2024 (AttnLRP, ICML); LXT (LRP eXplains Transformers)"
        ) { model, _, _ in try BackpropAnalyzer(id: "attnlrp", model: model, preset: attnLRP, timesInput: true) })
        try registry.register(AnalyzerEntry(
            id: "cp_lrp", family: "relevance", summary: "CP-LRP for transformers: attention weights held constant, identity rule at activations, σ held constant in LayerNorm",
            formula: "softmax: no gradient (relevance flows through the values only); " + common,
            reference: "Ali et al. 2022 (XAI for Transformers: conservative propagation, ICML); LXT's default for torchvision ViT"
        ) { model, _, _ in try BackpropAnalyzer(id: "cp_lrp", model: model, preset: cpLRP, timesInput: true) })
        // At the input, or (params.onnx_tensor: a text model's embedding) at a layer through layer_lrp.
        for (method, id) in [("LXT AttnLRP", "attnlrp"), ("LXT CP-LRP", "cp_lrp")] {
            try registry.register(CaseTranslator(method: method) { c in
                guard let layer = c.params["onnx_tensor"]?.string else { return (id, Options()) }
                return ("layer_lrp", Options(["base": id, "layer": layer]))
            })
        }
    }
}
