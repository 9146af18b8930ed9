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
                let labels = (0..<(h * w)).map { Int(segments.scalars[(row * maps + k) * h * w + $0].rounded()) }
                guard let lo = labels.min(), let hi = labels.max(), hi - lo < h * w else {
                    throw ExplainError.argument("xrai segments: label map \(k) of sample \(s) has labels \(labels.min() ?? 0)…\(labels.max() ?? 0); give at most one label per pixel (0…\(h * w - 1))")
                }
                return Self.regions(labels)
            }
        }
        let image = try input.sample(s).scalars
        return Self.felzenszwalbRegions(image, channels: c, height: h, width: w)
    }

    /// One region (its pixel indices) per label from the smallest to the largest (empty ones
    /// included, as PAIR does).
    static func regions(_ labels: [Int]) -> [[Int]] {
        guard let lo = labels.min(), let hi = labels.max(), hi - lo < labels.count else { return [] }
        var out = [[Int]](repeating: [], count: hi - lo + 1)
        for (i, l) in labels.enumerated() { out[l - lo].append(i) }
        return out
    }

    /// PAIR's regions (pixel indices): the image rescaled to [−1, 1], at 224 × 224, segmented at six
    /// scales, each segment dilated by a disk of radius 5 at the image's size.
    public static func felzenszwalbRegions(_ image: [Float], channels c: Int, height h: Int, width w: Int) -> [[Int]] {
        let lo = image.min() ?? 0, hi = image.max() ?? 0
        let normalised = image.map { hi > lo ? ($0 - lo) / (hi - lo) * 2 + -1 : 0 }
        let side = 224
        let resized = h == side && w == side ? normalised.map(Double.init) : cubicResize(normalised, channels: c, from: (h, w), to: (side, side))
        var out: [[Int]] = []
        for scale in scales {
            var labels = Felzenszwalb.segment(resized, channels: c, height: side, width: side, scale: scale, sigma: 0.8, minSize: 150)
            if h != side || w != side {
                // scikit-image's order-0 resize back: the nearest of (o + ½)·224/n − ½, rounded as scipy rounds it.
                func nearest(_ o: Int, _ n: Int) -> Int {
                    min(side - 1, max(0, Int(((Double(o) + 0.5) * (Double(side) / Double(n)) - 0.5 + 0.5).rounded(.down))))
                }
                let rows = (0..<h).map { nearest($0, h) }, cols = (0..<w).map { nearest($0, w) }
                labels = (0..<(h * w)).map { i in labels[rows[i / w] * side + cols[i % w]] }
            }
            for region in regions(labels) {
                var mask = [Bool](repeating: false, count: h * w)
                for i in region { mask[i] = true }
                let dilated = dilate(mask, height: h, width: w, radius: 5)
                out.append(dilated.indices.filter { dilated[$0] })
            }
        }
        return out
    }

    /// Binary dilation by the disk x² + y² ≤ r² (pixels outside the image ignored).
    public static func dilate(_ mask: [Bool], height h: Int, width w: Int, radius r: Int) -> [Bool] {
        var out = mask
        for y in 0..<h {
            for x in 0..<w where mask[y * w + x] {
                for dy in -r...r {
                    let yy = y + dy
                    guard yy >= 0, yy < h else { continue }
                    for dx in -r...r where dx * dx + dy * dy <= r * r {
                        let xx = x + dx
                        if xx >= 0, xx < w { out[yy * w + xx] = true }
                    }
                }
            }
        }
        return out
    }

    /// scikit-image's `resize(image, (oh, ow), order=3, mode="constant", preserve_range=True,
    /// anti_aliasing=True)` of `(C, H, W)` Float values, as PAIR calls it: when shrinking an axis a
    /// Gaussian of σ = (factor − 1)/2 first (zeros outside), then per channel cubic B-spline
    /// interpolation (`scipy.ndimage.zoom`, `grid_mode=True`: the plane padded by 12 zeros,
    /// prefiltered with mirrored ends), values rounded to Float and clipped to the input's range.
    static func cubicResize(_ v: [Float], channels c: Int, from: (Int, Int), to: (Int, Int)) -> [Double] {
        let (h, w) = from, (oh, ow) = to
        let lo = v.min() ?? 0, hi = v.max() ?? 0
        let (fy, fx) = (Double(h) / Double(oh), Double(w) / Double(ow))
        let pad = 12, (ph, pw) = (h + 2 * pad, w + 2 * pad)
        var out = [Double](repeating: 0, count: c * oh * ow)
        for ch in 0..<c {
            let plane = v[(ch * h * w)..<((ch + 1) * h * w)]
            // Anti-aliasing: scipy's gaussian_filter on a float32 image, axis by axis, rounded to Float after each.
            var smooth = Array(plane)
            for (axis, factor) in [(0, fy), (1, fx)] where factor > 1 {
                smooth = gaussian1D(smooth, height: h, width: w, alongRows: axis == 0, sigma: (factor - 1) / 2)
            }
            var coef = [Double](repeating: 0, count: ph * pw)
            for y in 0..<h { for x in 0..<w { coef[(y + pad) * pw + x + pad] = Double(smooth[y * w + x]) } }
            var line = [Double](repeating: 0, count: max(ph, pw))
            for x in 0..<pw {
                for y in 0..<ph { line[y] = coef[y * pw + x] }
                splineFilter(&line, count: ph)
                for y in 0..<ph { coef[y * pw + x] = line[y] }
            }
            for y in 0..<ph {
                for x in 0..<pw { line[x] = coef[y * pw + x] }
                splineFilter(&line, count: pw)
                for x in 0..<pw { coef[y * pw + x] = line[x] }
            }
            for oy in 0..<oh {
                let sy = (Double(oy) + 0.5) * fy - 0.5 + Double(pad)
                let (y0, wy) = splineWeights(sy)
                for ox in 0..<ow {
                    let sx = (Double(ox) + 0.5) * fx - 0.5 + Double(pad)
                    let (x0, wx) = splineWeights(sx)
                    var acc = 0.0
                    for i in 0..<4 {
                        let yy = min(ph - 1, max(0, y0 + i))
                        var row = 0.0
                        for j in 0..<4 { row += wx[j] * coef[yy * pw + min(pw - 1, max(0, x0 + j))] }
                        acc += wy[i] * row
                    }
                    out[(ch * oh + oy) * ow + ox] = Double(min(hi, max(lo, Float(acc))))
                }
            }
        }
        return out
    }

    /// One axis of scipy's `gaussian_filter` (zeros outside) on a Float plane, summed as scipy sums
    /// a symmetric kernel (the centre, then the pairs from the outermost in), rounded to Float.
    static func gaussian1D(_ v: [Float], height h: Int, width w: Int, alongRows: Bool, sigma: Double) -> [Float] {
        let k = GaussianBlur.kernel(sigma)
        var out = v
        let (n, lines) = alongRows ? (h, w) : (w, h)
        for line in 0..<lines {
            func at(_ i: Int) -> Double {
                guard i >= 0, i < n else { return 0 }
                return Double(alongRows ? v[i * w + line] : v[line * w + i])
            }
            for i in 0..<n {
                let acc = Float(GaussianBlur.symmetricSum(k, at: i, at))
                if alongRows { out[i * w + line] = acc } else { out[line * w + i] = acc }
            }
        }
        return out
    }

    /// Cubic B-spline prefilter of `c[0..<n]` in place (pole √3 − 2, gain 6, mirrored ends; scipy's `spline_filter1d`).
    static func splineFilter(_ c: inout [Double], count n: Int) {
        guard n > 1 else { return }
        let z = 3.0.squareRoot() - 2
        for i in 0..<n { c[i] *= 6 }
        let zn = pow(z, Double(n - 1))
        var zi = z, c0 = c[0] + zn * c[n - 1]
        for i in 1..<(n - 1) { c0 += zi * (c[i] + zn * c[n - 1 - i]); zi *= z }
        c[0] = c0 / (1 - zn * zn)
        for i in 1..<n { c[i] += z * c[i - 1] }
        c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1)
        for i in stride(from: n - 2, through: 0, by: -1) { c[i] = z * (c[i + 1] - c[i]) }
    }

    /// The first of the four coefficients a cubic B-spline at `x` reads, and their weights.
    static func splineWeights(_ x: Double) -> (Int, [Double]) {
        let start = Int(x.rounded(.down)) - 1
        return (start, (0..<4).map { i in
            let t = abs(x - Double(start + i))
            return t < 1 ? (4 - 6 * t * t + 3 * t * t * t) / 6 : t < 2 ? (2 - t) * (2 - t) * (2 - t) / 6 : 0
        })
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
