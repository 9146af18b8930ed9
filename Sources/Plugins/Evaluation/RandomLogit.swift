import ExplainCore

/// Random logit (Sixt, Granz & Landgraf 2020, "When explanations lie: why many modified BP
/// attributions fail"; Quantus `RandomLogit`): how similar the explanation of the target is to the
/// explanation of a random other class, by the structural similarity of the flattened maps (each
/// scaled per sample by its largest magnitude; scikit-image's SSIM on a line, 7-wide windows, the
/// data range of both maps together). Lower: the explanation depends on the class. The other
/// class is `np.random.randint(0, K − 1)` among the K − 1 non-targets after `np.random.seed(seed)`,
/// drawn again for every Quantus batch of `quantusBatch` samples, as Quantus does.
public struct RandomLogit: Sendable {
    public let seed: UInt64
    public let quantusBatch: Int

    public init(seed: UInt64 = 42, quantusBatch: Int = 64) throws {
        try QuantusDraws.check(seed: seed, quantusBatch: quantusBatch)
        self.seed = seed
        self.quantusBatch = quantusBatch
    }

    public struct Result: Sendable {
        /// Per sample: the SSIM of the two explanations.
        public var similarity: [Double]
        /// Per sample: the target and the random other class.
        public var targets: [Int], others: [Int]
    }

    /// Per sample: the SSIM of `analyzer`'s explanations of `target` and of a random other class
    /// (`classes`: the model's output size).
    public func evaluate(_ analyzer: any Analyzer, input: Tensor, target: Target, classes: Int) throws -> Result {
        guard classes >= 2 else { throw ExplainError.argument("random logit needs a model with 2 or more classes; its output has \(classes)") }
        let base = try analyzer.analyze(input, target: target)
        guard let targets = base.targets, targets.count == input.shape[0], targets.allSatisfy({ (0..<classes).contains($0) }) else {
            throw ExplainError.argument("random logit needs one class index per sample as the target (max, an index or file:T.npy)")
        }
        var others = [Int]()
        for batch in QuantusDraws.batches(targets.count, size: quantusBatch) {
            var mt = MersenneTwister(seed: try RandomDraws.peerSeed(seed))
            others += batch.map { s in let k = Int(mt.interval(UInt64(classes - 2))); return k < targets[s] ? k : k + 1 }
        }
        let other = try Explained.explain(analyzer, input, .indices(others), like: base.values)
        let a = Explained.rows(base.values, normalise: true, absolute: false), b = Explained.rows(other, normalise: true, absolute: false)
        let similarity = try zip(a, b).map { u, v in
            guard let value = Similarity.ssimLine(u, v) else {
                throw ExplainError.shape("random logit's SSIM needs explanations of 7 values or more; got \(u.count)")
            }
            return value
        }
        return Result(similarity: similarity, targets: targets, others: others)
    }
}

extension Similarity {
    /// scikit-image's `structural_similarity` of two 1-D arrays with its defaults — uniform windows of
    /// 7, sample covariances, K1 = 0.01, K2 = 0.03, the mean over the positions whose window fits —
    /// and the data range of both arrays together (Quantus's `ssim`). Fewer than 7 values: nil.
    public static func ssimLine(_ a: [Double], _ b: [Double]) -> Double? {
        let win = 7, n = min(a.count, b.count)
        guard n >= win else { return nil }
        let range = max(a.max() ?? 0, b.max() ?? 0) - min(a.min() ?? 0, b.min() ?? 0)
        let c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range)
        let np = Double(win), norm = np / (np - 1)
        var total = 0.0
        for centre in (win / 2)..<(n - win / 2) {
            var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
            for i in (centre - win / 2)...(centre + win / 2) {
                sa += a[i]; sb += b[i]; saa += a[i] * a[i]; sbb += b[i] * b[i]; sab += a[i] * b[i]
            }
            let ua = sa / np, ub = sb / np
            let va = norm * (saa / np - ua * ua), vb = norm * (sbb / np - ub * ub), vab = norm * (sab / np - ua * ub)
            total += ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua * ua + ub * ub + c1) * (va + vb + c2))
        }
        return total / Double(n - 2 * (win / 2))
    }
}
