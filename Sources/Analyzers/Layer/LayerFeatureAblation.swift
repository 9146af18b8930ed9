import ExplainCore

/// Layer feature ablation (Captum's `LayerFeatureAblation`): each neuron (or each channel) of a
/// layer is set to a value in turn and the drop of the target output is its attribution,
/// `R_j = f_t(x) − f_t(x with A_j ← b)`; every element of an ablated channel gets the channel's
/// value. Only the network after the layer reruns (`Graph.forwardTail`), with every value it reads
/// from before the layer taken from `x`, in batches of `batchSize` ablated copies. The result is
/// shaped like the layer.
///
/// With a permutation seed it is Captum's `LayerFeaturePermutation` instead: the unit takes the
/// values another sample of the batch has there, by a random permutation of the batch drawn per
/// unit (never the identity; batches of at least 2), `R_j = f_t(x) − f_t(x with A_j ← A_j(x_π(s)))`.
public struct LayerFeatureAblation: SplitsItsOwnBatches {
    /// What one ablation removes.
    public enum Unit: String, Sendable, CaseIterable {
        case neuron, channel
    }

    public let id: String
    public let model: ExplainableModel
    public let layer: LayerChoice
    public let unit: Unit
    /// The value an ablated neuron takes (Captum `layer_baselines`).
    public let value: Float
    public let batchSize: Int
    /// Permute the unit across the batch (seeded) instead of setting it to `value`.
    public let permutationSeed: UInt64?
    /// Draw the permutations as torch does (`BatchPermutation`).
    public let torchDraws: Bool

    public init(model: ExplainableModel, layer: String?, unit: Unit = .neuron, value: Float = 0, batchSize: Int = 64,
                permutationSeed: UInt64? = nil, torchDraws: Bool = false) throws {
        self.torchDraws = torchDraws
        self.id = permutationSeed == nil ? "layer_feature_ablation" : "layer_feature_permutation"
        self.permutationSeed = permutationSeed
        self.model = model
        self.layer = try LayerChoice(layer, in: model)
        self.unit = unit
        self.value = value
        self.batchSize = max(1, batchSize)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        // The base passes the ablated copies rerun from: the batch's, or on a graph that runs one
        // sample at a time each sample's own (the permutation needs the whole batch's layer values).
        let v: ValueID, output: Tensor, a: Tensor, bases: [(Activations, Int)]
        if model.graph.runsOneSampleAtATime, input.rank >= 1, input.shape[0] > 1 {
            let parts = try (0..<input.shape[0]).map { try layer.inputPass(try input.sample($0), model: model, instead: "feature_ablation") }
            v = parts[0].0
            output = try Tensor.concatenateBatches(parts.map(\.2))
            a = try Tensor.concatenateBatches(parts.map(\.3))
            bases = parts.map { ($0.1, 0) }
        } else {
            let pass = try layer.inputPass(input, model: model, instead: "feature_ablation")
            (v, output, a) = (pass.0, pass.2, pass.3)
            bases = (0..<input.shape[0]).map { (pass.1, $0) }
        }
        let g = model.graph
        let (seed, picked) = try target.seed(for: output)
        let n = a.shape[0], size = a.count / n, outPer = output.count / n
        let layerShape = Array(a.shape.dropFirst())
        // Units: neurons, or channels (dimension 1) of `positions` consecutive values each.
        guard unit == .neuron || a.rank >= 2 else { throw ExplainError.argument("per = channel needs a layer with channels; '\(g.valueNames[v])' is \(Shape.format(a.shape))") }
        let positions = unit == .neuron ? 1 : size / max(a.shape[1], 1)
        let units = size / positions
        // Per unit, the sample each sample takes the unit's values from (permutation only).
        var source = [[Int]]()
        if let seed = permutationSeed {
            guard n >= 2 else { throw ExplainError.argument("layer_feature_permutation permutes the layer across the batch: give at least 2 samples") }
            source = try BatchPermutation.draw(units: units, batch: n, seed: seed, torch: torchDraws)
        }
        var values = [Float](repeating: 0, count: a.count)
        for s in 0..<n {
            let full = seed.withUnsafeBufferPointer { sd in output.withUnsafeBufferPointer { o in
                (0..<outPer).reduce(0.0) { $0 + Double(sd[s * outPer + $1]) * Double(o[s * outPer + $1]) }
            } }
            var done = 0
            while done < units {
                let m = min(BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: size, graph: model.graph), units - done)
                let first = done
                let ablated = Tensor(shape: [m] + layerShape) { p in
                    a.withUnsafeBufferPointer { pa in
                        for c in 0..<m {
                            for i in 0..<size { p[c * size + i] = pa[s * size + i] }
                            let start = (first + c) * positions
                            if source.isEmpty {
                                for i in start..<(start + positions) { p[c * size + i] = value }
                            } else {
                                let other = source[first + c][s]
                                for i in start..<(start + positions) { p[c * size + i] = pa[other * size + i] }
                            }
                        }
                    }
                }
                let out = try g.forwardTail(from: v, replacement: ablated, base: bases[s].0, sample: bases[s].1, outputs: [model.output])[0]
                seed.withUnsafeBufferPointer { sd in out.withUnsafeBufferPointer { o in
                    for c in 0..<m {
                        let score = (0..<outPer).reduce(0.0) { $0 + Double(sd[s * outPer + $1]) * Double(o[c * outPer + $1]) }
                        let start = (first + c) * positions
                        for i in start..<(start + positions) { values[s * size + i] = Float(full - score) }
                    }
                } }
                done += m
            }
        }
        return Attribution(values: try Tensor(shape: a.shape, scalars: values), output: output, targets: picked,
                           diagnostics: layer.note(v, in: model))
    }
}
