/// What a backward pass delivers at an inner value (a layer's output) instead of the input: the
/// basis of layer attributions (Captum's `Layer*` methods).
public struct LayerPass: Sendable {
    /// The gradient, multiplier (DeepLIFT) or relevance (LRP) arriving at the layer, batch first.
    public var cotangent: Tensor
    /// The layer's value on the input, `A(x)`.
    public var activation: Tensor
    /// The layer's value on the analyzer's baseline, `A(x0)` (nil without a baseline).
    public var referenceActivation: Tensor?
    /// The explained output.
    public var output: Tensor
    /// The explained output on the baseline, `f(x0)` (nil without a baseline).
    public var referenceOutput: Tensor?
    /// The seed the pass started from (output-shaped).
    public var seed: Tensor
    /// The explained index per sample (nil for `Target.all` or a seed).
    public var targets: [Int]?
}

extension BackpropAnalyzer {
    /// Runs this analyzer's backward pass (its bound rules, seed and baseline) from the explained
    /// output down to `layer` only, and returns what arrives there with the layer's values.
    /// The whole batch runs at once (no chunking).
    public func layerPass(_ input: Tensor, target: Target, layer: ValueID) throws -> LayerPass {
        try input.requireFinite("the input")
        let g = model.graph
        guard g.valueNames.indices.contains(layer) else { throw ExplainError.argument("layer value \(layer) is not in the graph") }
        guard !g.inputs.contains(layer) else {
            throw ExplainError.argument("'\(g.valueNames[layer])' is the model's input: use the input attribution method itself")
        }
        guard g.nodesNeeded(for: [model.output]).contains(where: { g.nodes[$0].output == layer }) else {
            throw ExplainError.argument("the explained output does not depend on '\(g.valueNames[layer])': choose a layer before it")
        }
        let x0 = try baseline?.batch(like: input)
        // The reference pass (cached for a shared baseline) also keeps the layer's value.
        let references = try x0.map { x0 in
            try referenceCache.activations(for: x0) { try g.forward([x0], outputs: [model.output, layer], retain: .values(bound.referenceValues)) }
        }
        let referenceActivation = try x0.map { x0 in
            try references.flatMap { try? $0.value(layer) } ?? BatchChunks.predict(g, x0, output: layer)
        }
        var acts = try g.forward([input], outputs: [model.output, layer], retain: .backward(reads: bound.reads))
        let output = try acts.value(model.output), activation = try acts.value(layer)
        let (seed, picked) = try target.seed(for: output, value: seedValue)
        let result = try bound.backward(&acts, seeds: [model.output: seed], to: [layer], checkFinite: false, references: references)
        return LayerPass(cotangent: result.inputs[0], activation: activation, referenceActivation: referenceActivation,
                         output: output, referenceOutput: try references?.value(model.output), seed: seed, targets: picked)
    }
}
