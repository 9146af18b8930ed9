import Foundation
import ExplainCore

/// The CAM papers' confidence metrics (Chattopadhyay et al. 2018, "Grad-CAM++": Average Drop and
/// Increase in Confidence; pytorch-grad-cam `CamMultImageConfidenceChange`, `DropInConfidence`,
/// `IncreaseInConfidence`): the input is multiplied by the map (each sample's map scaled to [0, 1]
/// as pytorch-grad-cam scales its CAMs, `(m − min) / (max − min + 1e-7)`, unless told not to) and the
/// explained output on it is compared with the output on the input. A map that keeps what the model
/// needs loses little confidence. With a class output `(N, K)` the same is reported for the softmax
/// probability, with the paper's aggregates: Average Drop `mean(max(0, Y − O) / Y) · 100` and
/// Increase in Confidence `mean(1[O > Y]) · 100` (`Y` on the input, `O` on the masked input).
public struct ConfidenceChange: Sendable {
    public let minMaxScale: Bool

    public init(minMaxScale: Bool = true) {
        self.minMaxScale = minMaxScale
    }

    public struct Result: Sendable {
        /// `f_t(x ⊙ m) − f_t(x)` per sample (pytorch-grad-cam's score with `ClassifierOutputTarget`).
        public var change: [Double]
        /// The target's softmax probability on the input and on the masked input (class outputs only).
        public var probabilityBefore: [Double]?, probabilityAfter: [Double]?
        /// Grad-CAM++'s Average Drop and Increase in Confidence, in percent (class outputs only).
        public var averageDrop: Double?, increase: Double?
    }

    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> Result {
        let maps = try PixelMaps.of(attribution, for: input, metric: "the confidence metrics")
        let (n, c, plane) = (input.shape[0], input.shape[1], input.shape[2] * input.shape[3])
        var masked = input.scalars
        for s in 0..<n {
            var map = maps[s]
            if minMaxScale {
                let low = map.min() ?? 0, high = (map.max() ?? 0) - low
                map = map.map { ($0 - low) / (high + 1e-7) }
            }
            for ch in 0..<c { for p in 0..<plane { masked[(s * c + ch) * plane + p] *= Float(map[p]) } }
        }
        let (clean, seed, picked) = try model.cleanPass(input, target: target)
        let after = try BatchChunks.predict(model.graph, try Tensor(shape: input.shape, scalars: masked), output: model.output)
        let k = seed.count / n
        func explained(_ out: Tensor, _ s: Int) throws -> Double {
            try Scorer.explained(try out.sample(s), seedRow: Array(seed.scalars[(s * k)..<((s + 1) * k)]))[0]
        }
        var result = Result(change: try (0..<n).map { try explained(after, $0) - explained(clean, $0) })
        if clean.rank == 2, let picked, picked.count == n {
            func probability(_ out: Tensor, _ s: Int) -> Double {
                let row = (0..<out.shape[1]).map { Double(out.scalars[s * out.shape[1] + $0]) }
                let top = row.max() ?? 0, e = row.map { exp($0 - top) }
                return e[picked[s]] / e.reduce(0, +)
            }
            let y = (0..<n).map { probability(clean, $0) }, o = (0..<n).map { probability(after, $0) }
            result.probabilityBefore = y
            result.probabilityAfter = o
            result.averageDrop = zip(y, o).reduce(0.0) { $0 + max(0, $1.0 - $1.1) / max($1.0, .leastNormalMagnitude) } / Double(n) * 100
            result.increase = Double(zip(y, o).filter { $0.1 > $0.0 }.count) / Double(n) * 100
        }
        return result
    }
}
