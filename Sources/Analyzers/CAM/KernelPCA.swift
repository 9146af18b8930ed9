import Foundation
import ExplainCore

/// KPCA-CAM's map (Karmani et al. 2024; pytorch-grad-cam `KPCA_CAM`, scikit-learn `KernelPCA`): the
/// feature map's positions, centred per channel, projected on the first kernel principal component.
///
/// With `X` the positions × channels matrix centred per channel, `K = k(X, X)` centred in feature
/// space (`K − row means − column means + total mean`), `(λ, u)` its largest eigenpair with `u`'s
/// largest-magnitude entry made positive (scikit-learn's `svd_flip`), the map is `u · √max(λ, 0)`.
public struct KernelPCA: Sendable {
    /// The kernels of scikit-learn's `pairwise_kernels` that KPCA-CAM can take.
    public enum Kernel: String, Sendable, CaseIterable {
        case sigmoid, rbf, poly, linear, cosine
    }

    public var kernel: Kernel
    /// γ of the sigmoid, rbf and poly kernels (nil: 1 / channels, scikit-learn's default).
    public var gamma: Double?
    /// coef0 of the sigmoid and poly kernels, and the poly kernel's degree (scikit-learn's defaults).
    public var coef0 = 1.0, degree = 3.0

    public init(kernel: Kernel = .sigmoid, gamma: Double? = nil) {
        self.kernel = kernel
        self.gamma = gamma
    }

    /// Largest number of positions: the eigenproblem is of that order.
    public static let maximumPositions = 4096

    /// The projection of each sample's positions, `(N, 1, h, w)`.
    public func map(activation a: Tensor) throws -> Tensor {
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        guard hw <= Self.maximumPositions else {
            throw ExplainError.argument("kpcacam solves an eigenproblem over the feature map's \(hw) positions (at most \(Self.maximumPositions)): "
                                        + "choose a later, smaller layer (--set layer=NODE)")
        }
        var out = [Float](repeating: 0, count: n * hw)
        for s in 0..<n {
            // X[i][ch], position i, channel ch, centred per channel (NaN read as 0, as the peer does).
            var x = [Double](repeating: 0, count: hw * c)
            for ch in 0..<c {
                let base = (s * c + ch) * hw
                let values = (0..<hw).map { i -> Double in let v = Double(a.scalars[base + i]); return v.isNaN ? 0 : v }
                let mean = values.reduce(0, +) / Double(hw)
                for i in 0..<hw { x[i * c + ch] = values[i] - mean }
            }
            let k = centred(gram(x, rows: hw, columns: c), hw)
            let (value, vector) = try LAPACK.largestEigenpair(k, n: hw)
            var top = 0
            for i in 1..<max(hw, 1) where abs(vector[i]) > abs(vector[top]) { top = i }
            let sign: Double = vector[top] > 0 ? 1 : vector[top] < 0 ? -1 : 0
            let scale = sign * max(value, 0).squareRoot()
            for i in 0..<hw { out[s * hw + i] = Float(vector[i] * scale) }
        }
        return try Tensor(shape: [n, 1, a.shape[2], a.shape[3]], scalars: out)
    }

    /// `k(x_i, x_j)` for all pairs of rows.
    func gram(_ x: [Double], rows m: Int, columns c: Int) -> [Double] {
        let gamma = self.gamma ?? 1 / Double(c)
        var dot = [Double](repeating: 0, count: m * m)
        for i in 0..<m { for j in i..<m {
            var s = 0.0
            for ch in 0..<c { s += x[i * c + ch] * x[j * c + ch] }
            dot[i * m + j] = s
            dot[j * m + i] = s
        } }
        var k = dot
        for i in 0..<m { for j in 0..<m {
            let d = dot[i * m + j]
            switch kernel {
            case .linear: break
            case .sigmoid: k[i * m + j] = tanh(gamma * d + coef0)
            case .poly: k[i * m + j] = pow(gamma * d + coef0, degree)
            case .rbf: k[i * m + j] = exp(-gamma * max(dot[i * m + i] + dot[j * m + j] - 2 * d, 0))
            case .cosine:
                let norm = (dot[i * m + i] * dot[j * m + j]).squareRoot()
                k[i * m + j] = norm > 0 ? d / norm : 0
            }
        } }
        return k
    }

    /// `K − row means − column means + total mean` (scikit-learn's `KernelCenterer`).
    func centred(_ k: [Double], _ m: Int) -> [Double] {
        let columnMeans = (0..<m).map { j in (0..<m).reduce(0.0) { $0 + k[$1 * m + j] } / Double(m) }
        let rowMeans = (0..<m).map { i in (0..<m).reduce(0.0) { $0 + k[i * m + $1] } / Double(m) }
        let total = columnMeans.reduce(0, +) / Double(m)
        var out = k
        for i in 0..<m { for j in 0..<m { out[i * m + j] = k[i * m + j] - columnMeans[j] - rowMeans[i] + total } }
        return out
    }
}
