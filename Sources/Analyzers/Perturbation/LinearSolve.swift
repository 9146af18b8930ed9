import ExplainCore

/// Dense linear systems in Double for the regressions of KernelSHAP and LIME (at most a few
/// hundred unknowns).
enum LinearSolve {
    /// Solves `A x = b` (`A` row-major `n × n`) by Gaussian elimination with partial pivoting;
    /// throws when `A` is singular to working precision.
    static func solve(_ a: [Double], _ b: [Double], _ n: Int, what: String) throws -> [Double] {
        var a = a, b = b
        let scale = a.map(abs).max() ?? 0
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<max(n, col + 1) where abs(a[r * n + col]) > abs(a[pivot * n + col]) { pivot = r }
            guard abs(a[pivot * n + col]) > 1e-12 * max(scale, .leastNormalMagnitude) else {
                throw ExplainError.argument("\(what): the system is singular (the samples do not determine every group's value); give more or other samples")
            }
            if pivot != col {
                for k in 0..<n { a.swapAt(col * n + k, pivot * n + k) }
                b.swapAt(col, pivot)
            }
            for r in (col + 1)..<max(n, col + 1) {
                let f = a[r * n + col] / a[col * n + col]
                if f == 0 { continue }
                for k in col..<n { a[r * n + k] -= f * a[col * n + k] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for k in (r + 1)..<max(n, r + 1) { s -= a[r * n + k] * x[k] }
            x[r] = s / a[r * n + r]
        }
        return x
    }

    /// `Σ_s w_s · u_s u_sᵀ` and `Σ_s w_s · u_s y_s` for rows `u_s` of length `n`.
    static func normalEquations(rows: [[Double]], weights: [Double], targets: [Double], _ n: Int) -> (a: [Double], b: [Double]) {
        var a = [Double](repeating: 0, count: n * n), b = [Double](repeating: 0, count: n)
        for (s, u) in rows.enumerated() {
            let w = weights[s]
            if w == 0 { continue }
            for i in 0..<n where u[i] != 0 {
                let wu = w * u[i]
                b[i] += wu * targets[s]
                for j in 0..<n { a[i * n + j] += wu * u[j] }
            }
        }
        return (a, b)
    }
}
