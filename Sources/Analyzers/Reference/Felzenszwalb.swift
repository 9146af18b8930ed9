import ExplainCore
import Foundation

/// Efficient graph-based image segmentation (Felzenszwalb & Huttenlocher, IJCV 2004) with the
/// conventions of scikit-image's `segmentation.felzenszwalb`, which XRAI uses:
///
/// 1. each channel is smoothed by a Gaussian of width `sigma` (radius ⌊4σ + ½⌋, mirrored borders:
///    `d c b a | a b c d`), first down the rows, then along them;
/// 2. the 8-connected grid's edges — right, down, down-right, up-right, in that order, each
///    row-major — weigh the Euclidean distance of the smoothed pixel values;
/// 3. in order of increasing weight (ties by that order), an edge joins its two components when
///    its weight is below the smaller of `Int(C) + k / |C|` (`k = scale / 255`; the internal
///    difference `Int(C)`, the weight that last joined C, as scikit-image rounds it: in float);
/// 4. a second pass over the same order joins every edge's components while either is smaller
///    than `minSize`;
/// 5. segments are numbered by their first pixel in row-major order.
///
/// Equal to scikit-image wherever no two edges weigh the same (its sort leaves ties in no
/// particular order); tested against scikit-image 0.26 on random images.
public enum Felzenszwalb {
    /// Segment labels (0…M−1) of an image given as `(C, H, W)` values.
    public static func segment(_ image: [Double], channels c: Int, height h: Int, width w: Int,
                               scale: Double, sigma: Double = 0.8, minSize: Int = 20) -> [Int] {
        let n = h * w
        guard n > 0, c > 0, image.count == c * n else { return [] }
        var smooth = image
        for ch in 0..<c {
            let plane = Array(image[(ch * n)..<((ch + 1) * n)])
            let smoothed = gaussian(plane, height: h, width: w, sigma: sigma)
            for i in 0..<n { smooth[ch * n + i] = smoothed[i] }
        }
        // Edges (a, b) and their weights, in scikit-image's order.
        var edges: [(Int, Int)] = [], costs: [Double] = []
        edges.reserveCapacity(4 * n)
        costs.reserveCapacity(4 * n)
        func add(_ a: Int, _ b: Int) {
            var s = 0.0
            for ch in 0..<c { let d = smooth[ch * n + a] - smooth[ch * n + b]; s += d * d }
            edges.append((a, b))
            costs.append(s.squareRoot())
        }
        for r in 0..<h { for x in 0..<(w - 1) { add(r * w + x + 1, r * w + x) } }                 // right
        for r in 0..<(h - 1) { for x in 0..<w { add((r + 1) * w + x, r * w + x) } }               // down
        for r in 0..<(h - 1) { for x in 0..<(w - 1) { add((r + 1) * w + x + 1, r * w + x) } }     // down-right
        for r in 0..<(h - 1) { for x in 0..<(w - 1) { add(r * w + x + 1, (r + 1) * w + x) } }     // up-right
        let order = costs.indices.sorted { costs[$0] != costs[$1] ? costs[$0] < costs[$1] : $0 < $1 }

        var parent = Array(0..<n), size = [Int](repeating: 1, count: n), inner = [Double](repeating: 0, count: n)
        func find(_ i: Int) -> Int {
            var root = i
            while parent[root] != root { root = parent[root] }
            var j = i
            while parent[j] != root { let next = parent[j]; parent[j] = root; j = next }
            return root
        }
        // Joins two roots under the smaller index; returns it.
        func join(_ a: Int, _ b: Int) -> Int {
            let (root, other) = a < b ? (a, b) : (b, a)
            parent[other] = root
            size[root] = size[a] + size[b]
            return root
        }
        let k = scale / 255
        for e in order {
            let a = find(edges[e].0), b = find(edges[e].1)
            guard a != b else { continue }
            let limitA = Float(inner[a] + k / Double(size[a])), limitB = Float(inner[b] + k / Double(size[b]))
            if costs[e] < Double(min(limitA, limitB)) {
                let root = join(a, b)
                inner[root] = costs[e]
            }
        }
        for e in order {
            let a = find(edges[e].0), b = find(edges[e].1)
            if a != b, size[a] < minSize || size[b] < minSize { _ = join(a, b) }
        }
        var label = [Int: Int](), out = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let root = find(i)
            if let l = label[root] { out[i] = l } else { label[root] = label.count; out[i] = label.count - 1 }
        }
        return out
    }

    /// A plane smoothed by a Gaussian of width `sigma` down the rows, then along them (scipy's
    /// `gaussian_filter`, mode `reflect`, truncate 4, its symmetric summation order).
    static func gaussian(_ plane: [Double], height h: Int, width w: Int, sigma: Double) -> [Double] {
        guard sigma > 1e-15 else { return plane }
        let weights = GaussianBlur.kernel(sigma)
        func reflect(_ i: Int, _ n: Int) -> Int {
            guard n > 1 else { return 0 }
            var m = i % (2 * n)
            if m < 0 { m += 2 * n }
            return m < n ? m : 2 * n - 1 - m
        }
        func pass(_ input: [Double], count: Int, lines: Int, step: Int, lineStep: Int) -> [Double] {
            var out = input
            for line in 0..<lines {
                let base = line * lineStep
                for i in 0..<count {
                    out[base + i * step] = GaussianBlur.symmetricSum(weights, at: i) { input[base + reflect($0, count) * step] }
                }
            }
            return out
        }
        let down = pass(plane, count: h, lines: w, step: w, lineStep: 1)
        return pass(down, count: w, lines: h, step: 1, lineStep: w)
    }
}
