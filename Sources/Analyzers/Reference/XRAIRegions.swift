import ExplainCore
import Foundation

/// XRAI's candidate regions as PAIR computes them: label maps to regions, the Felzenszwalb
/// segmentations at six scales on a 224 × 224 copy (scikit-image's cubic resize there, its nearest
/// resize back), and the disk dilation.
extension XRAI {
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
}
