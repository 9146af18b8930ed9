import ExplainCore
import Foundation

/// How concentrated an explanation is (Quantus's complexity metrics), per sample. Each sample's
/// attribution is first made absolute and divided by its largest magnitude (Quantus's
/// `normalise_by_max` over the sample's axes, then `abs`; an all-zero map stays zero):
///
/// - **sparseness** (Chalasani et al. 2020): the Gini index of the sorted values `v_(1) ≤ … ≤ v_(n)`
///   (each shifted by 1e-7, as Quantus does), `Σ_i (2i − n − 1) v_(i) / (n Σ_i v_(i))`; 1 = one
///   feature carries everything, 0 = all equal. Higher is sparser.
/// - **complexity** (Bhatt et al. 2020): the entropy `−Σ p_i log(p_i + 1e-12)` of `p = v / Σ v`;
///   lower is simpler.
/// - **effective complexity** (Nguyen & Martínez 2020): how many features exceed `epsilon` (1e-5).
public enum ComplexityMetrics {
    /// Per sample: `|a| / max |a|`, flattened, in Double.
    static func normalised(_ a: Tensor) throws -> [[Double]] {
        guard a.rank >= 1, a.shape[0] >= 1, a.count > 0 else { throw ExplainError.shape("an attribution needs a batch dimension, got \(Shape.format(a.shape))") }
        try a.requireFinite("the attribution")
        let n = a.shape[0], per = a.count / n
        return a.withUnsafeBufferPointer { p in
            (0..<n).map { s in
                let v = (0..<per).map { abs(Double(p[s * per + $0])) }
                let top = v.max() ?? 0
                return top > 0 ? v.map { $0 / top } : v
            }
        }
    }

    public static func sparseness(_ a: Tensor) throws -> [Double] {
        try normalised(a).map { v in
            let sorted = v.map { $0 + 1e-7 }.sorted(), n = Double(sorted.count)
            let weighted = sorted.enumerated().reduce(0.0) { $0 + (2 * Double($1.offset + 1) - n - 1) * $1.element }
            return weighted / (n * sorted.reduce(0, +))
        }
    }

    public static func complexity(_ a: Tensor) throws -> [Double] {
        try normalised(a).map { v in
            let total = v.reduce(0, +)
            guard total > 0 else { return 0 }
            return -v.reduce(0.0) { acc, x in let p = x / total; return acc + p * Foundation.log(p + 1e-12) }
        }
    }

    public static func effectiveComplexity(_ a: Tensor, epsilon: Double = 1e-5) throws -> [Int] {
        try normalised(a).map { v in v.filter { $0 > epsilon }.count }
    }
}
