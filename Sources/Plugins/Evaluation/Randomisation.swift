import ExplainCore

/// The model-parameter randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency
/// Maps"): the weights of the Conv/Dense layers are replaced by random ones — cascading from the
/// output towards the input, or one layer at a time — and each randomised model's explanation is
/// compared with the original one by Spearman rank correlation (signed and of absolute values), and
/// for images by SSIM and the correlation of HOG features of the scaled maps.
/// An explanation that stays similar when the model it explains is destroyed fails the check.
public struct ModelRandomisation: Sendable {
    /// Which layers are randomised at each step.
    public enum Mode: String, Sendable, CaseIterable {
        /// Every layer from the output down to the current one.
        case cascading
        /// Only the current layer.
        case independent
    }

    public let mode: Mode
    public let seed: UInt64
    /// The HOG features compared (scikit-image's defaults: 9 orientations, 8 × 8 cells, 3 × 3 blocks).
    public let hog: HOG

    public init(mode: Mode = .cascading, seed: UInt64 = 0, hog: HOG? = nil) throws {
        self.mode = mode
        self.seed = seed
        self.hog = try hog ?? HOG()
    }

    /// One step: the layer randomised last, and per sample the two rank correlations and, for
    /// image attributions, the structural similarity of the min-max scaled maps.
    public struct Step: Sendable {
        public var layer: String
        public var spearman: [Double]
        public var spearmanAbsolute: [Double]
        public var ssim: [Double]?
        /// Pearson correlation of the HOG features of the scaled maps (nil for maps smaller than a HOG block).
        public var hog: [Double]?
    }

    /// The randomised steps, output side first. `make` builds the explanation method for a model
    /// (e.g. `registry.makeAnalyzer(id, model:, options:)`).
    public func run(model: ExplainableModel, input: Tensor, target: Target,
                    make: (ExplainableModel) throws -> any Analyzer) throws -> (original: Attribution, steps: [Step]) {
        let original = try make(model).analyze(input, target: target)
        // Keep explaining the same neurons as the original model.
        let fixed = original.sameTargets(or: target)
        let g = model.graph
        let layers = g.nodes.indices.reversed().compactMap { i in (g.nodes[i].layer as? any AffineLayer).map { (i, $0) } }
        var rng = SeededGenerator(seed: seed)
        var current = g, steps = [Step]()
        for (index, layer) in layers {
            let random = try layer.with(weight: Self.randomLike(layer.weight, using: &rng), bias: try layer.bias.map { try Self.randomLike($0, using: &rng) })
            let base = mode == .cascading ? current : g
            current = try base.replacingLayer(at: index, with: random)
            var m = model
            m.graph = current
            let a = try make(m).analyze(input, target: fixed)
            guard a.values.shape == original.values.shape else {
                throw ExplainError.shape("the randomised model's explanation has shape \(Shape.format(a.values.shape)), the original \(Shape.format(original.values.shape))")
            }
            steps.append(Step(layer: g.nodes[index].name, spearman: Self.perSample(original.values, a.values, absolute: false),
                              spearmanAbsolute: Self.perSample(original.values, a.values, absolute: true),
                              ssim: Similarity.ssimPerSample(original.values, a.values),
                              hog: Similarity.hogPerSample(original.values, a.values, hog: hog)))
        }
        return (original, steps)
    }

    /// Gaussian values with the mean and standard deviation of `t` (a constant tensor stays itself).
    static func randomLike(_ t: Tensor, using rng: inout SeededGenerator) throws -> Tensor {
        let n = Double(max(t.count, 1))
        let mean = t.scalars.reduce(0.0) { $0 + Double($1) } / n
        let sd = (t.scalars.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
        var out = Tensor(shape: t.shape)
        out.withUnsafeMutableBufferPointer { p in
            rng.fillGaussian(p)
            for i in 0..<p.count { p[i] = Float(mean + sd * Double(p[i])) }
        }
        return out
    }

    static func perSample(_ a: Tensor, _ b: Tensor, absolute: Bool) -> [Double] {
        let n = max(a.shape.first ?? 1, 1), per = a.count / n
        return (0..<n).map { s in
            let x = a.scalars[(s * per)..<((s + 1) * per)].map { absolute ? abs(Double($0)) : Double($0) }
            let y = b.scalars[(s * per)..<((s + 1) * per)].map { absolute ? abs(Double($0)) : Double($0) }
            return Similarity.spearman(x, y)
        }
    }
}

/// Similarity of two explanations.
public enum Similarity {
    /// Ranks 1…n, ties sharing the mean of their ranks.
    public static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var r = [Double](repeating: 0, count: v.count), i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let mean = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = mean }
            i = j + 1
        }
        return r
    }

    /// Pearson correlation (0 when either side is constant).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard n > 1, x.count == y.count else { return 0 }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my) }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : 0
    }

    /// Spearman rank correlation: the Pearson correlation of the ranks (ties averaged).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double { pearson(ranks(x), ranks(y)) }

    /// Mean structural similarity (Wang et al. 2004) of two `h × w` maps with values in a range of
    /// `dataRange`, with scikit-image's defaults: 7 × 7 uniform windows over the positions where the
    /// window fits, sample covariances, K1 = 0.01, K2 = 0.03. Maps smaller than the window: nil.
    public static func ssim(_ a: [Double], _ b: [Double], height h: Int, width w: Int, dataRange: Double = 1) -> Double? {
        let win = 7, np = Double(win * win)
        guard h >= win, w >= win, a.count == h * w, b.count == h * w else { return nil }
        let (c1, c2) = ((0.01 * dataRange) * (0.01 * dataRange), (0.03 * dataRange) * (0.03 * dataRange))
        let unbiased = np / (np - 1)
        var total = 0.0, windows = 0
        for y in 0...(h - win) {
            for x in 0...(w - win) {
                var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
                for dy in 0..<win {
                    for dx in 0..<win {
                        let (u, v) = (a[(y + dy) * w + x + dx], b[(y + dy) * w + x + dx])
                        sa += u; sb += v; saa += u * u; sbb += v * v; sab += u * v
                    }
                }
                let (ma, mb) = (sa / np, sb / np)
                let va = unbiased * (saa / np - ma * ma), vb = unbiased * (sbb / np - mb * mb), cov = unbiased * (sab / np - ma * mb)
                total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
                windows += 1
            }
        }
        return total / Double(windows)
    }

    /// Per sample of two (N, C, H, W) attributions: SSIM of the channel sums, each min-max scaled to
    /// [0, 1] (as Adebayo et al. compare normalised maps); nil for other ranks or small maps.
    public static func ssimPerSample(_ a: Tensor, _ b: Tensor) -> [Double]? {
        guard a.rank == 4, a.shape == b.shape else { return nil }
        var out = [Double]()
        for s in 0..<a.shape[0] {
            guard let v = ssim(scaledMap(a, sample: s), scaledMap(b, sample: s), height: a.shape[2], width: a.shape[3]) else { return nil }
            out.append(v)
        }
        return out
    }

    /// Sample `s` of an (N, C, H, W) attribution summed over the channels and min-max scaled to [0, 1]
    /// (a constant map becomes 0).
    public static func scaledMap(_ t: Tensor, sample s: Int) -> [Double] {
        let (c, hw) = (t.shape[1], t.shape[2] * t.shape[3])
        var m = [Double](repeating: 0, count: hw)
        t.withUnsafeBufferPointer { p in
            for ch in 0..<c { for i in 0..<hw { m[i] += Double(p[(s * c + ch) * hw + i]) } }
        }
        let lo = m.min() ?? 0, hi = m.max() ?? 0
        return m.map { hi > lo ? ($0 - lo) / (hi - lo) : 0 }
    }
}
