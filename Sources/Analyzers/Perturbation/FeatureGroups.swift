import Foundation
import ExplainCore

/// A partition of each sample's elements into groups (features, superpixels, blocks): the players
/// of feature ablation, Shapley values, KernelSHAP and LIME.
public struct FeatureGroups: Sendable {
    /// Per sample: the group of each element (0..<count[s]).
    public let index: [[Int]]
    /// Per sample: the number of groups.
    public let count: [Int]

    /// Groups from an integer-valued tensor shaped like the input batch or like one sample (shared).
    /// Group ids need not be contiguous: each sample's distinct ids, in increasing order, become
    /// groups 0, 1, … .
    public init(mask: Tensor, input: Tensor) throws {
        let n = input.shape[0], per = input.count / max(n, 1)
        let shared = mask.count == per && (mask.shape == Array(input.shape.dropFirst()) || mask.shape == [1] + input.shape.dropFirst())
        guard shared || mask.shape == input.shape else {
            throw ExplainError.shape("the feature groups have shape \(Shape.format(mask.shape)); the input \(Shape.format(input.shape)) needs "
                                     + "\(Shape.format(Array(input.shape.dropFirst()))) or \(Shape.format(input.shape))")
        }
        var index = [[Int]](), count = [Int]()
        for s in 0..<n {
            let ids = try (0..<per).map { i -> Int in
                let v = mask.scalars[(shared ? 0 : s * per) + i]
                guard v.isFinite, v >= 0, v == v.rounded(), v < 1e9 else {
                    throw ExplainError.argument("feature group ids must be integers ≥ 0; element \(i) of sample \(s) is \(v)")
                }
                return Int(v)
            }
            let distinct = Array(Set(ids)).sorted()
            let rank = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
            index.append(ids.map { rank[$0] ?? 0 })   // every id is in `rank`
            count.append(distinct.count)
        }
        self.index = index
        self.count = count
    }

    /// `k × k` rectangular blocks over the last two dimensions of an image batch (N, C, H, W),
    /// shared by the channels; block boundaries as `numpy.array_split` (the first `H mod k` blocks
    /// one row taller).
    public init(grid k: Int, input: Tensor) throws {
        guard input.rank == 4 else { throw ExplainError.shape("grid groups need an image batch (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        guard k >= 1, k <= min(h, w) else { throw ExplainError.argument("grid = \(k): give 1…\(min(h, w)) blocks per side") }
        func blocks(_ size: Int) -> [Int] {
            let small = size / k, big = size % k
            return (0..<size).map { i in i < big * (small + 1) ? i / (small + 1) : big + (i - big * (small + 1)) / max(small, 1) }
        }
        let rows = blocks(h), cols = blocks(w)
        let one = (0..<(c * h * w)).map { i in rows[(i / w) % h] * k + cols[i % w] }
        index = Array(repeating: one, count: n)
        count = Array(repeating: k * k, count: n)
    }

    /// Given group indices (0..<count[s] per sample).
    init(index: [[Int]], count: [Int]) {
        self.index = index
        self.count = count
    }

    /// Every element its own group.
    public init(elementsOf input: Tensor) {
        let n = input.shape[0], per = input.count / max(n, 1)
        index = Array(repeating: Array(0..<per), count: n)
        count = Array(repeating: per, count: n)
    }

    /// The `groups` option (`file:G.npy`, an integer tensor), the `grid` option (k × k blocks for
    /// images), the `quickshift` option (scikit-image's quick shift superpixels) or the `slic` option
    /// (about k superpixels per image, with `compactness`); without any, `fallback`.
    public static func from(_ options: Options, input: Tensor, fallback: () throws -> FeatureGroups) throws -> FeatureGroups {
        if let mask = try options.tensor("groups") { return try FeatureGroups(mask: mask, input: input) }
        if options.values["grid"] != nil { return try FeatureGroups(grid: try options.int("grid", default: 4, range: 1...4096), input: input) }
        if let q = options.values["quickshift"] {
            return try FeatureGroups(quickshift: try quickshiftParameters(q, options), input: input)
        }
        if options.values["slic"] != nil {
            return try FeatureGroups(slic: try slicParameters(options), input: input)
        }
        return try fallback()
    }

    /// `slic=K` (scikit-image's `n_segments`) with `compactness` (its 10) and `convert2lab` (absent:
    /// Lab for RGB images only, as scikit-image; true: also a grey image, as grey RGB).
    static func slicParameters(_ options: Options) throws -> Superpixels.Parameters {
        var p = Superpixels.Parameters()
        p.segments = try options.int("slic", default: 100, range: 1...1_000_000)
        p.compactness = try options.double("compactness", default: 10)
        guard p.compactness > 0, p.compactness.isFinite else { throw ExplainError.argument("compactness = \(p.compactness): give a finite value > 0") }
        if let lab = options.values["convert2lab"] {
            guard lab == "true" || lab == "false" else { throw ExplainError.argument("convert2lab = '\(lab)': use true or false") }
            p.convertToLab = lab == "true"
        }
        return p
    }

    /// `quickshift=lime` (lime_image's kernel_size 4, max_dist 200, ratio 0.2) or
    /// `quickshift=K,D,R`, with `quickshift_seed` (scikit-image's default 42) and `convert2lab`.
    static func quickshiftParameters(_ text: String, _ options: Options) throws -> Quickshift.Parameters {
        var p = Quickshift.Parameters()
        if text != "lime" {
            let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, let k = parts[0], let d = parts[1], let r = parts[2] else {
                throw ExplainError.argument("quickshift = '\(text)': give lime or kernel_size,max_dist,ratio (e.g. 4,200,0.2)")
            }
            (p.kernelSize, p.maxDist, p.ratio) = (k, d, r)
        }
        p.seed = UInt64(try options.int("quickshift_seed", default: 42, range: 0...Int.max))
        let lab = options.string("convert2lab", default: "true")
        guard lab == "true" || lab == "false" else { throw ExplainError.argument("convert2lab = '\(lab)': use true or false") }
        p.convertToLab = lab == "true"
        return p
    }

    /// Group-based methods' default: 4 × 4 blocks for images, every feature for other inputs.
    public static func defaultGroups(_ input: Tensor) throws -> FeatureGroups {
        input.rank == 4 ? try FeatureGroups(grid: min(4, input.shape[2], input.shape[3]), input: input) : FeatureGroups(elementsOf: input)
    }

    /// A per-sample value per group spread over the group's elements, as an input-shaped tensor.
    public static func spread(_ values: [[Double]], over groups: FeatureGroups, shape: [Int]) -> Tensor {
        let n = shape[0], per = shape.dropFirst().reduce(1, *)
        return Tensor(shape: shape) { p in
            for s in 0..<n { for i in 0..<per { p[s * per + i] = Float(values[s][groups.index[s][i]]) } }
        }
    }
}
