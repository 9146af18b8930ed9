/// Evaluates the explained output on perturbed copies of one sample, in batches: the common step
/// of the model-agnostic methods and of perturbation-based evaluation (pixel flipping). `f_t` of a copy is `Σ_k seed_k · output_k` (the target logit
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
        let size = BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per)
        for start in stride(from: 0, to: count, by: size) {
            let m = min(size, count - start)
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
}
