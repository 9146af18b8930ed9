import ExplainCore
import Foundation

/// SLIC superpixels (Achanta et al. 2012, "SLIC Superpixels Compared to State-of-the-Art
/// Superpixel Methods") as scikit-image 0.26 computes them (`skimage.segmentation.slic` on a
/// float64 image, channels last), label for label:
///
/// - the image is shifted and scaled to [0, 1] over all its values, converted to CIE Lab when it
///   has 3 channels (`convert2lab`), and its values are multiplied by `1 / compactness`;
/// - centres start on scikit-image's `regular_grid` for `segments` points, with zero colour;
/// - k-means: each centre claims the pixels of a window of ±2 grid steps around it whose distance
///   `((Δy² + Δx²) / S²) + Σ Δvalue²` (S the largest grid step) is smaller than their best so far,
///   then every centre moves to the mean of its pixels, up to `iterations` times or until no pixel
///   changes;
/// - connectivity is enforced in raster order: each 4-connected component smaller than half the
///   mean segment size takes the label of the last differently labelled neighbour its search met
///   (scikit-image's breadth-first search, components capped at 3 mean segment sizes).
public enum Superpixels {
    /// scikit-image's `slic` parameters (its defaults).
    public struct Parameters: Sendable, Equatable {
        public var segments = 100
        public var compactness = 10.0
        public var iterations = 10
        /// nil: Lab for 3-channel images only (scikit-image's `convert2lab=None`).
        public var convertToLab: Bool?
        public var enforceConnectivity = true
        public var minSizeFactor = 0.5
        public var maxSizeFactor = 3.0
        public init() {}
    }

    /// Labels 0, 1, … (scikit-image's `start_label=0`) of an image given channels last (`h · w · c` values).
    public static func slic(_ hwc: [Double], height h: Int, width w: Int, channels c: Int, _ p: Parameters) throws -> [Int] {
        guard h >= 1, w >= 1, c >= 1, hwc.count == h * w * c else { throw ExplainError.shape("slic: \(hwc.count) values for a \(h) × \(w) × \(c) image") }
        guard p.segments >= 1, p.compactness > 0, p.compactness.isFinite, p.iterations >= 1, p.minSizeFactor >= 0, p.maxSizeFactor > 0 else {
            throw ExplainError.argument("slic: give segments ≥ 1, a finite compactness > 0, iterations ≥ 1 and size factors > 0")
        }
        guard hwc.allSatisfy(\.isFinite) else { throw ExplainError.argument("slic: the image holds non-finite values") }
        var image = hwc
        let low = image.min() ?? 0, high = image.max() ?? 0
        for i in image.indices { image[i] -= low }
        if high != low { for i in image.indices { image[i] /= high - low } }
        if c == 3 && p.convertToLab != false { Quickshift.rgbToLab(&image) }
        let ratio = 1.0 / p.compactness
        for i in image.indices { image[i] *= ratio }

        // Centres on the regular grid: (z, y, x, colour…), colour 0.
        let grid = regularGrid([1, h, w], p.segments)
        var centres: [[Double]] = []
        for y in stride(from: grid[1].start, to: h, by: grid[1].step) {
            for x in stride(from: grid[2].start, to: w, by: grid[2].step) {
                centres.append([0, Double(y), Double(x)] + [Double](repeating: 0, count: c))
            }
        }
        let step = Float(grid.map(\.step).max() ?? 1)
        let windows = regularGrid([1, h, w], centres.count)
        let labels = assign(image, h: h, w: w, c: c, centres: &centres, window: (windows[1].step, windows[2].step),
                            spatialWeight: 1.0 / Double(step * step), iterations: p.iterations)
        guard p.enforceConnectivity else { return labels }
        let size = Double(h * w) / Double(centres.count)
        return connected(labels, height: h, width: w, minimum: Int(p.minSizeFactor * size), maximum: max(1, Int(p.maxSizeFactor * size)))
    }

    /// The k-means iterations (`_slic_cython` for one plane, no mask, SLIC not SLIC-zero).
    static func assign(_ image: [Double], h: Int, w: Int, c: Int, centres: inout [[Double]], window: (y: Int, x: Int),
                       spatialWeight: Double, iterations: Int) -> [Int] {
        var label = [Int](repeating: -1, count: h * w)
        var distance = [Double](repeating: .greatestFiniteMagnitude, count: h * w)
        for _ in 0..<iterations {
            var change = false
            for i in distance.indices { distance[i] = .greatestFiniteMagnitude }
            for (k, centre) in centres.enumerated() {
                let (cz, cy, cx) = (centre[0], centre[1], centre[2])
                guard !cy.isNaN, !cx.isNaN else { continue }   // an emptied centre (0 / 0) never wins a pixel
                let dz = cz * cz
                let y0 = Int(max(cy - 2 * Double(window.y), 0)), y1 = Int(min(cy + 2 * Double(window.y) + 1, Double(h)))
                let x0 = Int(max(cx - 2 * Double(window.x), 0)), x1 = Int(min(cx + 2 * Double(window.x) + 1, Double(w)))
                for y in y0..<max(y0, y1) {
                    let dy = (cy - Double(y)) * (cy - Double(y))
                    for x in x0..<max(x0, x1) {
                        let dx = (cx - Double(x)) * (cx - Double(x))
                        var d = (dz + dy + dx) * spatialWeight
                        var colour = 0.0
                        let p = y * w + x
                        for ch in 0..<c { let t = image[p * c + ch] - centre[3 + ch]; colour += t * t }
                        d += colour
                        if distance[p] > d { label[p] = k; distance[p] = d; change = true }
                    }
                }
            }
            guard change else { break }
            var sums = [[Double]](repeating: [Double](repeating: 0, count: 3 + c), count: centres.count)
            var counts = [Int](repeating: 0, count: centres.count)
            for y in 0..<h {
                for x in 0..<w {
                    let p = y * w + x, k = label[p]
                    guard k >= 0 else { continue }
                    counts[k] += 1
                    sums[k][1] += Double(y)
                    sums[k][2] += Double(x)
                    for ch in 0..<c { sums[k][3 + ch] += image[p * c + ch] }
                }
            }
            for k in centres.indices { centres[k] = sums[k].map { $0 / Double(counts[k]) } }
        }
        return label
    }

    /// scikit-image's `regular_grid(shape, n)`: per dimension the first index and the step of about
    /// `n` points spread evenly (steps rounded half to even; dimensions sorted by size, ties in order).
    static func regularGrid(_ shape: [Int], _ n: Int) -> [(start: Int, step: Int)] {
        let d = shape.count
        let space = Double(shape.reduce(1, *))
        guard space > Double(n) else { return shape.map { _ in (0, 1) } }
        let order = shape.indices.sorted { shape[$0] < shape[$1] || (shape[$0] == shape[$1] && $0 < $1) }
        let sorted = order.map { Double(shape[$0]) }
        var steps = [Double](repeating: pow(space / Double(n), 1.0 / Double(d)), count: d)
        if zip(sorted, steps).contains(where: { $0 < $1 }) {
            for dim in 0..<d {
                steps[dim] = sorted[dim]
                let rest = sorted[(dim + 1)...].reduce(1, *)
                for j in (dim + 1)..<d { steps[j] = pow(rest / Double(n), 1.0 / Double(d - dim - 1)) }
                if zip(sorted, steps).allSatisfy({ $0 >= $1 }) { break }
            }
        }
        var result = [(start: Int, step: Int)](repeating: (0, 1), count: d)
        for (rank, dim) in order.enumerated() {
            result[dim] = (Int((steps[rank] / 2).rounded(.down)), Int(steps[rank].rounded(.toNearestOrEven)))
        }
        return result
    }

    /// scikit-image's `_enforce_label_connectivity_cython` for one plane: components in raster
    /// order, searched breadth first over the 4 neighbours (right, left, down, up) up to `maximum`
    /// pixels; one smaller than `minimum` takes the label of the last differently labelled
    /// neighbour met (or, without one, the next label, which the next component then shares).
    static func connected(_ label: [Int], height h: Int, width w: Int, minimum: Int, maximum: Int) -> [Int] {
        var out = [Int](repeating: -1, count: h * w), next = 0
        var queue = [Int](repeating: 0, count: maximum)
        for start in 0..<(h * w) where label[start] >= 0 && out[start] < 0 {
            var adjacent = next, size = 1, visited = 0
            out[start] = next
            queue[0] = start
            search: while visited < size && size < maximum {
                let p = queue[visited], (y, x) = (p / w, p % w)
                for (ny, nx) in [(y, x + 1), (y, x - 1), (y + 1, x), (y - 1, x)] where ny >= 0 && ny < h && nx >= 0 && nx < w {
                    let q = ny * w + nx
                    if label[q] == label[start] && out[q] < 0 {
                        out[q] = next
                        queue[size] = q
                        size += 1
                        if size >= maximum { visited += 1; break search }
                    } else if out[q] >= 0 && out[q] != next {
                        adjacent = out[q]
                    }
                }
                visited += 1
            }
            if size < minimum {
                for i in 0..<size { out[queue[i]] = adjacent }
            } else {
                next += 1
            }
        }
        return out
    }
}

extension FeatureGroups {
    /// scikit-image's SLIC superpixels of each image of an (N, C, H, W) batch (computed per sample
    /// on its own values, in Double), shared by the channels. With `convertToLab` true a
    /// one-channel image is segmented as the grey RGB image lime_image makes of it.
    public init(slic p: Superpixels.Parameters, input: Tensor) throws {
        self.init(segmentsOf: try Superpixels.labels(p, input: input), channels: input.shape[1])
    }

    /// Groups from per-image segment ids (H · W each), shared by the image's `channels`.
    init(segmentsOf segments: (labels: [[Int]], count: [Int]), channels: Int) {
        self.init(index: segments.labels.map { labels in (0..<(labels.count * channels)).map { labels[$0 % labels.count] } }, count: segments.count)
    }

    /// Each image of an (N, C, H, W) batch channels last in Double — a one-channel image as grey RGB
    /// with `grayAsRGB` (lime_image's `gray2rgb`) — segmented by `segment(values, h, w, channels)`:
    /// per image its segment ids (H · W) and their number.
    static func segmentImages(_ input: Tensor, grayAsRGB: Bool,
                              _ segment: ([Double], Int, Int, Int) throws -> [Int]) throws -> (labels: [[Int]], count: [Int]) {
        guard input.rank == 4 else { throw ExplainError.shape("superpixels need an image batch (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let gray = c == 1 && grayAsRGB, channels = gray ? 3 : c, plane = h * w
        var all = [[Int]](), count = [Int]()
        for s in 0..<n {
            var hwc = [Double](repeating: 0, count: plane * channels)
            for i in 0..<plane {
                for ch in 0..<channels { hwc[i * channels + ch] = Double(input.scalars[(s * c + (gray ? 0 : ch)) * plane + i]) }
            }
            let labels = try segment(hwc, h, w, channels)
            all.append(labels)
            count.append((labels.max() ?? 0) + 1)
        }
        return (all, count)
    }
}

extension Superpixels {
    /// Per image of an (N, C, H, W) batch: its SLIC labels (H · W) and their number.
    public static func labels(_ p: Parameters, input: Tensor) throws -> (labels: [[Int]], count: [Int]) {
        guard input.rank == 4 else { throw ExplainError.shape("superpixels need an image batch (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let plane = input.shape[2] * input.shape[3]
        guard p.segments >= 1, p.segments <= plane else { throw ExplainError.argument("slic = \(p.segments): give 1…\(plane) segments") }
        return try FeatureGroups.segmentImages(input, grayAsRGB: p.convertToLab == true) { try slic($0, height: $1, width: $2, channels: $3, p) }
    }
}
