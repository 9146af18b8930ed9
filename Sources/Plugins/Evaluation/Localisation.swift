import ExplainCore
import Foundation

/// Whether an explanation falls on a known object (Quantus's localisation metrics), per sample,
/// against a binary mask (non-zero = object). An image attribution `(N, C, H, W)` with a one-channel
/// mask `(N, 1, H, W)` or `(N, H, W)` is summed over its channels first; otherwise the shapes must
/// have the same number of values per sample. A sample with an empty mask scores NaN.
///
/// - **pointing game** (Zhang et al. 2018): 1 when a position of maximal attribution lies in the mask.
/// - **relevance mass accuracy** (Arras et al. 2022): `Σ_mask a / Σ a` (signed, as Quantus).
/// - **relevance rank accuracy** (Arras et al. 2022): share of the mask among the `|mask|` positions
///   with the highest attribution (tied values ranked by position, first first).
/// - **top-k intersection** (Theiner et al. 2021): share of the mask among the `k` highest positions.
/// - **AUC**: the area under the ROC curve of the attribution as a score for the mask (ties count ½).
/// - **attribution localisation** (Kohlbrenner et al. 2020): `Σ_mask |a| / (Σ |a| + 1e-9)` with `|a|`
///   scaled by its largest value (Quantus's `AttributionLocalisation` with `abs`, unweighted).
public enum Localisation {
    public struct Scores: Sendable {
        public var pointingGame: [Double]
        public var massAccuracy: [Double]
        public var rankAccuracy: [Double]
        public var topKIntersection: [Double]
        public var auc: [Double]
        public var attributionLocalisation: [Double]
    }

    /// Per sample: the attribution values and the mask, flattened alike.
    static func pairs(_ a: Tensor, _ mask: Tensor) throws -> [([Double], [Bool])] {
        guard a.rank >= 2, a.shape[0] >= 1, mask.shape.first == a.shape[0] else {
            throw ExplainError.shape("the mask \(Shape.format(mask.shape)) needs one map per sample of the attribution \(Shape.format(a.shape))")
        }
        try a.requireFinite("the attribution")
        let n = a.shape[0], maskPer = mask.count / n
        var values = a
        if a.rank == 4, a.shape[1] > 1, maskPer == a.shape[2] * a.shape[3] {
            let (c, hw) = (a.shape[1], a.shape[2] * a.shape[3])
            values = Tensor(shape: [n, 1, a.shape[2], a.shape[3]], repeating: 0)
            values.withUnsafeMutableBufferPointer { out in
                for s in 0..<n { for ch in 0..<c { for i in 0..<hw { out[s * hw + i] += a.scalars[(s * c + ch) * hw + i] } } }
            }
        }
        let per = values.count / n
        guard per == maskPer else {
            throw ExplainError.shape("the mask has \(maskPer) values per sample, the attribution \(per) (or \(per) summed over channels)")
        }
        return (0..<n).map { s in
            ((0..<per).map { Double(values.scalars[s * per + $0]) }, (0..<per).map { mask.scalars[s * per + $0] != 0 })
        }
    }

    /// All five scores; `k` for the top-k intersection (at most the number of positions).
    public static func evaluate(attribution a: Tensor, mask: Tensor, k: Int = 1000) throws -> Scores {
        guard k >= 1 else { throw ExplainError(.invalidArgument, "top-k: k must be at least 1, got \(k)") }
        var scores = Scores(pointingGame: [], massAccuracy: [], rankAccuracy: [], topKIntersection: [], auc: [], attributionLocalisation: [])
        for (v, m) in try pairs(a, mask) {
            let inside = m.filter { $0 }.count
            guard inside > 0 else {
                for path in [\Scores.pointingGame, \.massAccuracy, \.rankAccuracy, \.topKIntersection, \.auc, \.attributionLocalisation] { scores[keyPath: path].append(.nan) }
                continue
            }
            let top = v.max() ?? 0
            scores.pointingGame.append(zip(v, m).contains { $0 == top && $1 } ? 1 : 0)
            let total = v.reduce(0, +)
            scores.massAccuracy.append(zip(v, m).reduce(0.0) { $0 + ($1.1 ? $1.0 : 0) } / total)
            let order = v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }   // ties: first position first
            scores.rankAccuracy.append(Double(order.prefix(inside).filter { m[$0] }.count) / Double(inside))
            let kk = min(k, v.count)
            scores.topKIntersection.append(Double(order.prefix(kk).filter { m[$0] }.count) / Double(kk))
            scores.auc.append(inside == v.count ? .nan : rocArea(v, m))
            let magnitude = v.map(abs), largest = magnitude.max() ?? 0
            let scaled = largest > 0 ? magnitude.map { $0 / largest } : magnitude
            scores.attributionLocalisation.append(zip(scaled, m).reduce(0.0) { $0 + ($1.1 ? $1.0 : 0) } / (scaled.reduce(0, +) + 1e-9))
        }
        return scores
    }

    /// P(score of a mask position > score of another position), ties counting ½ (Mann–Whitney).
    static func rocArea(_ v: [Double], _ m: [Bool]) -> Double {
        let ranks = Similarity.ranks(v)
        let positives = Double(m.filter { $0 }.count), negatives = Double(m.count) - positives
        let rankSum = zip(ranks, m).reduce(0.0) { $0 + ($1.1 ? $1.0 : 0) }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// Focus (Arias-Duart et al. 2022, "Focus! Rating XAI methods and finding biases"; Quantus
    /// `Focus`): on a 2 × 2 mosaic of images, the share of the positive relevance (the attribution
    /// scaled per sample by its largest magnitude) that falls in the quadrants showing the target
    /// class, `Σ_target quadrants max(a, 0) / (Σ max(a, 0) + 1e-9)`. `quadrants` holds per sample four
    /// flags, top left, top right, bottom left, bottom right (non-zero: the quadrant shows the
    /// class); an odd side gives the middle row or column to the lower or right quadrants. 1 is best.
    public static func focus(attribution a: Tensor, quadrants: Tensor) throws -> [Double] {
        guard a.rank == 4, a.shape[2] >= 2, a.shape[3] >= 2 else {
            throw ExplainError.shape("focus needs image attributions (N, C, H, W) of mosaics; got \(Shape.format(a.shape))")
        }
        let (n, c, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
        guard quadrants.count == 4 * n, quadrants.shape.first == n else {
            throw ExplainError.shape("focus needs four quadrant flags per sample (N, 4); got \(Shape.format(quadrants.shape)) for \(n) samples")
        }
        try a.requireFinite("the attribution")
        let per = c * h * w
        return (0..<n).map { s in
            let values = (0..<per).map { Double(a.scalars[s * per + $0]) }
            let top = values.map(abs).max() ?? 0
            var total = 0.0, inside = 0.0
            for (i, v) in values.enumerated() {
                let positive = max(top > 0 ? v / top : v, 0)
                let (y, x) = ((i / w) % h, i % w)
                total += positive
                if quadrants.scalars[s * 4 + (y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)] != 0 { inside += positive }
            }
            return inside / (total + 1e-9)
        }
    }
}
