import Foundation
import ExplainCore

/// Shapley values of the groups, `v(S) = f_t(x with the groups outside S := x0)`.
///
/// `exact`: every coalition is evaluated, `φ_g = Σ_{S ∌ g} |S|!(M − |S| − 1)!/M! (v(S ∪ g) − v(S))`
/// (Captum `ShapleyValues`). `kernelSHAP`: a weighted least-squares fit over sampled coalitions
/// with the efficiency constraint `Σ φ = v(all) − v(∅)` (Lundberg & Lee 2017; `shap.KernelExplainer`).
/// `permutations`: the mean marginal contribution over random orders (Castro et al. 2009).
public struct ShapleyValues: SplitsItsOwnBatches {
    /// How the values are found.
    public enum Estimator: Sendable {
        /// All 2^M coalitions.
        case exact
        /// KernelSHAP with `samples` coalitions (nil: 2M + 2048, shap's default) drawn with `seed`
        /// (all of them, with the Shapley kernel's weights, when `samples ≥ 2^M − 2`: then it
        /// equals `exact`).
        case kernelSHAP(samples: Int?, seed: UInt64, l1Features: Int? = nil)
        /// shap's KernelExplainer draw for draw (`ShapKernel`): coalitions drawn with numpy's legacy
        /// generator seeded with `seed`, optionally only the first `l1Features` least-angle features.
        case shapKernel(samples: Int?, seed: UInt32, l1Features: Int?)
        /// Captum's `KernelShap` draw for draw (`CaptumKernelShap`): `samples` coalitions per sample
        /// drawn with torch's generator seeded with `seed`, scikit-learn's weighted `LinearRegression`.
        case captumKernel(samples: Int, seed: UInt32)
        /// KernelSHAP with given coalitions `(N, S, M_max)` (0/1) and weights `(N, S)`.
        case given(coalitions: Tensor, weights: Tensor)
        /// Shapley value sampling: `count` random orders, each group credited with the change it
        /// makes when added in that order (Castro et al. 2009; Captum `ShapleyValueSampling`).
        case permutations(count: Int, seed: UInt64, torch: Bool = false)
        /// shap's `PermutationExplainer`: orders switched on and off again, as many as `maxEvals`
        /// allows, drawn with numpy's legacy generator seeded with `seed` (`antitheticPermutationValues`).
        case antitheticPermutations(maxEvals: Int, seed: UInt32)
    }

    public let id: String
    public let perturbation: GroupPerturbation
    public let estimator: Estimator
    /// Most groups `exact` accepts (2^M forward passes per sample).
    public static let exactLimit = 20

    public init(id: String, model: ExplainableModel, estimator: Estimator, baseline: Baseline = .zero, background: Tensor? = nil,
                batchSize: Int = 64, groups: @escaping @Sendable (Tensor) throws -> FeatureGroups = { try FeatureGroups.defaultGroups($0) }) {
        self.id = id
        self.perturbation = GroupPerturbation(model: model, baseline: baseline, background: background, batchSize: batchSize, groups: groups)
        self.estimator = estimator
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let setup = try perturbation.start(input, target: target)
        let (seed, x0, g, scorer) = (setup.seed, setup.baseline, setup.groups, perturbation.scorer)
        var values = [[Double]]()
        // The peer's generator, one stream across the batch (numpy's for shap, torch's for Captum).
        var peer = MersenneTwister(seed: 0)
        if case .antitheticPermutations(_, let seed) = estimator { peer = MersenneTwister(seed: seed) }
        if case .shapKernel(_, let seed, _) = estimator { peer = MersenneTwister(seed: seed) }
        if case .captumKernel(_, let seed) = estimator { peer = MersenneTwister(seed: seed) }
        for s in 0..<input.shape[0] {
            let m = g.count[s]
            let coalitions: [[Bool]], weights: [Double]
            switch estimator {
            case .exact:
                guard m <= Self.exactLimit else {
                    throw ExplainError(.tooLarge, "exact Shapley values of \(m) groups need 2^\(m) forward passes per sample: use fewer groups (--set grid=K) or kernel_shap")
                }
                coalitions = (0..<(1 << m)).map { bits in (0..<m).map { bits >> $0 & 1 == 1 } }
                weights = []
            case .shapKernel(let samples, _, let l1):
                values.append(try shapKernelValues(sample: s, input: input, setup: setup, samples: samples, l1Features: l1, rng: &peer))
                continue
            case .captumKernel(let samples, _):
                values.append(try captumKernelValues(sample: s, input: input, setup: setup, samples: samples, rng: &peer))
                continue
            case .kernelSHAP(let samples, let drawSeed, _):
                let budget = samples ?? 2 * m + 2048
                try GroupPerturbation.requireAffordable(budget, m, what: "coalitions")
                var rng = SeededGenerator(seed: drawSeed &+ UInt64(s))
                (coalitions, weights) = KernelSHAPSampler.draw(groups: m, samples: budget, using: &rng)
            case .given(let z, let w):
                (coalitions, weights) = try Self.given(z, w, sample: s, groups: m)
            case .antitheticPermutations(let maxEvals, _):
                values.append(try antitheticPermutationValues(sample: s, input: input, setup: setup, maxEvals: maxEvals, rng: &peer))
                continue
            case .permutations(let count, let orderSeed, let torch):
                try GroupPerturbation.requireAffordable(count * (m + 1), m, what: "coalitions (orders × (groups + 1))")
                let orders: [[Int]]
                if torch {
                    // Captum's draws: the same `torch.randperm(M)` orders for every sample of the batch.
                    guard g.count.allSatisfy({ $0 == m }) else {
                        throw ExplainError.argument("rng = torch shares the orders across the batch: every sample needs the same number of groups")
                    }
                    var mt = MersenneTwister(seed: try RandomDraws.peerSeed(orderSeed))
                    orders = (0..<count).map { _ in mt.torchPermutation(m) }
                } else {
                    var rng = SeededGenerator(seed: orderSeed &+ UInt64(s))
                    orders = (0..<count).map { _ in Self.shuffled(m, using: &rng) }
                }
                // Per order: ∅, then each group added in turn (the last coalition is everything).
                let chains = orders.flatMap { order in
                    (0...m).map { j -> [Bool] in
                        var z = [Bool](repeating: false, count: m)
                        for g in order.prefix(j) { z[g] = true }
                        return z
                    }
                }
                let v = try scorer.coalitionScores(chains, sample: s, input: input, baseline: x0, background: setup.background, groups: g, seed: seed)
                var phi = [Double](repeating: 0, count: m)
                for (k, order) in orders.enumerated() {
                    let start = k * (m + 1)
                    for (j, group) in order.enumerated() {
                        let gain: Double = v[start + j + 1] - v[start + j]
                        phi[group] += gain
                    }
                }
                values.append(phi.map { $0 / Double(count) })
                continue
            }
            let all = [Bool](repeating: true, count: m), none = [Bool](repeating: false, count: m)
            let f = try scorer.coalitionScores(coalitions + [all, none], sample: s, input: input, baseline: x0, background: setup.background,
                                           groups: g, seed: seed)
            let (fx, f0) = (f[coalitions.count], f[coalitions.count + 1])
            if case .exact = estimator {
                values.append(Self.exactValues(Array(f.prefix(coalitions.count)), groups: m))
            } else if case .kernelSHAP(_, _, let l1?) = estimator {
                values.append(try ShapKernel.solve(coalitions: coalitions, weights: weights, values: Array(f.prefix(coalitions.count)),
                                                   fx: fx, f0: f0, l1Features: l1))
            } else {
                values.append(try Self.constrainedFit(coalitions, weights, Array(f.prefix(coalitions.count)), groups: m, fx: fx, f0: f0))
            }
        }
        return Attribution(values: FeatureGroups.spread(values, over: g, shape: input.shape), output: setup.output, targets: setup.picked)
    }

    /// A uniformly random order of `0..<m` (Fisher–Yates).
    static func shuffled(_ m: Int, using rng: inout SeededGenerator) -> [Int] {
        var order = Array(0..<m)
        for i in stride(from: m - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return order
    }

    /// φ from `v` of every coalition (index = bit set of its groups).
    static func exactValues(_ v: [Double], groups m: Int) -> [Double] {
        // w(k) = k!(M − k − 1)!/M! = 1 / (M · C(M − 1, k))
        var binomial = [Double](repeating: 1, count: m)
        for k in 1..<max(m, 1) { binomial[k] = binomial[k - 1] * Double(m - k) / Double(k) }
        return (0..<m).map { g in
            var phi = 0.0
            for bits in 0..<(1 << m) where bits >> g & 1 == 0 {
                phi += (v[bits | 1 << g] - v[bits]) / (Double(m) * binomial[bits.nonzeroBitCount])
            }
            return phi
        }
    }

    /// Sample `s`'s given coalitions and weights, without the all-absent and all-present ones.
    static func given(_ z: Tensor, _ w: Tensor, sample s: Int, groups m: Int) throws -> ([[Bool]], [Double]) {
        guard z.rank == 3, w.rank == 2, z.shape[0] > s, w.shape[0] > s, z.shape[1] == w.shape[1], z.shape[2] >= m else {
            throw ExplainError.shape("coalitions \(Shape.format(z.shape)) and weights \(Shape.format(w.shape)) must be (N, S, M) and (N, S) with M ≥ \(m) groups")
        }
        let (count, width) = (z.shape[1], z.shape[2])
        var rows = [[Bool]](), weights = [Double]()
        for r in 0..<count {
            let row = (0..<m).map { z.scalars[(s * count + r) * width + $0] != 0 }
            if row.allSatisfy({ $0 }) || !row.contains(true) { continue }
            rows.append(row)
            weights.append(Double(w.scalars[s * count + r]))
        }
        return (rows, weights)
    }

    /// `argmin Σ w (v − f0 − z·φ)²` subject to `Σ φ = fx − f0`, by eliminating the last group.
    static func constrainedFit(_ z: [[Bool]], _ w: [Double], _ v: [Double], groups m: Int, fx: Double, f0: Double) throws -> [Double] {
        if m == 1 { return [fx - f0] }
        guard m >= 2, !z.isEmpty else {
            throw ExplainError(.invalidArgument, "KernelSHAP has no coalition to fit \(m) groups to: raise samples (at least 2M = \(2 * m))")
        }
        let rows = z.map { row in (0..<(m - 1)).map { (row[$0] ? 1.0 : 0) - (row[m - 1] ? 1 : 0) } }
        let y = zip(z, v).map { row, value in value - f0 - (row[m - 1] ? fx - f0 : 0) }
        let (a, b) = LinearSolve.normalEquations(rows: rows, weights: w, targets: y, m - 1)
        let beta = try LinearSolve.solve(a, b, m - 1, what: "KernelSHAP")
        return beta + [fx - f0 - beta.reduce(0, +)]
    }
}

/// Draws KernelSHAP's coalitions: coalition sizes are enumerated completely, smallest and largest
/// first, while the budget covers their share of the Shapley kernel `(M − 1)/(C(M, k) k (M − k))`;
/// the remaining budget draws coalitions from the remaining sizes (each with its complement, except
/// at size M/2), and they share the remaining kernel mass in proportion to how often each was drawn.
public enum KernelSHAPSampler {
    public static func draw(groups m: Int, samples budget: Int, using rng: inout SeededGenerator) -> ([[Bool]], [Double]) {
        guard m >= 2 else { return ([], []) }
        let sizes = (m - 1 + 1) / 2   // k = 1 … ⌈(M − 1)/2⌉, each paired with M − k
        var mass = (1...sizes).map { k in Double(m - 1) / (Double(k) * Double(m - k)) * (2 * k == m ? 1 : 2) }
        let total = mass.reduce(0, +)
        mass = mass.map { $0 / total }
        var rows = [[Bool]](), weights = [Double]()
        var left = budget, done = 0, remaining = 1.0
        func choose(_ n: Int, _ k: Int) -> Double { (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) } }
        for k in 1...sizes {
            let paired = 2 * k != m, count = choose(m, k) * (paired ? 2 : 1)
            guard count <= Double(left), Double(left) * mass[k - 1] / remaining / count >= 1 - 1e-8 else { break }
            let each = mass[k - 1] / count
            for subset in subsets(m, k) {
                rows.append(subset); weights.append(each)
                if paired { rows.append(subset.map { !$0 }); weights.append(each) }
            }
            left -= Int(count)
            remaining -= mass[k - 1]
            done = k
        }
        guard done < sizes, left > 0 else { return (rows, weights) }
        // Never ask for more distinct coalitions than the remaining sizes hold.
        let available = (done + 1...sizes).reduce(0.0) { $0 + choose(m, $1) * (2 * $1 == m ? 1 : 2) }
        left = min(left, Int(min(available, Double(Int.max / 2))))
        // Random part: sizes done+1 … sizes, by their remaining mass.
        let rest = Array(mass[done...]), restTotal = rest.reduce(0, +)
        var drawn: [[Bool]: Int] = [:], order: [[Bool]] = []
        var attempts = 0
        while left > 0 && attempts < 100 * budget {
            attempts += 1
            var u = Double(rng.next() >> 11) * 0x1.0p-53 * restTotal, pick = 0
            while pick < rest.count - 1 && u >= rest[pick] { u -= rest[pick]; pick += 1 }
            let k = done + 1 + pick
            var members = Array(0..<m)
            for i in 0..<k { members.swapAt(i, i + Int(rng.next() % UInt64(m - i))) }   // partial Fisher–Yates
            var z = [Bool](repeating: false, count: m)
            for i in members.prefix(k) { z[i] = true }
            let pair = 2 * k == m ? [z] : [z, z.map { !$0 }]
            let new = pair.filter { drawn[$0] == nil }
            if new.count > left { break }   // a coalition and its complement enter together
            for c in pair { drawn[c, default: 0] += 1 }
            order += new
            left -= new.count
        }
        let draws = Double(drawn.values.reduce(0, +))
        for c in order { rows.append(c); weights.append(remaining * Double(drawn[c] ?? 0) / draws) }
        return (rows, weights)
    }

    /// All subsets of size `k` of `m` elements.
    static func subsets(_ m: Int, _ k: Int) -> [[Bool]] {
        var out = [[Bool]](), pick = Array(0..<k)
        while true {
            var z = [Bool](repeating: false, count: m)
            for i in pick { z[i] = true }
            out.append(z)
            var i = k - 1
            while i >= 0 && pick[i] == m - k + i { i -= 1 }
            if i < 0 { return out }
            pick[i] += 1
            for j in (i + 1)..<k { pick[j] = pick[j - 1] + 1 }
        }
    }
}
