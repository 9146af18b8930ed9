import Foundation
import ExplainCore

/// Finer-CAM's explained output (Zhang et al. 2025, "Finer-CAM: Spotting the Difference Reveals
/// Finer Details for Visual Explanation"; pytorch-grad-cam `FinerCAM` with `FinerWeightedTarget`):
/// the target's logit against the classes whose logits are closest to it,
///
///     T = Σ_j p_j (y_m − α y_j) / (Σ_j p_j + 10⁻⁹),  p = softmax(y),
///
/// with `m` the class nearest the target's logit (the target itself unless logits tie) and `j` the
/// classes at the given ranks of that nearness order (default 1, 2, 3). The seed of the backward
/// pass is `∂T/∂y`, the softmax weights included.
public struct FinerTarget: Sendable {
    /// α: how strongly the compared classes are subtracted.
    public var alpha: Double
    /// Ranks (in order of nearness of their logits to the target's, 0 = the target) of the compared classes.
    public var ranks: [Int]

    public init(alpha: Double = 1, ranks: [Int] = [1, 2, 3]) {
        self.alpha = alpha
        self.ranks = ranks
    }

    /// The seed `∂T/∂y` for each sample of a `(N, K)` output, and the main class of each sample.
    public func seed(for output: Tensor, target: Target) throws -> (seed: Tensor, indices: [Int]) {
        guard output.rank == 2 else {
            throw ExplainError.shape("finercam compares the classes of a (N, K) output; the explained output is \(Shape.format(output.shape))")
        }
        guard let targets = try target.indices(for: output) else {
            throw ExplainError.argument("finercam needs one target class per sample (max, an index or file:T.npy with indices), not \(target)")
        }
        let (n, k) = (output.shape[0], output.shape[1])
        var seed = [Float](repeating: 0, count: n * k), mains = [Int]()
        for s in 0..<n {
            let y = (0..<k).map { Double(output.scalars[s * k + $0]) }
            // Nearness to the target's logit; equal distances keep the class order (numpy's
            // insertion sort on short rows).
            let order = (0..<k).sorted { (abs(y[$0] - y[targets[s]]), $0) < (abs(y[$1] - y[targets[s]]), $1) }
            let m = order[0], compared = ranks.filter { $0 < k }.map { order[$0] }
            let top = y.max() ?? 0
            let e = y.map { exp($0 - top) }, total = e.reduce(0, +)
            let p = e.map { $0 / total }
            let d = compared.map { y[m] - alpha * y[$0] }
            let sumP = compared.reduce(0.0) { $0 + p[$1] }
            let num = zip(compared, d).reduce(0.0) { $0 + p[$1.0] * $1.1 }, den = sumP + 1e-9
            // ∂p_j/∂y_i = p_j (δ_ij − p_i).
            for i in 0..<k {
                var dNum = -p[i] * num + (i == m ? sumP : 0), dDen = -p[i] * sumP
                for (j, dj) in zip(compared, d) where j == i {
                    dNum += p[i] * dj - alpha * p[i]
                    dDen += p[i]
                }
                seed[s * k + i] = Float((dNum * den - num * dDen) / (den * den))
            }
            mains.append(m)
        }
        return (try Tensor(shape: [n, k], scalars: seed), mains)
    }

    /// Parses `comparison=1,2,3`.
    public static func parseRanks(_ text: String) throws -> [Int] {
        let ranks = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ranks.isEmpty, ranks.allSatisfy({ ($0 ?? 0) >= 1 }), case let list = ranks.compactMap({ $0 }), list.count == ranks.count else {
            throw ExplainError.argument("comparison = '\(text)': give ranks ≥ 1 separated by commas, e.g. 1,2,3 (rank 0 is the target itself)")
        }
        return list
    }
}
