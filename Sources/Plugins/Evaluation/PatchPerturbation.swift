import ExplainCore

/// Patch-wise perturbation in Quantus's form, the common step of `Selectivity` (Montavon et al.
/// 2018) and `RegionPerturbation` (Samek et al. 2017): an image `(N, C, H, W)` is cut into square
/// patches of side `patchSize` over all channels — on a grid centred like Quantus's (when the side
/// does not divide H, ⌊pad/2⌋ rows of padding go before and ⌈pad/2⌉ after, so the border patches
/// are clipped) — ordered by their summed attribution (`morf`: largest first, `lerf`: smallest
/// first; ties by position), and replaced cumulatively by the fill value; `f_t` is recorded after
/// each of the first `regions` patches.
///
/// - `selectivity`: the curve `f_t(x⁽¹⁾), …, f_t(x⁽ᴿ⁾)` (every patch, MoRF); smaller area under it
///   (trapezoid rule, unit steps) is better.
/// - `region_perturbation`: the drops `f_t(x) − f_t(x⁽ᵏ⁾)` (the first `regions` patches, MoRF or
///   LeRF); with MoRF a larger area is better.
///
/// Quantus's `mean` fill is the mean of the padded, partly perturbed image at each step; here it is
/// the mean of the sample (black and white agree: its padding repeats border values).
public struct PatchPerturbation: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case selectivity
        case regionPerturbation = "region_perturbation"
    }

    public let kind: Kind
    public let patchSize: Int
    public let order: PixelFlipping.Order
    /// Patches replaced (nil: all; Quantus `regions_evaluation`, default 100 for region perturbation).
    public let regions: Int?
    public let fill: FillValue
    public let batchSize: Int

    public init(kind: Kind, patchSize: Int = 8, order: PixelFlipping.Order = .morf, regions: Int? = nil, fill: FillValue = .black,
                batchSize: Int = 64) throws {
        guard patchSize >= 1 else { throw ExplainError.argument("patch size = \(patchSize): give 1 or more") }
        if let regions, regions < 1 { throw ExplainError.argument("regions = \(regions): give 1 or more") }
        guard kind == .regionPerturbation || order == .morf else { throw ExplainError.argument("selectivity removes the most relevant patches first (morf)") }
        self.kind = kind
        self.patchSize = patchSize
        self.order = order
        self.regions = regions
        self.fill = fill
        self.batchSize = batchSize
    }

    /// The patches of a `(C, H, W)` sample as flat element indices (all channels), row by row.
    public static func patches(sampleShape dims: [Int], side p: Int) -> [[Int]] {
        guard dims.count == 3 else { return [] }
        let (c, h, w) = (dims[0], dims[1], dims[2])
        func starts(_ d: Int) -> [Int] {
            let pad = d % p == 0 ? 0 : p - d % p, first = -(pad / 2)
            return Array(stride(from: first, to: d, by: p))
        }
        var out = [[Int]]()
        for r0 in starts(h) {
            for c0 in starts(w) {
                var cells = [Int]()
                for ch in 0..<c {
                    for r in max(0, r0)..<min(h, r0 + p) { for col in max(0, c0)..<min(w, c0 + p) { cells.append((ch * h + r) * w + col) } }
                }
                out.append(cells)
            }
        }
        return out
    }

    public struct Result: Sendable {
        /// Per sample: `f_t` after each step (selectivity) or the drop from `f_t(x)` (region perturbation).
        public var curves: [[Double]]
        /// Per sample: the area under the curve (trapezoid rule, unit steps; numpy's `trapz`).
        public var auc: [Double]
    }

    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> Result {
        let name = kind == .selectivity ? "selectivity" : "region perturbation"
        guard input.rank == 4 else { throw ExplainError.shape("\(name) needs images (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (scorer, seed, a) = try Scorer.checked(name, model: model, input: input, attribution: attribution, target: target, batchSize: batchSize)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        let units = Self.patches(sampleShape: dims, side: patchSize)
        let count = min(units.count, regions ?? units.count)
        var result = Result(curves: [], auc: [])
        for s in 0..<n {
            let sums = units.map { cells in cells.reduce(0.0) { $0 + Double(a.scalars[s * per + $1]) } }
            let ranked = FaithfulnessInput.order(sums, ascending: order == .lerf)
            // step[i]: after which step (1-based) element i holds the fill value (Int.max: never).
            var step = [Int](repeating: .max, count: per)
            for (k, u) in ranked.prefix(count).enumerated() { for i in units[u] { step[i] = k + 1 } }
            let f = try input.withUnsafeBufferPointer { px in
                let sample = UnsafeBufferPointer(rebasing: px[(s * per)..<((s + 1) * per)])
                let v = fill.value(for: sample)
                // Copy 0: x; copy k: the first k patches filled.
                return try scorer.scores(count: count + 1, sampleShape: dims, seed: seed, sample: s) { k, out in
                    for i in 0..<per { out[i] = step[i] <= k ? v : sample[i] }
                }
            }
            let curve = kind == .selectivity ? Array(f.dropFirst()) : f.dropFirst().map { f[0] - $0 }
            result.curves.append(curve)
            result.auc.append(zip(curve, curve.dropFirst()).reduce(0.0) { $0 + ($1.0 + $1.1) / 2 })
        }
        return result
    }
}
