import ExplainCore

/// Iterative removal of features (Rieger & Hansen 2020, "IROF: a low resource evaluation metric for
/// explanation methods"; Quantus `IROF`): the image's superpixels, ordered by their mean attribution
/// (over their pixels and channels, highest first, ties by segment id), are removed one after the
/// other — each filled with `fill` taken from the image as it is at that step (Quantus's `mean`:
/// the mean of the partly removed image) — and the score is the area over the curve of the
/// explained output relative to the original, `M − trapz(f_t(x̃₁)/f_t(x), …, f_t(x̃_M)/f_t(x))`
/// for M segments. Higher: the output falls faster when the most relevant segments go.
///
/// The segments come from the caller (Quantus: scikit-image's SLIC with its defaults, which the
/// CLI's `--slic` computes); each sample is scored on its own, as Quantus scores a batch of one.
public struct IROF: Sendable {
    public let fill: FillValue
    public let batchSize: Int

    public init(fill: FillValue = .mean, batchSize: Int = 64) {
        self.fill = fill
        self.batchSize = batchSize
    }

    public struct Result: Sendable {
        /// Per sample: the area over the curve.
        public var aoc: [Double]
        /// Per sample: `f_t(x̃ⱼ) / f_t(x)` after each removed segment.
        public var curves: [[Double]]
    }

    /// `segments`: per sample, a segment id 0…M−1 for each of the H · W pixels of an (N, C, H, W) image.
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target, segments: [[Int]]) throws -> Result {
        guard input.rank == 4 else { throw ExplainError.shape("IROF removes superpixels of images (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (scorer, seed, a) = try Scorer.checked("IROF", model: model, input: input, attribution: attribution, target: target, batchSize: batchSize)
        let (n, c, plane) = (input.shape[0], input.shape[1], input.shape[2] * input.shape[3]), per = c * plane
        guard segments.count == n, segments.allSatisfy({ $0.count == plane && $0.allSatisfy { $0 >= 0 && $0 < plane } }) else {
            throw ExplainError.shape("IROF needs one segment id (0 … H·W − 1) per pixel of each of the \(n) images")
        }
        var result = Result(aoc: [], curves: [])
        for s in 0..<n {
            let labels = segments[s], m = (labels.max() ?? 0) + 1
            var sums = [Double](repeating: 0, count: m), counts = [Int](repeating: 0, count: m)
            for ch in 0..<c {
                for p in 0..<plane { sums[labels[p]] += Double(a.scalars[s * per + ch * plane + p]); counts[labels[p]] += 1 }
            }
            let means = (0..<m).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : -.infinity }
            let order = (0..<m).filter { counts[$0] > 0 }.sorted { means[$0] > means[$1] || (means[$0] == means[$1] && $0 < $1) }
            var step = [Int](repeating: Int.max, count: m)   // step (1-based) at which each segment goes
            for (j, g) in order.enumerated() { step[g] = j + 1 }
            // The fill of each step, from the image as it is then.
            let x = Array(input.scalars[(s * per)..<((s + 1) * per)])
            var current = x, values = [Float]()
            for g in order {
                let v = current.withUnsafeBufferPointer { fill.value(for: $0) }
                values.append(v)
                for ch in 0..<c { for p in 0..<plane where labels[p] == g { current[ch * plane + p] = v } }
            }
            let f = try scorer.scores(count: order.count + 1, sampleShape: Array(input.shape.dropFirst()), seed: seed, sample: s) { j, out in
                for i in 0..<per {
                    let k = step[labels[i % plane]]
                    out[i] = k <= j ? values[k - 1] : x[i]
                }
            }
            let curve = (1..<f.count).map { f[$0] / f[0] }
            let area = zip(curve, curve.dropFirst()).reduce(0.0) { $0 + ($1.0 + $1.1) / 2 }
            result.curves.append(curve)
            result.aoc.append(Double(curve.count) - area)
        }
        return result
    }
}
