import ExplainCore
import Foundation

/// XRAI (Kapishnikov, Bolukbasi, Viégas & Terry, ICCV 2019; Google PAIR `saliency`'s `XRAI`):
/// regions instead of pixels. Integrated Gradients from a black and a white baseline (each
/// sample's minimum and maximum everywhere; `steps` points of numpy's `linspace(0, 1, n)` with
/// weights 1/n, PAIR's rule), averaged and reduced to one value per pixel by the maximum over the
/// channels, is summed over overlapping candidate regions; regions are added greedily, each time
/// the one whose pixels not yet covered have the highest mean attribution (the *gain density*;
/// regions adding fewer than `minPixelDiff` new pixels are dropped), until the covered share of
/// the image exceeds `areaThreshold` or no region is left. A pixel's value is the gain of the
/// region that covered it first; uncovered pixels get their own mean. `fast` sorts the regions
/// once by their whole gain instead.
///
/// Regions: given (`segments`: label maps, each label one region), or PAIR's — Felzenszwalb
/// segmentations of the image rescaled to [−1, 1] at scales 50, 100, 150, 250, 500 and 1200 (σ =
/// 0.8, minimum size 150) on a 224 × 224 copy (scikit-image's cubic resize, `cubicResize`), the
/// labels brought back to the image's size by nearest neighbours, each segment dilated by a disk
/// of radius 5.
public struct XRAI: Analyzer {
    public enum Algorithm: String, Sendable, CaseIterable {
        case full
        case fast
    }

    public let id = "xrai"
    public let model: ExplainableModel
    public let steps: Int
    public let batchSize: Int
    /// Label maps `(N, H, W)`, `(N, 1, H, W)` or `(N, K, H, W)` (K maps per sample); nil: Felzenszwalb's.
    public let segments: Tensor?
    public let areaThreshold: Double
    public let minPixelDiff: Int
    public let algorithm: Algorithm
    public static let scales: [Double] = [50, 100, 150, 250, 500, 1200]

    public init(model: ExplainableModel, steps: Int = 100, batchSize: Int? = nil, segments: Tensor? = nil, areaThreshold: Double = 1,
                minPixelDiff: Int = 50, algorithm: Algorithm = .full) throws {
        guard steps >= 1, steps <= 100_000 else { throw ExplainError.argument("steps = \(steps): give 1…100000") }
        guard minPixelDiff >= 0 else { throw ExplainError.argument("min_pixel_diff = \(minPixelDiff): give 0 or more") }
        self.model = model
        self.steps = steps
        self.batchSize = max(1, batchSize ?? steps)
        self.segments = segments
        self.areaThreshold = areaThreshold
        self.minPixelDiff = minPixelDiff
        self.algorithm = algorithm
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        guard input.rank == 4 else { throw ExplainError.shape("xrai needs images (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let per = c * h * w, plane = h * w
        if let segments {
            guard segments.rank >= 3, segments.shape[0] == n || segments.shape[0] == 1, Array(segments.shape.suffix(2)) == [h, w] else {
                throw ExplainError.shape("xrai segments \(Shape.format(segments.shape)) must be label maps (N, H, W) or (N, K, H, W) for the input \(Shape.format(input.shape))")
            }
            try segments.requireFinite("the segments")
            guard segments.scalars.allSatisfy({ $0 == $0.rounded() }) else {
                throw ExplainError.argument("xrai segments must hold integer labels (one region per label); the array holds fractions")
            }
        }
        // Integrated Gradients from the black and the white baseline of each sample.
        let quadrature = try PathQuadrature(.linspace, steps: steps)
        var attributions: [Attribution] = []
        for pick in [{ (v: UnsafeBufferPointer<Float>) in v.min() ?? 0 }, { (v: UnsafeBufferPointer<Float>) in v.max() ?? 0 }] {
            let baseline = Tensor(shape: input.shape) { p in
                input.withUnsafeBufferPointer { x in
                    for s in 0..<n {
                        let v = pick(UnsafeBufferPointer(rebasing: x[(s * per)..<((s + 1) * per)]))
                        for i in 0..<per { p[s * per + i] = v }
                    }
                }
            }
            attributions.append(try IntegratedGradients(id: "xrai", model: model, baseline: .tensor(baseline), quadrature: quadrature,
                                                        batchSize: batchSize).analyze(input, target: target))
        }
        var map = [Float](repeating: 0, count: n * plane), ranks = map
        for s in 0..<n {
            // attr: the baselines' mean, its maximum over the channels.
            let (black, white) = (attributions[0].values.scalars, attributions[1].values.scalars)
            var attr = [Double](repeating: -.infinity, count: plane)
            for ch in 0..<c {
                for i in 0..<plane {
                    let j = s * per + ch * plane + i
                    attr[i] = max(attr[i], (Double(black[j]) + Double(white[j])) / 2)
                }
            }
            let masks = try regions(sample: s, of: input)
            let (values, order) = algorithm == .full ? greedy(attr, masks) : fast(attr, masks)
            for i in 0..<plane { map[s * plane + i] = Float(values[i]); ranks[s * plane + i] = Float(order[i]) }
        }
        var result = Attribution(values: try Tensor(shape: [n, 1, h, w], scalars: map), output: attributions[0].output,
                                 targets: attributions[0].targets)
        result.extras["segments"] = try Tensor(shape: [n, 1, h, w], scalars: ranks)
        return result
    }

    /// The candidate regions of sample `s` as pixel indices.
    func regions(sample s: Int, of input: Tensor) throws -> [[Int]] {
        let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
        if let segments {
            let maps = segments.count / segments.shape[0] / (h * w), row = segments.shape[0] == 1 ? 0 : s
            return try (0..<maps).flatMap { k -> [[Int]] in
                let labels = try (0..<(h * w)).map { i -> Int in
                    let v = segments.scalars[(row * maps + k) * h * w + i]
                    guard v.isFinite, abs(v) < 1e9 else { throw ExplainError.argument("xrai segments: label map \(k) of sample \(s) holds \(v) at pixel \(i); labels are integers") }
                    return Int(v.rounded())
                }
                guard let lo = labels.min(), let hi = labels.max(), hi - lo < h * w else {
                    throw ExplainError.argument("xrai segments: label map \(k) of sample \(s) has labels \(labels.min() ?? 0)…\(labels.max() ?? 0); give at most one label per pixel (0…\(h * w - 1))")
                }
                return Self.regions(labels)
            }
        }
        let image = try input.sample(s).scalars
        return Self.felzenszwalbRegions(image, channels: c, height: h, width: w)
    }

    /// A region's gain density over the pixels it adds: (mean attribution, count); −∞ when none.
    static func gain(_ attr: [Double], _ region: [Int], covered: [Bool]) -> (Double, Int) {
        var sum = 0.0, count = 0
        for i in region where !covered[i] { sum += attr[i]; count += 1 }
        return (count == 0 ? -.infinity : sum / Double(count), count)
    }

    /// PAIR's `_xrai`: the values per pixel and the rank (1 = highest gain) of the region that covered it.
    func greedy(_ attr: [Double], _ regions: [[Int]]) -> ([Double], [Int]) {
        let n = attr.count
        var output = [Double](repeating: -.infinity, count: n), covered = [Bool](repeating: false, count: n)
        var remaining = Array(regions.indices), trace: [([Int], Double)] = []
        var coveredCount = 0
        while Double(coveredCount) / Double(n) <= areaThreshold {
            var best = -Double.infinity, bestKey: Int? = nil, kept: [Int] = []
            for key in remaining {
                let (g, count) = Self.gain(attr, regions[key], covered: covered)
                guard count >= minPixelDiff else { continue }
                kept.append(key)
                if g > best { best = g; bestKey = key }
            }
            remaining = kept
            guard let key = bestKey, !remaining.isEmpty else { break }
            let added = regions[key].filter { !covered[$0] }
            trace.append((added, best))
            for i in added { covered[i] = true; output[i] = best }
            coveredCount += added.count
            remaining.removeAll { $0 == key }
        }
        return finish(attr, output, trace)
    }

    /// PAIR's `_xrai_fast`: regions sorted once by their whole gain.
    func fast(_ attr: [Double], _ regions: [[Int]]) -> ([Double], [Int]) {
        let n = attr.count
        var output = [Double](repeating: -.infinity, count: n), covered = [Bool](repeating: false, count: n)
        var trace: [([Int], Double)] = []
        let none = [Bool](repeating: false, count: n)
        let gains = regions.map { Self.gain(attr, $0, covered: none).0 }
        for key in regions.indices.sorted(by: { gains[$0] != gains[$1] ? gains[$0] > gains[$1] : $0 < $1 }) {
            let (g, count) = Self.gain(attr, regions[key], covered: covered)
            guard count >= minPixelDiff else { continue }
            let added = regions[key].filter { !covered[$0] }
            trace.append((added, g))
            for i in added { covered[i] = true; output[i] = g }
        }
        return finish(attr, output, trace)
    }

    /// Uncovered pixels get their own mean; ranks follow the gains (highest first), uncovered last.
    func finish(_ attr: [Double], _ values: [Double], _ trace: [([Int], Double)]) -> ([Double], [Int]) {
        var output = values
        let uncovered = output.indices.filter { output[$0] == -.infinity }
        let rest = uncovered.isEmpty ? 0 : uncovered.reduce(0.0) { $0 + attr[$1] } / Double(uncovered.count)
        for i in uncovered { output[i] = rest }
        var ranks = [Int](repeating: 0, count: attr.count)
        let ordered = trace.enumerated().sorted { $0.element.1 != $1.element.1 ? $0.element.1 > $1.element.1 : $0.offset < $1.offset }.map(\.element.0)
        for (k, region) in (ordered + (uncovered.isEmpty ? [] : [uncovered])).enumerated() {
            for i in region { ranks[i] = k + 1 }
        }
        return (output, ranks)
    }
}
