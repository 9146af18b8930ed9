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

    /// `f_t` of `count` copies of sample `s` of a batch of shape `[N] + sampleShape`, each written
    /// by `fill(copy, buffer)`; `seed` is the batch's seed (`cleanPass`).
    public func scores(count: Int, sampleShape: [Int], seed batchSeed: Tensor, sample s: Int,
                       fill: (Int, UnsafeMutableBufferPointer<Float>) -> Void) throws -> [Double] {
        let per = sampleShape.reduce(1, *), k = batchSeed.count / Swift.max(batchSeed.shape.first ?? 1, 1)
        let seed = Array(batchSeed.scalars[(s * k)..<((s + 1) * k)])
        var result = [Double]()
        result.reserveCapacity(count)
        let size = BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per)
        for start in stride(from: 0, to: count, by: size) {
            let m = min(size, count - start)
            let batch = Tensor(shape: [m] + sampleShape) { p in
                for j in 0..<m { fill(start + j, UnsafeMutableBufferPointer(rebasing: p[(j * per)..<((j + 1) * per)])) }
            }
            result += try Self.explained(try BatchChunks.predict(model.graph, batch, output: model.output), seedRow: seed)
        }
        return result
    }

    /// `Σ_k seedRow_k · output[row, k]` for every row of an output batch.
    public static func explained(_ out: Tensor, seedRow: [Float]) throws -> [Double] {
        let k = seedRow.count, rows = out.count / Swift.max(k, 1)
        guard rows * k == out.count else { throw ExplainError.shape("the output \(Shape.format(out.shape)) does not fit a seed row of \(k)") }
        return out.withUnsafeBufferPointer { o in
            (0..<rows).map { r in (0..<k).reduce(0.0) { $0 + Double(seedRow[$1]) * Double(o[r * k + $1]) } }
        }
    }
}
