import ExplainCore

/// SLIC superpixels (Achanta et al. 2012, "SLIC Superpixels Compared to State-of-the-Art
/// Superpixel Methods"): k-means over (value, position) with centres seeded on a regular grid,
/// each centre searching a window of twice the grid interval, followed by a pass that makes every
/// segment connected (components below a quarter of the mean segment size join a neighbour).
///
/// The distance is `√(d_v² + (d_xy / S)² m²)`, with `d_v` the Euclidean distance of the channel
/// values scaled to [0, 1] over the image, `S` the grid interval and `m` the compactness.
public enum Superpixels {
    /// Segment ids (0…M−1, M near `segments`) for each pixel of a `(C, H, W)` image given as values.
    public static func slic(_ image: UnsafeBufferPointer<Float>, channels c: Int, height h: Int, width w: Int,
                            segments k: Int, compactness m: Double = 0.1, iterations: Int = 10) -> [Int] {
        let n = h * w
        guard n > 0, k > 1 else { return [Int](repeating: 0, count: n) }
        let lo = Double(image.min() ?? 0), hi = Double(image.max() ?? 0), range = hi > lo ? hi - lo : 1
        func value(_ ch: Int, _ p: Int) -> Double { (Double(image[ch * n + p]) - lo) / range }
        let step = max(1, Int((Double(n) / Double(k)).squareRoot().rounded()))
        // Centres: (values…, y, x) on a grid of about k cells shaped like the image.
        let rows = max(1, min(h, Int((Double(k) * Double(h) / Double(w)).squareRoot().rounded())))
        let cols = max(1, min(w, Int((Double(k) / Double(rows)).rounded())))
        var centres: [[Double]] = []
        for i in 0..<rows {
            for j in 0..<cols {
                let (y, x) = (min(h - 1, (2 * i + 1) * h / (2 * rows)), min(w - 1, (2 * j + 1) * w / (2 * cols)))
                centres.append((0..<c).map { value($0, y * w + x) } + [Double(y), Double(x)])
            }
        }
        var label = [Int](repeating: 0, count: n), best = [Double](repeating: .infinity, count: n)
        let spatial = m / Double(step)
        for _ in 0..<iterations {
            for i in 0..<n { best[i] = .infinity }
            for (j, centre) in centres.enumerated() {
                let cy = Int(centre[c].rounded()), cx = Int(centre[c + 1].rounded())
                for y in max(0, cy - step)..<min(h, cy + step + 1) {
                    for x in max(0, cx - step)..<min(w, cx + step + 1) {
                        let p = y * w + x
                        var dv = 0.0
                        for ch in 0..<c { let d = value(ch, p) - centre[ch]; dv += d * d }
                        let dy = Double(y) - centre[c], dx = Double(x) - centre[c + 1]
                        let d = dv + (dy * dy + dx * dx) * spatial * spatial
                        if d < best[p] { best[p] = d; label[p] = j }
                    }
                }
            }
            var sums = [[Double]](repeating: [Double](repeating: 0, count: c + 2), count: centres.count), counts = [Int](repeating: 0, count: centres.count)
            for p in 0..<n where best[p].isFinite {
                let j = label[p]
                for ch in 0..<c { sums[j][ch] += value(ch, p) }
                sums[j][c] += Double(p / w); sums[j][c + 1] += Double(p % w)
                counts[j] += 1
            }
            for j in centres.indices where counts[j] > 0 { centres[j] = sums[j].map { $0 / Double(counts[j]) } }
        }
        return connected(label, height: h, width: w, minimum: max(1, n / centres.count / 4))
    }

    /// Relabels `label` into 4-connected components, in scan order; a component smaller than
    /// `minimum` joins the component of its first already-labelled neighbour.
    static func connected(_ label: [Int], height h: Int, width w: Int, minimum: Int) -> [Int] {
        let n = h * w
        var out = [Int](repeating: -1, count: n), next = 0
        var stack: [Int] = [], members: [Int] = []
        for start in 0..<n where out[start] < 0 {
            // The neighbour label to join if this component is too small.
            var adjacent = -1
            for q in [start - 1, start - w] where q >= 0 && (q != start - 1 || start % w != 0) && out[q] >= 0 { adjacent = out[q]; break }
            stack = [start]; members = [start]; out[start] = next
            while let p = stack.popLast() {
                let (y, x) = (p / w, p % w)
                // The 4 neighbours inside the image.
                func visit(_ q: Int) {
                    if out[q] < 0 && label[q] == label[start] { out[q] = next; stack.append(q); members.append(q) }
                }
                if y > 0 { visit(p - w) }
                if y + 1 < h { visit(p + w) }
                if x > 0 { visit(p - 1) }
                if x + 1 < w { visit(p + 1) }
            }
            if members.count < minimum && adjacent >= 0 {
                for p in members { out[p] = adjacent }
            } else {
                next += 1
            }
        }
        return out
    }
}

extension FeatureGroups {
    /// SLIC superpixels of each image of an (N, C, H, W) batch (computed per sample on its own
    /// values), shared by the channels.
    public init(superpixels k: Int, compactness: Double, input: Tensor) throws {
        guard input.rank == 4 else { throw ExplainError.shape("superpixels need an image batch (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        guard k >= 2, k <= h * w else { throw ExplainError.argument("slic = \(k): give 2…\(h * w) segments") }
        guard compactness > 0, compactness.isFinite else { throw ExplainError.argument("compactness must be > 0") }
        let per = c * h * w
        var index = [[Int]](), count = [Int]()
        for s in 0..<n {
            let labels = input.withUnsafeBufferPointer { p in
                Superpixels.slic(UnsafeBufferPointer(rebasing: p[(s * per)..<((s + 1) * per)]), channels: c, height: h, width: w,
                                 segments: k, compactness: compactness)
            }
            index.append((0..<per).map { labels[$0 % (h * w)] })
            count.append((labels.max() ?? 0) + 1)
        }
        self.init(index: index, count: count)
    }
}
