import Foundation

/// The order in which least-angle regression (Efron et al. 2004, "Least Angle Regression"; method
/// `lar`) lets features into its active set, step for step as scikit-learn's `lars_path(X, y,
/// max_iter=r)[1]` (no Gram matrix, `alpha_min = 0`): shap's KernelExplainer keeps the first `r` of
/// them (`l1_reg="num_features(r)"`). Reproduced with its bookkeeping — the swapped column order that
/// decides ties, the float32 `tiny` in the step ratios, correlations rounded to 15 decimals, a
/// coefficient crossing zero costing an iteration without a new feature, a degenerate candidate
/// (a Cholesky pivot below 1e-7) dropped as scikit-learn drops it.
public enum LeastAngle {
    /// The active set (feature indices, in order of entry) after at most `maxIterations` steps, for
    /// `columns` = the p columns of X (each of length n) and the response `y`.
    public static func activeSet(columns: [[Double]], y: [Double], maxIterations: Int) -> [Int] {
        var cols = columns
        let p = cols.count, n = y.count
        guard p > 0, n > 0 else { return [] }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        func minPositive(_ values: [Double]) -> Double { values.filter { $0 > 0 }.min() ?? .greatestFiniteMagnitude }
        let eps = Double.ulpOfOne, tiny = Double(Float.leastNormalMagnitude), tolerance = Double(Float.ulpOfOne)
        var cov = cols.map { dot($0, y) }, indices = Array(0..<p)
        var active = [Int](), sign = [Double](), coef = [Double](repeating: 0, count: p)
        let size = min(maxIterations, p) + 1
        var l = [Double](repeating: 0, count: size * size)
        var (iteration, count, drop) = (0, 0, false)
        while true {
            // The first largest |correlation| among the features not yet active (np.argmax).
            var c = 0.0, signed = 0.0, pick = 0
            if count < p {
                c = -1
                for i in count..<p where abs(cov[i]) > c { c = abs(cov[i]); pick = i - count }
                signed = cov[count + pick]
            }
            if c / Double(n) <= tolerance { break }
            if iteration >= maxIterations || count >= p { break }
            if !drop {
                let (m, j) = (count, pick + count)
                cov.swapAt(j, m)
                indices.swapAt(j, m)
                cols.swapAt(j, m)
                let norm = cols[count].reduce(0) { $0 + $1 * $1 }
                var row = (0..<count).map { dot(cols[count], cols[$0]) }
                for i in 0..<count {   // L[:count, :count] · r = row (forward substitution)
                    var s = row[i]
                    for k in 0..<i { s -= l[i * size + k] * row[k] }
                    row[i] = s / l[i * size + i]
                }
                let diagonal = max((abs(norm - dot(row, row))).squareRoot(), eps)
                guard diagonal >= 1e-7 else {
                    // Degenerate regressors: scikit-learn warns and "drops for good" the candidate — its
                    // covariance is zeroed and the covariances swapped back, while its column and
                    // index stay swapped — and goes on without counting an iteration.
                    cov.swapAt(j, m)
                    cov[j] = 0
                    continue
                }
                for k in 0..<count { l[count * size + k] = row[k] }
                l[count * size + count] = diagonal
                active.append(indices[count])
                sign.append(signed > 0 ? 1 : signed < 0 ? -1 : 0)
                count += 1
            }
            // (L Lᵀ) w = sign, then the unit equiangular direction.
            var w = sign
            for i in 0..<count { for k in 0..<i { w[i] -= l[i * size + k] * w[k] }; w[i] /= l[i * size + i] }
            for i in stride(from: count - 1, through: 0, by: -1) {
                for k in (i + 1)..<count { w[i] -= l[k * size + i] * w[k] }
                w[i] /= l[i * size + i]
            }
            let aa = 1 / zip(w, sign).reduce(0) { $0 + $1.0 * $1.1 }.squareRoot()
            w = w.map { $0 * aa }
            var direction = [Double](repeating: 0, count: n)
            for j in 0..<count { for r in 0..<n { direction[r] += cols[j][r] * w[j] } }
            let correlation = (count..<p).map { i -> Double in
                let v = dot(cols[i], direction)
                return (v * 1e15).rounded(.toNearestOrEven) / 1e15
            }
            let rest = Array(cov[count...])
            let g1 = minPositive(zip(rest, correlation).map { (c - $0) / (aa - $1 + tiny) })
            let g2 = minPositive(zip(rest, correlation).map { (c + $0) / (aa + $1 + tiny) })
            let gamma = min(g1, g2, c / aa)
            drop = false
            let z = active.indices.map { -coef[active[$0]] / (w[$0] + tiny) }
            let zPositive = minPositive(z)
            if zPositive < gamma {
                for k in z.indices where z[k] == zPositive { sign[k] = -sign[k] }
                drop = true
            }
            iteration += 1
            var next = [Double](repeating: 0, count: p)
            for (k, feature) in active.enumerated() { next[feature] = coef[feature] + gamma * w[k] }
            coef = next
            for (k, value) in correlation.enumerated() { cov[count + k] -= gamma * value }
        }
        return active
    }
}
