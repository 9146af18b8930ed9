import Foundation
import ExplainCore

/// Captum's `Lime` with its defaults (`lime --set rng=captum`), after `torch.manual_seed(seed)`, one
/// stream across the batch (Captum explains the examples one by one).
///
/// Per example with M groups: `samples` presence vectors `torch.bernoulli(0.5)` of M entries (each
/// present when the low 24 bits of a 32-bit draw, over 2²⁴, are below ½), then M + 3 draws for the
/// surrogate's `nn.Linear(M, 1)` initialisation and its DataLoader's seed. Weights: Captum's
/// `get_exp_kernel_similarity_function("cosine", kernel_width)`, `exp(−d² / (2 w²))` with `d` one minus
/// the cosine similarity of the flattened input and perturbed input. Surrogate: scikit-learn's
/// `Lasso(alpha)` with sample weights and an intercept, solved here to convergence (duality gap
/// below 1e-13 · |y|²; scikit-learn stops at 1e-4 · |y|²).
public enum CaptumLime {
    /// Captum's default `n_samples` for `Lime.attribute`.
    static let defaultSamples = 25
    /// Captum's default kernel width and `SkLearnLasso` alpha.
    static let defaultKernelWidth = 1.0
    public static let defaultAlpha = 0.01
    /// The relative duality gap at which the Lasso stops, and the most sweeps it makes.
    static let gapTolerance = 1e-13, maxSweeps = 100_000

    /// One example's presence vectors, then the draws Captum makes before the next example's.
    static func vectors(groups m: Int, samples: Int, rng: inout MersenneTwister) -> [[Bool]] {
        let rows = (0..<samples).map { _ in (0..<m).map { _ in rng.nextUInt32() & 0xFF_FFFF < 0x80_0000 } }
        CaptumKernelShap.skipSurrogateInitialisation(groups: m, rng: &rng)
        return rows
    }

    /// `exp(−d² / (2 w²))`, `d = 1 − cos(x, x_z)`, for sample `s`'s perturbed inputs (absent groups
    /// take the baseline's values; a zero vector has cosine 0).
    static func weights(_ z: [[Bool]], sample s: Int, input: Tensor, baseline x0: Tensor, groups: FeatureGroups, kernelWidth: Double) -> [Double] {
        let per = input.count / input.shape[0], b0 = x0.shape[0] == 1 ? 0 : s, index = groups.index[s]
        let x = input.scalars[(s * per)..<((s + 1) * per)].map(Double.init)
        let base = x0.scalars[(b0 * per)..<((b0 + 1) * per)].map(Double.init)
        let xNorm = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return z.map { row in
            var dot = 0.0, norm = 0.0
            for i in 0..<per {
                let v = row[index[i]] ? x[i] : base[i]
                dot += v * x[i]
                norm += v * v
            }
            let scale = xNorm * norm.squareRoot()
            let d = 1 - (scale > 0 ? dot / scale : 0)
            return exp(-d * d / (2 * kernelWidth * kernelWidth))
        }
    }

    /// scikit-learn's `Lasso(alpha)` fit with sample weights: weights rescaled to sum to the sample
    /// count S, weighted means subtracted, rows scaled by `√w`, then
    /// `min ½|b − Aβ|² + alpha · S · |β|₁` by cyclic coordinate descent. Returns `(β, intercept)`.
    static func lasso(_ z: [[Bool]], _ y: [Double], _ w: [Double], groups m: Int, alpha: Double) throws -> (beta: [Double], intercept: Double) {
        let count = z.count, total = w.reduce(0, +)
        guard count > 0, total > 0, total.isFinite else { throw ExplainError.argument("LIME: every sample has kernel weight 0") }
        let scaled = w.map { $0 * Double(count) / total }
        var zbar = [Double](repeating: 0, count: m)
        for (row, wi) in zip(z, scaled) { for j in 0..<m where row[j] { zbar[j] += wi } }
        zbar = zbar.map { $0 / Double(count) }
        let ybar = zip(y, scaled).reduce(0.0) { $0 + $1.0 * $1.1 } / Double(count)
        // Column-major A (count × m) and b.
        var a = [Double](repeating: 0, count: count * m), b = [Double](repeating: 0, count: count)
        for (r, row) in z.enumerated() {
            let s = scaled[r].squareRoot()
            for j in 0..<m { a[j * count + r] = ((row[j] ? 1 : 0) - zbar[j]) * s }
            b[r] = (y[r] - ybar) * s
        }
        let beta = coordinateDescent(a, b, rows: count, cols: m, lambda: alpha * Double(count))
        return (beta, ybar - zip(zbar, beta).reduce(0.0) { $0 + $1.0 * $1.1 })
    }

    /// `argmin ½|b − Aβ|² + λ|β|₁` (A column-major) by cyclic coordinate descent from β = 0,
    /// until the duality gap is below `gapTolerance · |b|²` or a sweep changes no coefficient by more
    /// than 1e-15 of the largest (without a penalty the gap of an inexact fit never vanishes).
    static func coordinateDescent(_ a: [Double], _ b: [Double], rows n: Int, cols m: Int, lambda: Double) -> [Double] {
        var beta = [Double](repeating: 0, count: m), residual = b
        let norms = (0..<m).map { j in (0..<n).reduce(0.0) { $0 + a[j * n + $1] * a[j * n + $1] } }
        let tolerance = gapTolerance * b.reduce(0) { $0 + $1 * $1 }
        for _ in 0..<maxSweeps {
            var change = 0.0
            for j in 0..<m where norms[j] > 0 {
                var dot = 0.0
                for i in 0..<n { dot += a[j * n + i] * residual[i] }
                let old = beta[j], t = dot + old * norms[j]
                let new = t > lambda ? (t - lambda) / norms[j] : t < -lambda ? (t + lambda) / norms[j] : 0
                if new != old {
                    for i in 0..<n { residual[i] -= (new - old) * a[j * n + i] }
                    beta[j] = new
                    change = max(change, abs(new - old))
                }
            }
            if change <= 1e-15 * (beta.map(abs).max() ?? 0) { break }
            if gap(a, b, residual, beta, rows: n, cols: m, lambda: lambda) <= tolerance { break }
        }
        return beta
    }

    /// The Lasso's duality gap at β with residual `r = b − Aβ` (dual point r scaled into `|Aᵀv|∞ ≤ λ`).
    static func gap(_ a: [Double], _ b: [Double], _ r: [Double], _ beta: [Double], rows n: Int, cols m: Int, lambda: Double) -> Double {
        var dualNorm = 0.0
        for j in 0..<m {
            var dot = 0.0
            for i in 0..<n { dot += a[j * n + i] * r[i] }
            dualNorm = max(dualNorm, abs(dot))
        }
        let rr = r.reduce(0) { $0 + $1 * $1 }, rb = zip(r, b).reduce(0) { $0 + $1.0 * $1.1 }
        let scale = dualNorm > lambda ? lambda / dualNorm : 1
        return 0.5 * rr * (1 + scale * scale) + lambda * beta.reduce(0) { $0 + abs($1) } - scale * rb
    }
}
