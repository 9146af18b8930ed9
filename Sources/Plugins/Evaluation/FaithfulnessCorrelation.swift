import ExplainCore

/// Faithfulness correlation (Bhatt, Weller & Moura 2020, "Evaluating and aggregating feature-based
/// model explanations"; Quantus `FaithfulnessCorrelation`): for `runs` random subsets S of
/// `subsetSize` features, the Pearson correlation of the subset's summed attribution `Σ_{i∈S} a_i`
/// and the drop `f_t(x) − f_t(x with S filled)`. 1: the attribution predicts every drop.
///
/// The subsets are numpy's `np.random.choice(features, subsetSize, replace=False)` after
/// `np.random.seed(seed)`, drawn as Quantus draws them (run by run, sample by sample in batches of
/// `quantusBatch`, with the draws its baselines take), so the score equals Quantus's on the same
/// seed. One forward pass per run and sample (batched).
public struct FaithfulnessCorrelation: Sendable {
    public let runs: Int
    public let subsetSize: Int
    public let fill: PerturbationFill
    public let seed: UInt64
    public let quantusBatch: Int
    public let batchSize: Int

    public init(runs: Int = 100, subsetSize: Int = 224, fill: PerturbationFill = .fixed(.black), seed: UInt64 = 0,
                quantusBatch: Int = 64, batchSize: Int = 64) throws {
        guard runs >= 2, runs <= 1_000_000 else { throw ExplainError.argument("runs = \(runs): give 2…1000000 (a correlation needs two runs)") }
        guard subsetSize >= 1 else { throw ExplainError.argument("subset = \(subsetSize): give 1 or more features") }
        try QuantusDraws.check(seed: seed, quantusBatch: quantusBatch)
        self.runs = runs
        self.subsetSize = subsetSize
        self.fill = fill
        self.seed = seed
        self.quantusBatch = quantusBatch
        self.batchSize = batchSize
    }

    /// Per sample: the correlation (0 when the sums or the drops do not vary).
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> [Double] {
        let (scorer, seedTensor, a) = try Scorer.checked("faithfulness correlation", model: model, input: input, attribution: attribution,
                                                         target: target, batchSize: batchSize)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        guard subsetSize < per else {
            throw ExplainError.argument("faithfulness correlation: subset = \(subsetSize) must be smaller than the \(per) features of a sample")
        }
        let held = min(n, quantusBatch).multipliedReportingOverflow(by: runs).partialValue.multipliedReportingOverflow(by: subsetSize)
        guard !held.overflow, held.partialValue <= 1 << 26 else {
            throw ExplainError.argument("faithfulness correlation: \(runs) runs × \(subsetSize) features for up to \(min(n, quantusBatch)) samples at a time is too many indices to hold; lower --runs or --subset")
        }
        var draws = try QuantusDraws(seed: seed)
        var scores = [Double]()
        for batch in QuantusDraws.batches(n, size: quantusBatch) {
            // subsets[s][r]: run r's features of sample s; fills[s][r]: their value under a uniform fill.
            var subsets = [[[Int]]](repeating: [], count: batch.count), fills = [[Float]](repeating: [], count: batch.count)
            for _ in 0..<runs {
                for j in batch.indices { subsets[j - batch.lowerBound].append(draws.subset(per, subsetSize)) }
                let u = draws.baselines(fill, count: batch.count)
                if let u { for j in 0..<batch.count { fills[j].append(u[j]) } }
            }
            for s in batch {
                let j = s - batch.lowerBound
                let f = try input.withUnsafeBufferPointer { px in
                    let sample = UnsafeBufferPointer(rebasing: px[(s * per)..<((s + 1) * per)])
                    let fixed = fill.fixedValue(for: sample)
                    return try scorer.scores(count: runs + 1, sampleShape: dims, seed: seedTensor, sample: s) { r, out in
                        for i in 0..<per { out[i] = sample[i] }
                        if r > 0 { let v = fixed ?? fills[j][r - 1]; for i in subsets[j][r - 1] { out[i] = v } }
                    }
                }
                let sums = subsets[j].map { $0.reduce(0.0) { $0 + Double(a.scalars[s * per + $1]) } }
                scores.append(Similarity.pearson(sums, (0..<runs).map { f[0] - f[1 + $0] }))
            }
        }
        return scores
    }
}

/// Monotonicity correlation (Nguyen & Martínez 2020, "On quantitative aspects of model
/// interpretability"; Quantus `MonotonicityCorrelation`): features in steps of `featuresInStep`,
/// least |attribution| first, are each perturbed `samples` times (a uniform draw in [0, 1) per
/// perturbation by default); the score is the Spearman correlation, over the steps, of the step's
/// summed |attribution| and the variance of the output it causes,
/// `mean_k (f_t(x̃ₖ) − f_t(x))² / f_t(x)²` (the square of `f_t(x)` only when |f_t(x)| ≥ eps). 1: the
/// more attribution, the more the output moves. Draws as Quantus's after `np.random.seed(seed)`.
/// Steps × samples forward passes per sample (batched).
public struct MonotonicityCorrelation: Sendable {
    public let samples: Int
    public let featuresInStep: Int
    public let fill: PerturbationFill
    public let eps: Double
    public let absolute: Bool
    public let seed: UInt64
    public let quantusBatch: Int
    public let batchSize: Int

    public init(samples: Int = 100, featuresInStep: Int = 1, fill: PerturbationFill = .uniform(low: 0, high: 1), eps: Double = 1e-5,
                absolute: Bool = true, seed: UInt64 = 0, quantusBatch: Int = 64, batchSize: Int = 64) throws {
        guard samples >= 1, samples <= 1_000_000 else { throw ExplainError.argument("samples = \(samples): give 1…1000000") }
        guard featuresInStep >= 1 else { throw ExplainError.argument("features_in_step = \(featuresInStep): give 1 or more") }
        guard eps >= 0, eps.isFinite else { throw ExplainError.argument("eps = \(eps): give a finite value ≥ 0") }
        try QuantusDraws.check(seed: seed, quantusBatch: quantusBatch)
        self.samples = samples
        self.featuresInStep = featuresInStep
        self.fill = fill
        self.eps = eps
        self.absolute = absolute
        self.seed = seed
        self.quantusBatch = quantusBatch
        self.batchSize = batchSize
    }

    /// Per sample: the Spearman correlation (ties share their mean rank; 0 when a side is constant).
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> [Double] {
        let (scorer, seedTensor, a) = try Scorer.checked("monotonicity correlation", model: model, input: input, attribution: attribution,
                                                         target: target, batchSize: batchSize)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        let step = min(featuresInStep, max(per, 1)), steps = (per + step - 1) / step
        // A uniform fill holds a drawn value per step, perturbation and sample of a Quantus batch.
        let held = (steps * samples).multipliedReportingOverflow(by: fill.isUniform ? min(n, quantusBatch) : 1)
        guard steps * samples <= 50_000_000, !held.overflow, held.partialValue <= 1 << 27 else {
            throw ExplainError.argument("monotonicity correlation: \(steps) steps × \(samples) perturbations per sample are too many (forward passes or drawn values to hold); raise --features-in-step or lower --samples")
        }
        var draws = try QuantusDraws(seed: seed)
        var scores = [Double]()
        for batch in QuantusDraws.batches(n, size: quantusBatch) {
            // fills[s][j · samples + k]: the value of step j's features in perturbation k (uniform fill).
            var fills = [[Float]](repeating: [], count: batch.count)
            for _ in 0..<(steps * samples) {
                let u = draws.baselines(fill, count: batch.count)
                if let u { for j in 0..<batch.count { fills[j].append(u[j]) } }
            }
            for s in batch {
                let key = (0..<per).map { i -> Double in let v = Double(a.scalars[s * per + i]); return absolute ? abs(v) : v }
                let order = FaithfulnessInput.order(key, ascending: true)
                let chunks = (0..<steps).map { Array(order[($0 * step)..<min(per, ($0 + 1) * step)]) }
                let f = try input.withUnsafeBufferPointer { px in
                    let sample = UnsafeBufferPointer(rebasing: px[(s * per)..<((s + 1) * per)])
                    let fixed = fill.fixedValue(for: sample)
                    return try scorer.scores(count: steps * samples + 1, sampleShape: dims, seed: seedTensor, sample: s) { c, out in
                        for i in 0..<per { out[i] = sample[i] }
                        guard c > 0 else { return }
                        let v = fixed ?? fills[s - batch.lowerBound][c - 1]
                        for i in chunks[(c - 1) / samples] { out[i] = v }
                    }
                }
                let scale = abs(f[0]) >= eps ? 1 / (f[0] * f[0]) : 1
                let variances = (0..<steps).map { j in
                    (0..<samples).reduce(0.0) { acc, k in let d = f[1 + j * samples + k] - f[0]; return acc + d * d } / Double(samples) * scale
                }
                let sums = chunks.map { $0.reduce(0.0) { $0 + key[$1] } }
                scores.append(Similarity.spearman(sums, variances))
            }
        }
        return scores
    }
}
