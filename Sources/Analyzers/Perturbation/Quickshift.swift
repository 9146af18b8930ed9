import Foundation
import ExplainCore

/// Quick shift superpixels (Vedaldi & Soatto 2008) as scikit-image 0.26's `quickshift` computes them
/// — lime_image's default segmentation (`kernel_size=4, max_dist=200, ratio=0.2`).
///
/// The image (channels last, in double precision) goes to CIE Lab (sRGB, D65, 2° observer, as
/// `skimage.color.rgb2lab`) unless `convertToLab` is off, and is multiplied by `ratio`. Each pixel's
/// density is `Σ exp(−d² / (2 k²))` over the window of half-width ⌈3k⌉ (d² the squared distance of
/// colour and position), started from `N(0, 10⁻⁵)` noise drawn by `np.random.default_rng(seed)`
/// (`NumpyPCG64`) that breaks ties; each pixel links to the nearest pixel of its window with a
/// higher density (first in row-major order on equal distances), links longer than `maxDist` are
/// cut, and the trees' roots, in increasing pixel order, number the segments.
public enum Quickshift {
    /// scikit-image's parameters (`rng` is `seed`).
    public struct Parameters: Sendable {
        public var kernelSize: Double, maxDist: Double, ratio: Double, convertToLab: Bool, seed: UInt64
        public init(kernelSize: Double = 4, maxDist: Double = 200, ratio: Double = 0.2, convertToLab: Bool = true, seed: UInt64 = 42) {
            (self.kernelSize, self.maxDist, self.ratio, self.convertToLab, self.seed) = (kernelSize, maxDist, ratio, convertToLab, seed)
        }
    }

    /// Segment ids, row-major, of an `h × w × c` image (channels last).
    public static func labels(_ image: [Double], height h: Int, width w: Int, channels c: Int, _ p: Parameters) throws -> [Int] {
        guard p.kernelSize >= 1, p.kernelSize.isFinite, p.kernelSize <= 1000 else {
            throw ExplainError.argument("quickshift kernel_size = \(p.kernelSize): give 1…1000")
        }
        guard p.maxDist.isFinite, p.maxDist >= 0, p.ratio.isFinite else { throw ExplainError.argument("quickshift max_dist must be ≥ 0 and ratio finite") }
        guard h >= 1, w >= 1, c >= 1, image.count == h * w * c else { throw ExplainError.shape("quickshift: \(image.count) values do not fill \(h) × \(w) × \(c)") }
        var data = image
        if p.convertToLab {
            guard c == 3 else { throw ExplainError.argument("quickshift converts to Lab only from RGB (3 channels); this image has \(c): turn convert2lab off") }
            rgbToLab(&data)
        }
        data = data.map { $0 * p.ratio }
        let radius = Int((3 * p.kernelSize).rounded(.up)), inverse = -0.5 / (p.kernelSize * p.kernelSize)
        var rng = NumpyPCG64(seed: p.seed)
        var density = (0..<(h * w)).map { _ in rng.standardNormal() * 0.00001 }
        func distance(_ a: Int, _ b: Int) -> Double {
            var d = 0.0
            for ch in 0..<c { let t = data[a * c + ch] - data[b * c + ch]; d += t * t }
            let dr = Double(a / w - b / w), dc = Double(a % w - b % w)
            d += dr * dr
            d += dc * dc
            return d
        }
        // Densities, row by row in parallel (each pixel's sum runs in scikit-image's order).
        density.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            Parallel.forEachRange(h, grain: 1) { rows in
                for r in rows {
                    for col in 0..<w {
                        let here = r * w + col
                        for r2 in max(r - radius, 0)..<min(r + radius + 1, h) {
                            for c2 in max(col - radius, 0)..<min(col + radius + 1, w) { out[here] += exp(distance(here, r2 * w + c2) * inverse) }
                        }
                    }
                }
            }
        }
        var parent = Array(0..<(h * w))
        parent.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            let density = density
            Parallel.forEachRange(h, grain: 1) { rows in
                for r in rows {
                    for col in 0..<w {
                        let here = r * w + col
                        var closest = Double.greatestFiniteMagnitude
                        for r2 in max(r - radius, 0)..<min(r + radius + 1, h) {
                            for c2 in max(col - radius, 0)..<min(col + radius + 1, w) where density[r2 * w + c2] > density[here] {
                                let d = distance(here, r2 * w + c2)
                                if d < closest { closest = d; out[here] = r2 * w + c2 }
                            }
                        }
                        if closest.squareRoot() > p.maxDist { out[here] = here }
                    }
                }
            }
        }
        // Every pixel to its root, then the roots numbered in increasing order.
        var root = parent
        for i in root.indices {
            var j = i
            while root[j] != j { j = root[j] }
            var k = i
            while root[k] != j { let next = root[k]; root[k] = j; k = next }
        }
        let roots = Array(Set(root)).sorted()
        let number = Dictionary(uniqueKeysWithValues: roots.enumerated().map { ($1, $0) })
        return root.map { number[$0] ?? 0 }
    }

    /// `skimage.color.rgb2lab` in place on channels-last RGB: sRGB companding, the sRGB → XYZ
    /// matrix, D65 (2°) white, the CIE cube root with its linear toe.
    static func rgbToLab(_ data: inout [Double]) {
        let m: [[Double]] = [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
        let white = [0.95047, 1.0, 1.08883]
        for start in stride(from: 0, to: data.count, by: 3) {
            let rgb = (0..<3).map { ch -> Double in
                let v = data[start + ch]
                return v > 0.04045 ? pow((v + 0.055) / 1.055, 2.4) : v / 12.92
            }
            let f = (0..<3).map { row -> Double in
                let t = (rgb[0] * m[row][0] + rgb[1] * m[row][1] + rgb[2] * m[row][2]) / white[row]
                return t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0
            }
            data[start] = 116.0 * f[1] - 16.0
            data[start + 1] = 500.0 * (f[0] - f[1])
            data[start + 2] = 200.0 * (f[1] - f[2])
        }
    }
}

extension FeatureGroups {
    /// Quick shift superpixels of each image of an (N, C, H, W) batch, shared by the channels. A
    /// one-channel image is segmented as the grey RGB image lime_image makes of it (`gray2rgb`).
    public init(quickshift p: Quickshift.Parameters, input: Tensor) throws {
        guard input.rank == 4 else { throw ExplainError.shape("quickshift needs an image batch (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let segments = try FeatureGroups.segmentImages(input, grayAsRGB: p.convertToLab) { try Quickshift.labels($0, height: $1, width: $2, channels: $3, p) }
        self.init(segmentsOf: segments, channels: input.shape[1])
    }
}
