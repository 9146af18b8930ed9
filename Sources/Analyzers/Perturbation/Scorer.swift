import ExplainCore

/// Evaluates the explained output on perturbed copies of one sample, in batches: the common step
/// of the model-agnostic methods. `f_t` of a copy is `Σ_k seed_k · output_k` (the target logit
/// for an index target).
public struct Scorer: Sendable {
    public let model: ExplainableModel
    /// Copies per forward batch.
    public let batchSize: Int

    public init(model: ExplainableModel, batchSize: Int) {
        self.model = model
        self.batchSize = max(1, batchSize)
    }

    /// The clean output, the seed (one row per sample) and the resolved target indices.
    public func start(_ input: Tensor, target: Target) throws -> (output: Tensor, seed: Tensor, picked: [Int]?) {
        guard input.rank >= 1, input.shape[0] >= 1 else {
            throw ExplainError.shape("input \(Shape.format(input.shape)) needs a batch dimension with at least one sample")
        }
        try input.requireFinite("the input")
        let output = try BatchChunks.predict(model.graph, input, output: model.output)
        let (seed, picked) = try target.seed(for: output)
        return (output, seed, picked)
    }

    /// `f_t` of `count` copies of a sample of shape `sampleShape` (without the batch dimension),
    /// each written by `fill(copy, buffer)`; `seedRow` is the sample's row of the seed.
    public func scores(count: Int, sampleShape: [Int], seedRow: ArraySlice<Float>,
                       fill: (Int, UnsafeMutableBufferPointer<Float>) -> Void) throws -> [Double] {
        let per = sampleShape.reduce(1, *), seed = Array(seedRow)
        var result = [Double]()
        result.reserveCapacity(count)
        for start in stride(from: 0, to: count, by: batchSize) {
            let m = min(batchSize, count - start)
            let batch = Tensor(shape: [m] + sampleShape) { p in
                for j in 0..<m { fill(start + j, UnsafeMutableBufferPointer(rebasing: p[(j * per)..<((j + 1) * per)])) }
            }
            let out = try BatchChunks.predict(model.graph, batch, output: model.output)
            let k = out.count / m
            guard k == seed.count else { throw ExplainError.shape("the output has \(k) values per sample, the seed \(seed.count)") }
            out.withUnsafeBufferPointer { o in
                for j in 0..<m { result.append((0..<k).reduce(0.0) { $0 + Double(seed[$1]) * Double(o[j * k + $1]) }) }
            }
        }
        return result
    }

    /// `f_t` of copies of sample `s` in which the groups absent from coalition `present(copy)` take
    /// the baseline's values: `x_i` where `present(copy)[group(i)]`, else `x0_i`.
    public func coalitionScores(_ coalitions: [[Bool]], sample s: Int, input: Tensor, baseline x0: Tensor, groups: FeatureGroups,
                                seed: Tensor) throws -> [Double] {
        let n = input.shape[0], per = input.count / n, k = seed.count / n
        let b0 = x0.shape[0] == 1 ? 0 : s, index = groups.index[s]
        return try input.withUnsafeBufferPointer { px in
            try x0.withUnsafeBufferPointer { pb in
                try scores(count: coalitions.count, sampleShape: Array(input.shape.dropFirst()), seedRow: seed.scalars[(s * k)..<((s + 1) * k)]) { j, out in
                    let z = coalitions[j]
                    for i in 0..<per { out[i] = z[index[i]] ? px[s * per + i] : pb[b0 * per + i] }
                }
            }
        }
    }
}
