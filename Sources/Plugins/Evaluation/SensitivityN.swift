import ExplainCore
import Foundation

/// Sensitivity-n (Ancona, Ceolini, Öztireli & Gross 2018, "Towards better understanding of
/// gradient-based attribution methods"): for random subsets S of n regions, how well the summed
/// attribution `Σ_{i∈S} R_i` predicts the output change `f_t(x) − f_t(x with S at the baseline)`,
/// as the Pearson correlation over the subsets, per sample and per n. A method satisfies
/// sensitivity-n when the correlation is 1; on an affine model Input × Gradient (baseline 0) and
/// Integrated Gradients do for every n, and no method does for every n on a non-linear model.
public struct SensitivityN: Sendable {
    /// Subset sizes n (in regions); nil: 8 sizes spaced logarithmically from 1 to 80 % of the regions.
    public let sizes: [Int]?
    /// Random subsets per size.
    public let subsets: Int
    /// Side of the square regions of an image (1: single pixels, all channels together).
    public let region: Int
    public let baseline: Baseline
    public let seed: UInt64
    public let batchSize: Int

    public init(sizes: [Int]? = nil, subsets: Int = 100, region: Int = 1, baseline: Baseline = .zero, seed: UInt64 = 0,
                batchSize: Int = 64) throws {
        guard subsets >= 2, subsets <= 1_000_000 else { throw ExplainError.argument("subsets = \(subsets): give 2…1000000 (a correlation needs at least two)") }
        guard region >= 1 else { throw ExplainError.argument("region = \(region): give a side ≥ 1") }
        if let sizes, sizes.isEmpty || sizes.contains(where: { $0 < 1 }) {
            throw ExplainError.argument("sizes \(sizes): give subset sizes ≥ 1")
        }
        self.sizes = sizes
        self.subsets = subsets
        self.region = region
        self.baseline = baseline
        self.seed = seed
        self.batchSize = batchSize
    }

    /// The subset sizes used for `regions` regions.
    public func sizes(regions m: Int) throws -> [Int] {
        if let sizes {
            guard let bad = sizes.first(where: { $0 > m }) else { return sizes }
            throw ExplainError.argument("subset size \(bad) exceeds the \(m) regions of a sample")
        }
        let top = max(1, Int(0.8 * Double(m)))
        let logs = (0..<8).map { k in Int((exp(log(Double(top)) * Double(k) / 7)).rounded()) }
        return Array(Set(logs.map { min(max($0, 1), top) })).sorted()
    }

    /// The result: the sizes, and per sample one correlation per size.
    public struct Result: Sendable {
        public var sizes: [Int]
        public var correlations: [[Double]]
    }

    /// Evaluates `attribution` (input-shaped, or one channel of an image) on `input` for `target`.
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> Result {
        let (scorer, seedTensor, attribution) = try Scorer.checked("sensitivity-n", model: model, input: input, attribution: attribution,
                                                                   target: target, batchSize: batchSize)
        let x0 = try baseline.batch(like: input)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        let units = PixelFlipping.regions(sampleShape: dims, side: region)
        let ns = try sizes(regions: units.count)
        // The subsets of one size are kept as index lists: refuse what would not fit before drawing.
        guard Double(subsets) * Double(ns.max() ?? 1) <= Double(1 << 28) else {
            throw ExplainError(.tooLarge, "\(subsets) subsets of up to \(ns.max() ?? 1) regions would not fit into memory: lower --subsets or the sizes")
        }
        var rng = SeededGenerator(seed: seed)
        var result = Result(sizes: ns, correlations: [])
        for s in 0..<n {
            let b0 = x0.shape[0] == 1 ? 0 : s
            let scores = units.map { cells in cells.reduce(0.0) { $0 + Double(attribution.scalars[s * per + $1]) } }
            var row: [Double] = []
            for size in ns {
                // Subsets drawn by a partial Fisher–Yates shuffle of the regions.
                var order = Array(units.indices)
                let chosen: [[Int]] = (0..<subsets).map { _ in
                    for i in 0..<size { order.swapAt(i, Int.random(in: i..<order.count, using: &rng)) }
                    return Array(order.prefix(size))
                }
                let outputs = try input.withUnsafeBufferPointer { px in
                    try x0.withUnsafeBufferPointer { pb in
                        try scorer.scores(count: subsets + 1, sampleShape: dims, seed: seedTensor, sample: s) { j, out in
                            for i in 0..<per { out[i] = px[s * per + i] }
                            guard j > 0 else { return }
                            for u in chosen[j - 1] { for i in units[u] { out[i] = pb[b0 * per + i] } }
                        }
                    }
                }
                let predicted = chosen.map { subset in subset.reduce(0.0) { $0 + scores[$1] } }
                let actual = (0..<subsets).map { outputs[0] - outputs[1 + $0] }
                row.append(Similarity.pearson(predicted, actual))
            }
            result.correlations.append(row)
        }
        return result
    }
}
