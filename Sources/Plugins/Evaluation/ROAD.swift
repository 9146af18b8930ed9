import ExplainCore

/// Noisy linear imputation (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy for
/// Attribution Methods"): every removed pixel takes the weighted mean of its eight neighbours
/// (weight 1/6 for the four beside it, 1/12 for the diagonal ones, over those inside the image),
/// removed neighbours included — one sparse linear system per image, solved exactly for all channels
/// at once (banded Cholesky, LAPACK `dpbsv`), then Gaussian noise of standard deviation `noise` is
/// added to the imputed values. The system is pytorch-grad-cam's `NoisyLinearImputer`'s.
public enum LinearImputation {
    /// (row offset, column offset, weight) of the eight neighbours.
    static let neighbours: [(Int, Int, Double)] = [(1, 1, 1.0 / 12), (0, 1, 1.0 / 6), (-1, 1, 1.0 / 12), (1, -1, 1.0 / 12),
                                                   (0, -1, 1.0 / 6), (-1, -1, 1.0 / 12), (1, 0, 1.0 / 6), (-1, 0, 1.0 / 6)]
    /// Largest band storage accepted (entries of the banded system).
    public static let maximumBand = 1 << 26

    /// The `(C, H, W)` image with the pixels where `keep` is false imputed.
    public static func impute(_ image: [Float], channels c: Int, height h: Int, width w: Int, keep: [Bool], noise: Double,
                              rng: inout SeededGenerator) throws -> [Float] {
        let plane = h * w
        guard image.count == c * plane, keep.count == plane else {
            throw ExplainError.shape("imputation: \(image.count) values and a mask of \(keep.count) do not fit (\(c), \(h), \(w))")
        }
        var unknown = [Int](repeating: -1, count: plane), pixels = [Int]()
        for p in 0..<plane where !keep[p] { unknown[p] = pixels.count; pixels.append(p) }
        let n = pixels.count
        guard n > 0 else { return image }
        guard n < plane else { throw ExplainError.argument("imputation needs at least one kept pixel; the mask removes all \(plane)") }
        // Band width: the largest distance, in unknowns, between two removed neighbours.
        var kd = 0
        for (i, p) in pixels.enumerated() {
            for (dy, dx, _) in neighbours {
                let (y, x) = (p / w + dy, p % w + dx)
                guard y >= 0, y < h, x >= 0, x < w, unknown[y * w + x] > i else { continue }
                kd = max(kd, unknown[y * w + x] - i)
            }
        }
        guard Double(kd + 1) * Double(n) <= Double(maximumBand) else {
            throw ExplainError(.tooLarge, "imputing \(n) pixels of a \(h) × \(w) image needs a band of \(kd + 1) × \(n) entries (at most \(maximumBand)): use a smaller image")
        }
        // (D − W) x = Σ w v over kept neighbours: D the valid neighbours' weights, W the removed ones'.
        var band = [Double](repeating: 0, count: (kd + 1) * n), rhs = [Double](repeating: 0, count: n * c)
        for (i, p) in pixels.enumerated() {
            for (dy, dx, weight) in neighbours {
                let (y, x) = (p / w + dy, p % w + dx)
                guard y >= 0, y < h, x >= 0, x < w else { continue }
                band[i * (kd + 1)] += weight
                let q = y * w + x
                if keep[q] {
                    for ch in 0..<c { rhs[ch * n + i] += weight * Double(image[ch * plane + q]) }
                } else if unknown[q] > i {
                    band[i * (kd + 1) + unknown[q] - i] -= weight
                }
            }
        }
        let solution = try LAPACK.solveBandedPositiveDefinite(band: band, n: n, subdiagonals: kd, rhs: rhs, columns: c)
        var gaussian = [Float](repeating: 0, count: noise > 0 ? n * c : 0)
        gaussian.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
        var out = image
        for ch in 0..<c {
            for (i, p) in pixels.enumerated() {
                out[ch * plane + p] = Float(solution[ch * n + i]) + (noise > 0 ? Float(noise) * gaussian[ch * n + i] : 0)
            }
        }
        return out
    }
}

/// ROAD, RemOve And Debias (Rong et al. 2022; pytorch-grad-cam `ROADMostRelevantFirstAverage`,
/// `ROADLeastRelevantFirstAverage`, `ROADCombined`): for each percentile p the pixels at or above
/// the p-th percentile of the map (MoRF), or of one minus the map (LeRF: the least relevant), are
/// removed and linearly imputed (`LinearImputation`), and the score is the change of the explained
/// output, `f_t(imputed) − f_t(x)`, averaged over the percentiles. A faithful map makes MoRF
/// fall far and LeRF little: `combined = (LeRF − MoRF) / 2`, larger is better. The map is the
/// attribution summed over channels (one-channel maps as they are); thresholds are float
/// percentiles with linear interpolation, as numpy's.
public struct ROAD: Sendable {
    public let percentiles: [Double]
    public let noise: Double
    public let seed: UInt64
    public let batchSize: Int

    public init(percentiles: [Double] = [10, 20, 30, 40, 50, 60, 70, 80, 90], noise: Double = 0.01, seed: UInt64 = 0, batchSize: Int = 64) throws {
        guard !percentiles.isEmpty, percentiles.allSatisfy({ $0 >= 0 && $0 <= 100 }) else {
            throw ExplainError.argument("percentiles \(percentiles): give one or more values in 0…100")
        }
        guard noise >= 0, noise.isFinite else { throw ExplainError.argument("noise = \(noise): give a standard deviation ≥ 0") }
        (self.percentiles, self.noise, self.seed, self.batchSize) = (percentiles, noise, seed, batchSize)
    }

    /// Per percentile (rows) and sample (columns) the output changes, and their averages.
    public struct Result: Sendable {
        public var morf: [[Double]], lerf: [[Double]]
        public var morfMean: [Double], lerfMean: [Double], combined: [Double]
    }

    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> Result {
        let maps = try PixelMaps.of(attribution, for: input, metric: "ROAD")
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let scorer = Scorer(model: model, batchSize: batchSize)
        let (_, seedTensor, _) = try model.cleanPass(input, target: target)
        let plane = h * w, per = c * plane
        var rng = SeededGenerator(seed: seed)
        var morf = [[Double]](repeating: [Double](repeating: 0, count: n), count: percentiles.count), lerf = morf
        for s in 0..<n {
            let image = Array(input.scalars[(s * per)..<((s + 1) * per)])
            let map = maps[s].map { Float($0) }
            let reversed = map.map { 1 - $0 }
            var images = [image]
            for source in [map, reversed] {
                let sorted = source.sorted()
                for p in percentiles {
                    let threshold = Self.percentile(sorted, p)
                    let keep = source.map { $0 < threshold }
                    guard keep.contains(true) else {
                        throw ExplainError.argument("ROAD: sample \(s)'s map has no pixel below its \(p)-th percentile (a constant map?), so every pixel "
                                                    + "would be removed; choose higher percentiles (--percentiles) or another method")
                    }
                    images.append(try LinearImputation.impute(image, channels: c, height: h, width: w, keep: keep, noise: noise, rng: &rng))
                }
            }
            let f = try scorer.scores(count: images.count, sampleShape: [c, h, w], seed: seedTensor, sample: s) { k, out in
                for i in 0..<per { out[i] = images[k][i] }
            }
            for j in percentiles.indices {
                morf[j][s] = f[1 + j] - f[0]
                lerf[j][s] = f[1 + percentiles.count + j] - f[0]
            }
        }
        func mean(_ rows: [[Double]]) -> [Double] { (0..<n).map { s in rows.reduce(0.0) { $0 + $1[s] } / Double(rows.count) } }
        let (m, l) = (mean(morf), mean(lerf))
        return Result(morf: morf, lerf: lerf, morfMean: m, lerfMean: l, combined: zip(l, m).map { ($0 - $1) / 2 })
    }

    /// numpy's `percentile(values, p)` (linear interpolation) of sorted float values, as a float.
    static func percentile(_ sorted: [Float], _ p: Double) -> Float {
        guard !sorted.isEmpty else { return 0 }
        let index = p / 100 * Double(sorted.count - 1)
        let lo = min(Int(index.rounded(.down)), sorted.count - 1), hi = min(lo + 1, sorted.count - 1)
        let t = index - Double(lo), (a, b) = (Double(sorted[lo]), Double(sorted[hi]))
        return Float(t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t)
    }
}

/// What the map-based image metrics (ROAD, the confidence metrics) share: images and maps at their
/// size, checked, and each sample's map summed over its channels.
enum PixelMaps {
    /// Per sample the `H · W` map: the attribution `(N, 1 or C, H, W)` summed over channels, in Double.
    static func of(_ attribution: Tensor, for input: Tensor, metric: String) throws -> [[Double]] {
        guard input.rank == 4 else { throw ExplainError.shape("\(metric) works on images (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        guard attribution.rank == 4, attribution.shape[0] == n, attribution.shape[2] == h, attribution.shape[3] == w else {
            throw ExplainError.shape("\(metric) needs a map (N, 1 or C, H, W) at the input's size \(Shape.format(input.shape)); got \(Shape.format(attribution.shape))")
        }
        try input.requireFinite("the input")
        try attribution.requireFinite("the attribution")
        let plane = h * w, ac = attribution.shape[1]
        return attribution.withUnsafeBufferPointer { pa in
            (0..<n).map { s in (0..<plane).map { p in (0..<ac).reduce(0.0) { $0 + Double(pa[(s * ac + $1) * plane + p]) } } }
        }
    }
}
