import ExplainCore

/// A backward-pass method's result at a layer instead of the input (Captum's
/// `LayerGradientXActivation`, `LayerDeepLift`, `LayerLRP`): the gradient, multiplier or relevance
/// `C` arriving at the layer's output `A`. When the wrapped method multiplies by its input
/// (Input × Gradient, DeepLIFT), the layer's value takes the input's place: `C ⊙ A(x)`, or
/// `C ⊙ (A(x) − A(x0))` with a baseline. The result is shaped like the layer.
public struct LayerBackprop: Analyzer {
    public let id: String
    public let base: BackpropAnalyzer
    public let layer: LayerChoice

    public init(id: String, base: BackpropAnalyzer, layer: String?) throws {
        self.id = id
        self.base = base
        self.layer = try LayerChoice(layer, in: base.model)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let v = try layer.value(in: base.model, inputShape: input.shape)
        let pass = try base.layerPass(input, target: target, layer: v)
        var values = pass.cotangent
        if base.timesInput {
            let difference = try pass.referenceActivation.map { try pass.activation.minus(baseline: $0) } ?? pass.activation
            values = try Tensor.broadcasting(values, difference, MultiplyFunction.self)
        }
        var attribution = Attribution(values: values, output: pass.output, targets: pass.targets,
                                      diagnostics: base.notes + layer.note(v, in: base.model))
        if let reference = pass.referenceOutput {
            // Completeness: Σ R − Σ seed ⊙ (f(x) − f(x0)).
            let change = try Tensor.broadcasting(pass.seed, try pass.output.minus(baseline: reference), MultiplyFunction.self)
            attribution.delta = zip(attribution.sums, change.sampleSums).map { $0 - $1 }
        } else if base.reportsConservation {
            attribution.delta = zip(attribution.sums, pass.seed.sampleSums).map { $0 - $1 }
        }
        return attribution
    }
}

/// The layer's output itself, `A(x)` (Captum's `LayerActivation`); independent of the target.
public struct LayerActivation: Analyzer {
    public let id = "layer_activation"
    public let model: ExplainableModel
    public let layer: LayerChoice

    public init(model: ExplainableModel, layer: String?) throws {
        self.model = model
        self.layer = try LayerChoice(layer, in: model)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        try input.requireFinite("the input")
        let v = try layer.value(in: model, inputShape: input.shape)
        let acts = try model.graph.forward([input], outputs: [model.output, v])
        let output = try acts.value(model.output)
        return Attribution(values: try acts.value(v), output: output, targets: try target.indices(for: output),
                           diagnostics: layer.note(v, in: model))
    }
}
