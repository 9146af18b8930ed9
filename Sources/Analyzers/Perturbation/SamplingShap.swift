import Foundation
import ExplainCore

/// shap's `SamplingExplainer` draw for draw (IME: Štrumbelj & Kononenko 2010, 2014), after
/// `np.random.seed(seed)`, one stream across the batch.
///
/// Every input element is a feature; only those that differ from some background row take part
/// (`varying_groups`). Feature j's value is the mean over random orders and background rows r of
/// `f(x with the features after j in the order := X_r) − f(x with j and the features after it := X_r)`;
/// each draw is one `np.random.shuffle` of the running order and one `np.random.randint(K)`. A first
/// round gives each feature an even share of `samples` (at most `min_samples_per_feature` each),
/// a second round shares the rest in proportion to the first round's variances (averaged over all
/// outputs), and the values are finally shifted so that they add up to `f(x) − E f(X)`, each in
/// proportion to its variance. Estimates run over every output of the model (as shap's do); the
/// explained value is the seed's combination of them (the target's column for an index target).
public struct SamplingShap: SplitsItsOwnBatches {
    public let id: String
    public let perturbation: GroupPerturbation
    /// Samples per explained row (nil: shap's `auto`, 1000 per varying feature).
    public let samples: Int?
    public let minSamplesPerFeature: Int
    public let seed: UInt32

    public init(id: String = "sampling_shap", model: ExplainableModel, samples: Int?, minSamplesPerFeature: Int = 100, seed: UInt32,
                baseline: Baseline = .zero, background: Tensor? = nil, batchSize: Int = 64) {
        self.id = id
        self.perturbation = GroupPerturbation(model: model, baseline: baseline, background: background, batchSize: batchSize) { FeatureGroups(elementsOf: $0) }
        self.samples = samples
        self.minSamplesPerFeature = minSamplesPerFeature
        self.seed = seed
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let setup = try perturbation.start(input, target: target)
        let n = input.shape[0], p = input.count / n, d = setup.seed.count / max(n, 1), shape = Array(input.shape.dropFirst())
        var rng = MersenneTwister(seed: seed)
        var values = [[Double]]()
        for s in 0..<n {
            // The background rows: the set, or this sample's baseline as one row.
            let background: [Float], k: Int
            if let b = setup.background {
                (background, k) = (b.scalars, b.shape[0])
            } else {
                let row = setup.baseline.shape[0] == 1 ? 0 : s
                (background, k) = (Array(setup.baseline.scalars[(row * p)..<((row + 1) * p)]), 1)
            }
            let x = Array(input.scalars[(s * p)..<((s + 1) * p)])
            let fx = try outputs(x, rows: 1, shape: shape, width: d)[0]
            let fnull = try outputs(background, rows: k, shape: shape, width: d).reduce([Double](repeating: 0, count: d)) { acc, row in
                zip(acc, row).map { $0 + $1 / Double(k) }
            }
            let varying = ShapleyValues.varyingGroups(sample: s, input: input, references: setup.background ?? setup.baseline,
                                                      oneReference: setup.background == nil && setup.baseline.shape[0] != 1, groups: setup.groups)
            let phi = try sampleValues(x: x, background: background, rows: k, varying: varying, shape: shape, width: d, fx: fx, fnull: fnull, rng: &rng)
            let seedRow = setup.seed.scalars[(s * d)..<((s + 1) * d)].map(Double.init)
            values.append((0..<p).map { i in (0..<d).reduce(0.0) { $0 + seedRow[$1] * phi[i * d + $1] } })
        }
        return Attribution(values: FeatureGroups.spread(values, over: setup.groups, shape: input.shape), output: setup.output, targets: setup.picked)
    }

    /// One row's values, `p × d` row-major (feature-major).
    func sampleValues(x: [Float], background: [Float], rows k: Int, varying: [Int], shape: [Int], width d: Int,
                      fx: [Double], fnull: [Double], rng: inout MersenneTwister) throws -> [Double] {
        let m = varying.count, p = shape.reduce(1, *)
        var phi = [Double](repeating: 0, count: p * d)
        guard m >= 2 else {
            if let only = varying.first { for c in 0..<d { phi[only * d + c] = fx[c] - fnull[c] } }
            return phi
        }
        let total = samples ?? 1000 * m
        guard total >= 2 * m else {
            throw ExplainError.argument("\(id): samples = \(total) leaves a feature without a sample; give at least 2 per varying feature (\(2 * m))")
        }
        try GroupPerturbation.requireAffordable(p, d, what: "values per output")
        // Every sample builds two rows of p values: bound the whole run, not only each estimate.
        try GroupPerturbation.requireAffordable(2 * total, p, what: "sampled values (2 rows per sample; lower samples)")
        var round1 = total, round2 = 0
        if round1 > m * minSamplesPerFeature {
            round2 = round1 - m * minSamplesPerFeature
            round1 -= round2
        }
        var each1 = [Int](repeating: 2 * (round1 / (2 * m)), count: m)
        for i in 0..<((round1 % (2 * m)) / 2) { each1[i] += 2 }
        var variance = [Double](repeating: 0, count: p * d)
        for (i, feature) in varying.enumerated() {
            let (mean, v) = try estimate(feature: feature, count: each1[i], x: x, background: background, rows: k, shape: shape, width: d, rng: &rng)
            for c in 0..<d { phi[feature * d + c] = mean[c]; variance[feature * d + c] = v[c] }
        }
        // Second round: the rest in proportion to the normalised first-round variances.
        if variance.allSatisfy({ $0 == 0 }) { variance = variance.map { $0 + 1 } }
        for c in 0..<d {
            let sum = (0..<p).reduce(0.0) { $0 + variance[$1 * d + c] }
            for i in 0..<p { variance[i * d + c] = sum > 0 ? variance[i * d + c] / sum : 0 }
        }
        var each2 = varying.map { feature -> Int in
            let share = (0..<d).reduce(0.0) { $0 + variance[feature * d + $1] } / Double(d) * Double(round2)
            let count = share.isFinite ? Int(share) : 0
            return count % 2 == 1 ? count + 1 : count
        }
        for i in each2.indices {
            let sum = each2.reduce(0, +)
            if sum > round2 { each2[i] -= 2 } else if sum < round2 { each2[i] += 2 } else { break }
        }
        for (i, feature) in varying.enumerated() where each2[i] > 0 {
            let (mean, v) = try estimate(feature: feature, count: each2[i], x: x, background: background, rows: k, shape: shape, width: d, rng: &rng)
            let all = Double(each1[i] + each2[i]), (w1, w2) = (Double(each1[i]), Double(each2[i]))
            for c in 0..<d {
                phi[feature * d + c] = (phi[feature * d + c] * w1 + mean[c] * w2) / all
                variance[feature * d + c] = (variance[feature * d + c] * w1 + v[c] * w2) / all
            }
        }
        for (i, feature) in varying.enumerated() {
            let count = Double(max(each1[i] + each2[i], 1)).squareRoot()
            for c in 0..<d { variance[feature * d + c] /= count }
        }
        // Efficiency: share f(x) − E f(X) − Σ φ in proportion to the variances.
        for c in 0..<d {
            let error = fx[c] - fnull[c] - (0..<p).reduce(0.0) { $0 + phi[$1 * d + c] }
            let largest = (0..<p).reduce(0.0) { max($0, variance[$1 * d + c]) }
            guard largest > 0 else { continue }
            let v = (0..<p).map { variance[$0 * d + c] / largest * 1e6 }, sum = v.reduce(0, +)
            for i in 0..<p { phi[i * d + c] += error * (v[i] - v[i] * sum / (1 + sum)) }
        }
        return phi
    }

    /// shap's `sampling_estimate`: the mean and (population) variance over `count` draws of
    /// `f(x, after j := X_r) − f(x, j and after := X_r)`, every output.
    func estimate(feature j: Int, count: Int, x: [Float], background: [Float], rows k: Int, shape: [Int], width d: Int,
                  rng: inout MersenneTwister) throws -> (mean: [Double], variance: [Double]) {
        let p = shape.reduce(1, *)
        try GroupPerturbation.requireAffordable(2 * count, p, what: "sampled rows")
        var order = Array(0..<p)
        var rows = [Float](repeating: 0, count: 2 * count * p)
        for i in 0..<count {
            rng.shuffle(&order)
            guard let position = order.firstIndex(of: j) else { throw ExplainError.argument("\(id): feature \(j) is not among \(p) features") }
            let r = Int(rng.interval(UInt64(k - 1)))
            let on = i * p, off = (2 * count - 1 - i) * p
            for f in 0..<p { rows[on + f] = x[f]; rows[off + f] = x[f] }
            for f in order[(position + 1)...] { rows[on + f] = background[r * p + f] }
            for f in order[position...] { rows[off + f] = background[r * p + f] }
        }
        let evals = try outputs(rows, rows: 2 * count, shape: shape, width: d)
        var mean = [Double](repeating: 0, count: d), variance = [Double](repeating: 0, count: d)
        let diffs = (0..<count).map { i in (0..<d).map { evals[i][$0] - evals[2 * count - 1 - i][$0] } }
        for c in 0..<d {
            mean[c] = diffs.reduce(0.0) { $0 + $1[c] } / Double(count)
            variance[c] = diffs.reduce(0.0) { $0 + ($1[c] - mean[c]) * ($1[c] - mean[c]) } / Double(count)
        }
        return (mean, variance)
    }

    /// Every output of the model on `rows` flattened samples, in batches.
    func outputs(_ data: [Float], rows: Int, shape: [Int], width d: Int) throws -> [[Double]] {
        let model = perturbation.scorer.model
        let p = shape.reduce(1, *), size = BatchChunks.copiesPerBatch(perturbation.scorer.batchSize, elementsPerCopy: p)
        var result = [[Double]]()
        for start in stride(from: 0, to: rows, by: size) {
            let m = min(size, rows - start)
            let batch = try Tensor(shape: [m] + shape, scalars: Array(data[(start * p)..<((start + m) * p)]))
            let out = try BatchChunks.predict(model.graph, batch, output: model.output)
            guard out.count == m * d else { throw ExplainError.shape("\(id): the model gives \(out.count / max(m, 1)) outputs per sample, the seed \(d)") }
            let scalars = out.scalars
            for r in 0..<m {
                let row = (0..<d).map { Double(scalars[r * d + $0]) }
                if let bad = row.first(where: { !$0.isFinite }) {
                    throw ExplainError.argument("\(id): the model's output on a sampled row is \(bad): check the input and the background for huge values")
                }
                result.append(row)
            }
        }
        return result
    }
}
