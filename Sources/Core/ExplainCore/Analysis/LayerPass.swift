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

extension LayerPass {
    /// The passes of consecutive single samples as one batch.
    static func joining(_ parts: [LayerPass], layer: String) throws -> LayerPass {
        guard let first = parts.first else { throw ExplainError.argument("no layer passes to join") }
        guard parts.allSatisfy({ $0.activation.shape.first == 1 && $0.cotangent.shape.first == 1 }) else {
            throw ExplainError.shape("the model was exported with a fixed batch size of 1 and the value of '\(layer)' does not lead with the "
                                     + "batch (shape \(Shape.format(first.activation.shape))): choose another layer, or re-export the model "
                                     + "with dynamic_axes")
        }
        func join(_ pick: (LayerPass) -> Tensor?) throws -> Tensor? {
            let pieces = parts.compactMap(pick)
            return pieces.count == parts.count ? try Tensor.concatenateBatches(pieces) : nil
        }
        return LayerPass(cotangent: try Tensor.concatenateBatches(parts.map(\.cotangent)),
                         activation: try Tensor.concatenateBatches(parts.map(\.activation)),
                         referenceActivation: try join(\.referenceActivation),
                         output: try Tensor.concatenateBatches(parts.map(\.output)),
                         referenceOutput: try join(\.referenceOutput),
                         seed: try Tensor.concatenateBatches(parts.map(\.seed)),
                         targets: parts.allSatisfy({ $0.targets != nil }) ? parts.flatMap { $0.targets ?? [] } : nil)
    }
}

extension BackpropAnalyzer {
    /// Runs this analyzer's backward pass (its bound rules, seed and baseline) from the explained
    /// output down to `layer` only, and returns what arrives there with the layer's values.
    /// The whole batch runs at once (no chunking), except on a graph fixed at batch size 1
    /// (`Graph.runsOneSampleAtATime`), where each sample runs alone and the parts are joined (the
    /// layer's value must then lead with the batch).
    public func layerPass(_ input: Tensor, target: Target, layer: ValueID) throws -> LayerPass {
        try input.requireFinite("the input")
        let g = model.graph
        if g.runsOneSampleAtATime, input.rank >= 1, input.shape[0] > 1 {
            let n = input.shape[0]
            return try LayerPass.joining(try (0..<n).map { s in
                try layerPass(try input.sample(s), target: try target.samples(s..<(s + 1), of: n), layer: layer)
            }, layer: g.valueNames[layer])
        }
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
        var acts = try g.forward([input], outputs: [model.output, layer], retain: bound.retention)
        let output = try acts.value(model.output), activation = try acts.value(layer)
        let (seed, picked) = try target.seed(for: output, value: seedValue)
        let result = try bound.backward(&acts, seeds: [model.output: seed], to: [layer], checkFinite: false, references: references)
        return LayerPass(cotangent: result.inputs[0], activation: activation, referenceActivation: referenceActivation,
                         output: output, referenceOutput: try references?.value(model.output), seed: seed, targets: picked)
    }
}
