import ExplainCore

/// Pixel flipping / region perturbation (Samek et al. 2017): the input's regions are replaced by
/// the baseline in the order of their attribution (most relevant first, MoRF, or least relevant
/// first, LeRF), and the target output is recorded after each step. A good explanation makes the
/// MoRF curve fall fast: the area over the perturbation curve,
/// `AOPC = 1/(K + 1) Σ_{k=0..K} (f_t(x⁽⁰⁾) − f_t(x⁽ᵏ⁾))`, is large.
public struct PixelFlipping: Sendable {
    /// Which regions go first.
    public enum Order: String, Sendable, CaseIterable {
        /// Most relevant first (highest attribution).
        case morf
        /// Least relevant first.
        case lerf
    }

    /// Perturbation steps K (the curve has K + 1 points, the first on the unperturbed input).
    public let steps: Int
    /// Side of the square regions of an image (attributions summed over each region and the
    /// channels); 1: single pixels. Non-image inputs use single elements.
    public let region: Int
    /// Share of the regions replaced after the last step.
    public let fraction: Double
    public let order: Order
    public let baseline: Baseline
    public let batchSize: Int

    public init(steps: Int = 16, region: Int = 1, fraction: Double = 1, order: Order = .morf, baseline: Baseline = .zero,
                batchSize: Int = 64) throws {
        guard steps >= 1, steps <= 100_000 else { throw ExplainError.argument("steps = \(steps): give 1…100000") }
        guard region >= 1 else { throw ExplainError.argument("region = \(region): give a side ≥ 1") }
        guard fraction > 0, fraction <= 1 else { throw ExplainError.argument("fraction = \(fraction): give a share in (0, 1]") }
        self.steps = steps
        self.region = region
        self.fraction = fraction
        self.order = order
        self.baseline = baseline
        self.batchSize = batchSize
    }

    /// The curves (per sample, K + 1 values of f_t) and each sample's AOPC.
    public struct Result: Sendable {
        public var curves: [[Double]]
        public var aopc: [Double]
    }

    /// The regions of one sample, as lists of flat element indices (all channels).
    public func regions(sampleShape dims: [Int]) -> [[Int]] { Self.regions(sampleShape: dims, side: region) }

    /// Square regions of side `region` (all channels) of a `(C, H, W)` sample; single elements otherwise.
    public static func regions(sampleShape dims: [Int], side region: Int) -> [[Int]] {
        let per = dims.reduce(1, *)
        guard dims.count == 3 else { return (0..<per).map { [$0] } }
        let (c, h, w) = (dims[0], dims[1], dims[2])
        var out = [[Int]]()
        for r0 in stride(from: 0, to: h, by: region) {
            for c0 in stride(from: 0, to: w, by: region) {
                var cells = [Int]()
                for ch in 0..<c { for r in r0..<min(h, r0 + region) { for col in c0..<min(w, c0 + region) { cells.append((ch * h + r) * w + col) } } }
                out.append(cells)
            }
        }
        return out
    }

    /// Runs the perturbation on `input` ordered by `attribution` (input-shaped, or one channel of
    /// an image), explaining `target`.
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> Result {
        let (scorer, seed, attribution) = try Scorer.checked("pixel flipping", model: model, input: input, attribution: attribution, target: target,
                                                             batchSize: batchSize, hint: " (resize CAM maps first)")
        let x0 = try baseline.batch(like: input)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        let units = regions(sampleShape: dims)
        let removed = min(units.count, Int((Double(units.count) * fraction).rounded(.up)))
        // After step j (1…K), the first ⌈j · removed / K⌉ regions of the order are replaced.
        let counts = (0...steps).map { j in (j * removed + steps - 1) / steps }
        var result = Result(curves: [], aopc: [])
        for s in 0..<n {
            let scores = units.map { cells in cells.reduce(0.0) { $0 + Double(attribution.scalars[s * per + $1]) } }
            let ranked = units.indices.sorted { a, b in
                scores[a] != scores[b] ? (order == .morf ? scores[a] > scores[b] : scores[a] < scores[b]) : a < b
            }
            let b0 = x0.shape[0] == 1 ? 0 : s
            let curve = try input.withUnsafeBufferPointer { px in
                try x0.withUnsafeBufferPointer { pb in
                    try scorer.scores(count: steps + 1, sampleShape: dims, seed: seed, sample: s) { j, out in
                        for i in 0..<per { out[i] = px[s * per + i] }
                        for u in ranked.prefix(counts[j]) { for i in units[u] { out[i] = pb[b0 * per + i] } }
                    }
                }
            }
            result.curves.append(curve)
            result.aopc.append(curve.reduce(0.0) { $0 + (curve[0] - $1) } / Double(curve.count))
        }
        return result
    }
}
