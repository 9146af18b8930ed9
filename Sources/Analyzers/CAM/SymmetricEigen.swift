import Foundation

/// Eigen-decomposition of small symmetric matrices by cyclic Jacobi rotations, in Double.
enum SymmetricEigen {
    /// Eigenvalues and eigenvectors (columns of `vectors`, row-major `n × n`) of the symmetric `a`.
    static func decompose(_ a: [Double], _ n: Int) -> (values: [Double], vectors: [Double]) {
        var a = a
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        let scale = max(a.reduce(0) { $0 + $1 * $1 }, .leastNormalMagnitude)
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(n, p + 1) { off += a[p * n + q] * a[p * n + q] } }
            if off <= 1e-30 * scale { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) where a[p * n + q] != 0 {
                    let apq = a[p * n + q]
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {   // columns p and q of A·J
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {   // rows p and q of Jᵀ·A
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }

    /// `R v` for the right singular vector `v` of the largest singular value of `R` (`rows ×
    /// columns`, row-major), up to sign; through the smaller of the two Gram matrices.
    static func firstPrincipalProjection(_ r: [Double], rows m: Int, columns c: Int) -> [Double] {
        guard m > 0, c > 0 else { return [Double](repeating: 0, count: m) }
        if c <= m {
            var gram = [Double](repeating: 0, count: c * c)   // RᵀR
            for i in 0..<m { for a in 0..<c { let ra = r[i * c + a]; if ra != 0 { for b in 0..<c { gram[a * c + b] += ra * r[i * c + b] } } } }
            let (values, vectors) = decompose(gram, c)
            let top = values.indices.max { values[$0] < values[$1] } ?? 0
            return (0..<m).map { i in (0..<c).reduce(0.0) { $0 + r[i * c + $1] * vectors[$1 * c + top] } }
        }
        var gram = [Double](repeating: 0, count: m * m)   // RRᵀ: R v = σ u
        for i in 0..<m { for j in i..<m {
            var s = 0.0
            for k in 0..<c { s += r[i * c + k] * r[j * c + k] }
            gram[i * m + j] = s; gram[j * m + i] = s
        } }
        let (values, vectors) = decompose(gram, m)
        let top = values.indices.max { values[$0] < values[$1] } ?? 0
        let sigma = max(values[top], 0).squareRoot()
        return (0..<m).map { sigma * vectors[$0 * m + top] }
    }
}
