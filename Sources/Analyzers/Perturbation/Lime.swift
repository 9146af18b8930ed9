import Foundation
import ExplainCore

/// LIME over feature groups (Ribeiro, Singh & Guestrin 2016; `lime_image` conventions): random
/// binary group-presence vectors `z` (the first all ones), `y = f_t(x with absent groups := x0)`,
/// cosine distance to the all-ones vector `d = 1 − √(k/M)`, kernel `π = √(exp(−d²/width²))`, and a
/// weighted ridge regression with an unpenalised intercept; each group's coefficient is its
/// attribution, the intercepts are returned as `extras["intercepts"]`.
public struct Lime: SplitsItsOwnBatches {
    /// Where the samples come from.
    public enum Samples: Sendable {
        /// `count` random vectors (the first all ones) drawn with `seed`.
        case random(count: Int, seed: UInt64)
        /// Given vectors `(N, S, M_max)`, 0/1.
        case given(Tensor)
        /// Captum's `Lime` draw for draw (`CaptumLime`): `count` vectors per sample from torch's
        /// generator seeded with `seed`, Captum's input-space cosine kernel and a Lasso surrogate.
        case captum(count: Int, seed: UInt32)
        /// lime_image's draws (`LimeImageExplainer(random_state: seed)`, one explainer for the
        /// batch): per sample one `randint(0, 1000)` (its unused segmentation seed), then
        /// `randint(0, 2, count · M)` presence vectors, the first set to all ones.
        ///
        /// lime names feature j after the segment *label* j. With `labelsFromOne` (scikit-image's
        /// SLIC, whose labels start at 1) that is lime's quirk reproduced: feature 0 hides nothing,
        /// feature j hides group j − 1, and the last group is never hidden (attribution 0).
        case limeImage(count: Int, seed: UInt32, labelsFromOne: Bool = false)
    }

    public let id: String
    public let perturbation: GroupPerturbation
    public let samples: Samples
    public let kernelWidth: Double
    public let ridge: Double
    /// The Lasso penalty of Captum's surrogate (`.captum` samples only).
    public let alpha: Double
    /// Absent groups take the mean of their own elements, channel by channel (lime_image's
    /// `hide_color=None`), instead of the baseline.
    public let meanFill: Bool

    public init(id: String = "lime", model: ExplainableModel, samples: Samples, kernelWidth: Double = 0.25, ridge: Double = 1,
                alpha: Double = CaptumLime.defaultAlpha, meanFill: Bool = false, baseline: Baseline = .zero, batchSize: Int = 64,
                groups: @escaping @Sendable (Tensor) throws -> FeatureGroups = { try FeatureGroups.defaultGroups($0) }) throws {
        guard kernelWidth > 0, kernelWidth.isFinite else { throw ExplainError.argument("kernel_width must be > 0") }
        guard ridge >= 0, ridge.isFinite else { throw ExplainError.argument("ridge must be ≥ 0") }
        guard alpha >= 0, alpha.isFinite else { throw ExplainError.argument("alpha must be ≥ 0") }
        self.alpha = alpha
        self.meanFill = meanFill
        self.id = id
        self.perturbation = GroupPerturbation(model: model, baseline: baseline, batchSize: batchSize, groups: groups)
        self.samples = samples
        self.kernelWidth = kernelWidth
        self.ridge = ridge
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let setup = try perturbation.start(input, target: target)
        let g = setup.groups
        let baseline = meanFill ? Self.groupMeans(input, groups: g) : setup.baseline
        var values = [[Double]](), intercepts = [Float]()
        var peer = MersenneTwister(seed: 0)
        if case .captum(_, let seed) = samples { peer = MersenneTwister(seed: seed) }
        var shifted = false
        if case .limeImage(_, let seed, let fromOne) = samples { peer = MersenneTwister(seed: seed); shifted = fromOne }
        for s in 0..<input.shape[0] {
            let m = g.count[s]
            let z = try vectors(sample: s, groups: g, rng: &peer)
            // lime's feature j is segment label j: with labels from 1, group k is present when
            // feature k + 1 is, and the last group always is.
            let present = shifted ? z.map { row in (0..<m).map { k in k + 1 < m ? row[k + 1] : true } } : z
            let y = try perturbation.scorer.coalitionScores(present, sample: s, input: input, baseline: baseline, groups: g, seed: setup.seed)
            if case .captum = samples {
                // Captum's kernel (cosine distance in input space) and Lasso surrogate.
                let w = CaptumLime.weights(z, sample: s, input: input, baseline: baseline, groups: g, kernelWidth: kernelWidth)
                let (beta, b) = try CaptumLime.lasso(z, y, w, groups: m, alpha: alpha)
                values.append(beta)
                intercepts.append(Float(b))
                continue
            }
            let pi = z.map { row -> Double in
                let k = Double(row.filter { $0 }.count)
                let d = k == 0 ? 1 : 1 - (k / Double(m)).squareRoot()
                return exp(-d * d / (kernelWidth * kernelWidth)).squareRoot()
            }
            let (beta, b) = try fit(z, y, pi, groups: m)
            values.append(shifted ? (0..<m).map { k in k + 1 < m ? beta[k + 1] : 0 } : beta)
            intercepts.append(Float(b))
        }
        var a = Attribution(values: FeatureGroups.spread(values, over: g, shape: input.shape), output: setup.output, targets: setup.picked)
        a.extras["intercepts"] = try Tensor(shape: [intercepts.count], scalars: intercepts)
        return a
    }

    /// Sample `s`'s presence vectors; `peer` is the peer's generator, one stream across the batch.
    func vectors(sample s: Int, groups g: FeatureGroups, rng peer: inout MersenneTwister) throws -> [[Bool]] {
        let m = g.count[s]
        switch samples {
        case .captum(let count, _):
            guard g.count.allSatisfy({ $0 == m }) else {
                throw ExplainError.argument("rng = captum: Captum numbers the groups once for the batch, so every sample needs the same groups 0…M−1 (group counts \(g.count))")
            }
            try GroupPerturbation.requireAffordable(count, m, what: "LIME samples")
            return CaptumLime.vectors(groups: m, samples: count, rng: &peer)
        case .limeImage(let count, _, _):
            try GroupPerturbation.requireAffordable(count, m, what: "LIME samples")
            _ = peer.interval(999)
            var rows = (0..<count).map { _ in (0..<m).map { _ in peer.nextUInt32() & 1 == 1 } }
            if !rows.isEmpty { rows[0] = [Bool](repeating: true, count: m) }
            return rows
        case .random(let count, let seed):
            try GroupPerturbation.requireAffordable(count, m, what: "LIME samples")
            var rng = SeededGenerator(seed: seed &+ UInt64(s))
            return [[Bool](repeating: true, count: m)] + (1..<max(count, 1)).map { _ in (0..<m).map { _ in rng.next() >> 63 == 1 } }
        case .given(let t):
            guard t.rank == 3, t.shape[0] > s, t.shape[2] >= m, t.shape[1] >= 1 else {
                throw ExplainError.shape("LIME samples \(Shape.format(t.shape)) must be (N, S, M) with M ≥ \(m) groups")
            }
            let (count, width) = (t.shape[1], t.shape[2])
            return (0..<count).map { r in (0..<m).map { t.scalars[(s * count + r) * width + $0] != 0 } }
        }
    }

    /// Weighted ridge with intercept: centre by the weighted means, solve
    /// `(Zcᵀ Π Zc + α I) β = Zcᵀ Π (y − ȳ)`, intercept `ȳ − z̄·β`.
    func fit(_ z: [[Bool]], _ y: [Double], _ pi: [Double], groups m: Int) throws -> (beta: [Double], intercept: Double) {
        let total = pi.reduce(0, +)
        guard total > 0 else { throw ExplainError.argument("LIME: every sample has kernel weight 0") }
        var zbar = [Double](repeating: 0, count: m)
        for (row, w) in zip(z, pi) { for j in 0..<m where row[j] { zbar[j] += w } }
        zbar = zbar.map { $0 / total }
        let ybar = zip(y, pi).reduce(0.0) { $0 + $1.0 * $1.1 } / total
        let rows = z.map { row in (0..<m).map { (row[$0] ? 1.0 : 0) - zbar[$0] } }
        var (a, b) = LinearSolve.normalEquations(rows: rows, weights: pi, targets: y.map { $0 - ybar }, m)
        for j in 0..<m { a[j * m + j] += ridge }
        let beta = try LinearSolve.solve(a, b, m, what: "LIME")
        return (beta, ybar - zip(zbar, beta).reduce(0.0) { $0 + $1.0 * $1.1 })
    }

    /// Every element's group mean in its channel (dimension 1 of an image batch; other inputs have
    /// one channel), per sample: lime_image's `hide_color=None` fill, generalised to groups that
    /// span channels.
    static func groupMeans(_ input: Tensor, groups: FeatureGroups) -> Tensor {
        let n = input.shape[0], per = input.count / max(n, 1)
        let channels = input.rank == 4 ? input.shape[1] : 1, plane = per / max(channels, 1)
        return Tensor(shape: input.shape) { out in
            input.withUnsafeBufferPointer { x in
                for s in 0..<n {
                    let m = groups.count[s]
                    var sum = [Double](repeating: 0, count: m * channels), count = [Int](repeating: 0, count: m * channels)
                    for i in 0..<per {
                        let k = groups.index[s][i] * channels + i / max(plane, 1)
                        sum[k] += Double(x[s * per + i])
                        count[k] += 1
                    }
                    for i in 0..<per {
                        let k = groups.index[s][i] * channels + i / max(plane, 1)
                        out[s * per + i] = Float(sum[k] / Double(max(count[k], 1)))
                    }
                }
            }
        }
    }
}
