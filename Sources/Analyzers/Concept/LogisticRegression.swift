import ExplainCore
import Foundation

/// L2-regularised logistic regression with an unregularised intercept, solved to convergence:
/// minimises `½‖w‖² + C Σ_i log(1 + exp(−y_i (x_i·w + b)))`, `y_i ∈ {−1, +1}` — scikit-learn's
/// `LogisticRegression(C=…)` objective, so its unique optimum is scikit-learn's `coef_` and `intercept_`.
///
/// The samples are few and the features many (a layer's activations), so Newton's method runs in
/// the span of the samples: `w = Xᵀβ`, every step an `(n + 1)`-dimensional linear system on the
/// Gram matrix `K = XXᵀ` (Double throughout).
public struct LogisticRegression: Sendable {
    /// The weight per feature (points toward the positive class).
    public let weights: [Double]
    public let intercept: Double
    /// Share of training samples on the right side of the boundary.
    public let accuracy: Double
    /// Newton steps taken.
    public let iterations: Int

    /// `samples`: one row of `features` values per sample; `positive[i]`: the sample's class.
    public init(samples: [[Double]], positive: [Bool], c: Double = 1) throws {
        let n = samples.count
        guard n >= 2, positive.count == n, positive.contains(true), positive.contains(false) else {
            throw ExplainError.argument("logistic regression needs samples of both classes (\(positive.filter { $0 }.count) positive, \(positive.filter { !$0 }.count) negative)")
        }
        let d = samples[0].count
        guard d > 0, samples.allSatisfy({ $0.count == d }) else { throw ExplainError.shape("logistic regression: samples of different lengths") }
        guard c > 0, c.isFinite else { throw ExplainError.argument("the inverse regularisation C must be positive, got \(c)") }
        let y = positive.map { $0 ? 1.0 : -1.0 }
        var k = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                var s = 0.0
                samples[i].withUnsafeBufferPointer { a in samples[j].withUnsafeBufferPointer { b in for f in 0..<d { s += a[f] * b[f] } } }
                k[i * n + j] = s
                k[j * n + i] = s
            }
        }
        func margins(_ beta: [Double], _ b: Double) -> [Double] {
            (0..<n).map { i in var s = b; for j in 0..<n { s += k[i * n + j] * beta[j] }; return y[i] * s }
        }
        func objective(_ beta: [Double], _ b: Double) -> Double {
            let m = margins(beta, b)
            var quad = 0.0
            for i in 0..<n { var s = 0.0; for j in 0..<n { s += k[i * n + j] * beta[j] }; quad += beta[i] * s }
            return 0.5 * quad + c * m.reduce(0) { $0 + Self.softplus(-$1) }
        }
        var beta = [Double](repeating: 0, count: n), b = 0.0, steps = 0
        for _ in 0..<100 {
            let m = margins(beta, b)
            let p = m.map { Self.sigmoid(-$0) }                  // σ(−m_i)
            let s = zip(p, m).map { $0 * Self.sigmoid($1) }      // σ(m)σ(−m)
            // Newton system in the span of the samples (see the type's documentation):
            //   (I + C S K) dβ + C s db = −(β − C y⊙p),   C sᵀK dβ + C Σs db = C Σ y⊙p.
            var a = [Double](repeating: 0, count: (n + 1) * (n + 1)), rhs = [Double](repeating: 0, count: n + 1)
            for i in 0..<n {
                for j in 0..<n { a[i * (n + 1) + j] = (i == j ? 1 : 0) + c * s[i] * k[i * n + j] }
                a[i * (n + 1) + n] = c * s[i]
                rhs[i] = -(beta[i] - c * y[i] * p[i])
            }
            for j in 0..<n { var t = 0.0; for i in 0..<n { t += s[i] * k[i * n + j] }; a[n * (n + 1) + j] = c * t }
            a[n * (n + 1) + n] = c * s.reduce(0, +)
            rhs[n] = c * (0..<n).reduce(0) { $0 + y[$1] * p[$1] }
            let gradient = (rhs.map { $0 * $0 }.reduce(0, +)).squareRoot()
            if gradient < 1e-12 * Double(n) { break }
            guard let step = Self.solve(a, rhs, n + 1) else { break }
            // Backtracking on the objective; near the optimum its changes fall below rounding, and
            // Newton's full step is taken when it does not increase it beyond that.
            var t = 1.0
            let current = objective(beta, b), slack = 1e-12 * max(1, abs(current))
            while t > 1e-8 {
                let nb = (0..<n).map { beta[$0] + t * step[$0] }, nb0 = b + t * step[n]
                if objective(nb, nb0) <= current + slack {
                    beta = nb; b = nb0
                    break
                }
                t *= 0.5
            }
            steps += 1
            if t <= 1e-8 { break }
        }
        var w = [Double](repeating: 0, count: d)
        for i in 0..<n where beta[i] != 0 {
            samples[i].withUnsafeBufferPointer { x in for f in 0..<d { w[f] += beta[i] * x[f] } }
        }
        let final = margins(beta, b)
        self.weights = w
        self.intercept = b
        self.accuracy = Double(final.filter { $0 > 0 }.count) / Double(n)
        self.iterations = steps
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + Foundation.exp(-x)) : { let e = Foundation.exp(x); return e / (1 + e) }() }
    static func softplus(_ x: Double) -> Double { max(x, 0) + Foundation.log1p(Foundation.exp(-abs(x))) }

    /// Gaussian elimination with partial pivoting; nil for a singular system.
    static func solve(_ a: [Double], _ b: [Double], _ n: Int) -> [Double]? {
        var m = a, x = b
        for col in 0..<n {
            var pivot = col
            for r in col..<n where abs(m[r * n + col]) > abs(m[pivot * n + col]) { pivot = r }
            guard abs(m[pivot * n + col]) > 1e-300 else { return nil }
            if pivot != col {
                for j in 0..<n { m.swapAt(col * n + j, pivot * n + j) }
                x.swapAt(col, pivot)
            }
            for r in (col + 1)..<n {
                let f = m[r * n + col] / m[col * n + col]
                if f == 0 { continue }
                for j in col..<n { m[r * n + j] -= f * m[col * n + j] }
                x[r] -= f * x[col]
            }
        }
        for col in stride(from: n - 1, through: 0, by: -1) {
            var s = x[col]
            for j in (col + 1)..<n { s -= m[col * n + j] * x[j] }
            x[col] = s / m[col * n + col]
        }
        return x
    }
}
