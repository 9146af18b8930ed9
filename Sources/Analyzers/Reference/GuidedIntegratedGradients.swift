import ExplainCore
import Foundation

/// Guided Integrated Gradients (Kapishnikov et al. 2021, CVPR), as Google PAIR's `saliency` computes
/// it: instead of the straight line, the path from the baseline moves, at every step, the features
/// whose gradient is smallest in magnitude (a `fraction` of them) toward the input, staying within
/// `max_dist` (in the path's relative L1 length) of the straight line, until the step's share of the
/// L1 distance is covered; the attribution accumulates `Δx ⊙ ∇f_t(x)` along that path.
///
/// Per step k of n (α = (k + 1)/n): features behind `α − max_dist` are first pulled up to it; then,
/// while the L1 distance to the input exceeds its target `L1 · (1 − α)`, the features with
/// `|g| ≤` the lower `fraction`-quantile of `|g|` (features already at `α + max_dist` excluded) move
/// to `α + max_dist`, or by the share γ that closes the gap exactly. The gradient is taken once per
/// step, for all samples at once; the path is kept in Double.
public struct GuidedIntegratedGradients: Analyzer {
    public let id = "guided_ig"
    public let model: ExplainableModel
    public let baseline: Baseline
    public let steps: Int
    public let fraction: Double
    public let maxDistance: Double
    let gradient: BackpropAnalyzer

    public init(model: ExplainableModel, baseline: Baseline = .zero, steps: Int = 200, fraction: Double = 0.25, maxDistance: Double = 0.02) throws {
        guard steps >= 1, fraction > 0, fraction <= 1, maxDistance >= 0, maxDistance <= 1 else {
            throw ExplainError(.invalidArgument, "guided_ig needs steps ≥ 1, 0 < fraction ≤ 1 and 0 ≤ max_dist ≤ 1 (got \(steps), \(fraction), \(maxDistance))")
        }
        self.gradient = try BackpropAnalyzer(id: "gradient", model: model)
        self.model = gradient.model
        (self.baseline, self.steps, self.fraction, self.maxDistance) = (baseline, steps, fraction, maxDistance)
    }

    /// One sample's path state.
    struct Path {
        var x: [Double]
        var attribution: [Double]
        let input: [Double], start: [Double]
        let total: Double

        /// `start + α (input − start)`.
        func point(_ alpha: Double) -> [Double] { zip(start, input).map { $0 + ($1 - $0) * alpha } }
        func distanceToInput() -> Double { zip(x, input).reduce(0) { $0 + abs($1.0 - $1.1) } }
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, _, picked) = try model.cleanPass(input, target: target)
        let x0 = try baseline.batch(like: input)
        let n = input.shape[0], per = input.count / n
        var paths = (0..<n).map { s -> Path in
            let xin = (0..<per).map { Double(input.scalars[s * per + $0]) }
            let b = x0.shape[0] == 1 ? 0 : s
            let start = (0..<per).map { Double(x0.scalars[b * per + $0]) }
            return Path(x: start, attribution: [Double](repeating: 0, count: per), input: xin, start: start,
                        total: zip(xin, start).reduce(0) { $0 + abs($1.0 - $1.1) })
        }
        let stepTarget = picked.map { Target.indices($0) } ?? target
        for step in 0..<steps {
            let batch = Tensor(shape: input.shape) { p in for s in 0..<n { for i in 0..<per { p[s * per + i] = Float(paths[s].x[i]) } } }
            let g = try gradient.analyze(batch, target: stepTarget).values
            for s in 0..<n where paths[s].total > 0 {
                advance(&paths[s], step: step, gradient: (0..<per).map { Double(g.scalars[s * per + $0]) })
            }
        }
        let values = Tensor(shape: input.shape) { p in for s in 0..<n { for i in 0..<per { p[s * per + i] = Float(paths[s].attribution[i]) } } }
        return Attribution(values: values, output: output, targets: picked)
    }

    /// One step of the guided path (PAIR's `guided_ig_impl` loop body).
    func advance(_ path: inout Path, step: Int, gradient actual: [Double]) {
        let count = actual.count
        let alpha = Double(step + 1) / Double(steps)
        let alphaMin = max(alpha - maxDistance, 0), alphaMax = min(alpha + maxDistance, 1)
        let xMin = path.point(alphaMin), xMax = path.point(alphaMax)
        let target = path.total * (1 - Double(step + 1) / Double(steps))
        var grad = actual
        // Every round either closes the gap or moves a feature to x_max, so count + 2 rounds suffice.
        for _ in 0..<(count + 2) {
            let old = path.x
            for i in 0..<count {
                let span = path.input[i] - path.start[i]
                let a = span == 0 ? (path.x[i] == path.start[i] ? alphaMax : .infinity) : (path.x[i] - path.start[i]) / span
                if a < alphaMin { path.x[i] = xMin[i] }
            }
            let current = path.distanceToInput()
            if abs(target - current) <= max(1e-9 * max(abs(target), abs(current)), 1e-9) {
                accumulate(&path, old, actual)
                return
            }
            for i in 0..<count where path.x[i] == xMax[i] { grad[i] = .infinity }
            var magnitudes = grad.map(abs)
            let threshold = Self.select(&magnitudes, Int((fraction * Double(count - 1)).rounded(.down)))
            let selected = (0..<count).filter { abs(grad[$0]) <= threshold && grad[$0] != .infinity }
            let movable = selected.reduce(0.0) { $0 + abs(path.x[$1] - xMax[$1]) }
            let gamma = movable > 0 ? (current - target) / movable : .infinity
            if gamma > 1 {
                for i in selected { path.x[i] = xMax[i] }
            } else if gamma > 0 {
                for i in selected { path.x[i] = path.x[i] + (xMax[i] - path.x[i]) * gamma }
            }
            accumulate(&path, old, actual)
            if gamma <= 1 || movable == 0 { return }
        }
    }

    /// The `k`-th smallest value of `a` (0-based; `a` is reordered): Hoare's selection, expected
    /// linear time, the value the `k`-th element of the sorted array has (NumPy's quantile with
    /// `interpolation='lower'`).
    public static func select(_ a: inout [Double], _ k: Int) -> Double {
        var low = 0, high = a.count - 1
        while low < high {
            let pivot = a[(low + high) / 2]
            var i = low, j = high
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { high = j } else if k >= i { low = i } else { return a[k] }
        }
        return a[k]
    }

    func accumulate(_ path: inout Path, _ old: [Double], _ g: [Double]) {
        for i in 0..<g.count { path.attribution[i] += (path.x[i] - old[i]) * g[i] }
    }
}
