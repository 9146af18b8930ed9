import CExplainSupport

/// 2-D max pooling. The pullback routes each output's gradient to the first maximal element of
/// its window in row-major order (padding never wins; a NaN wins over numbers).
///
/// Both directions are branch-free scans (the winner is chosen with selects, so random data costs
/// no mispredictions), split over the cores by planes; the common 2×2/stride-2 window has its own
/// kernels, and its pullback writes every input cell once instead of zero-filling first.
public struct MaxPool2D: Pool2D {
    public let window: Window2D
    public let ceilMode: Bool

    public init(kernel: (Int, Int), strides: (Int, Int)? = nil, pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
                dilations: (Int, Int) = (1, 1), ceilMode: Bool = false) throws {
        self.window = try Window2D(kernel: kernel, strides: strides ?? kernel, pads: pads, dilations: dilations)
        self.ceilMode = ceilMode
        guard pads.0 < window.span.h, pads.2 < window.span.h, pads.1 < window.span.w, pads.3 < window.span.w else {
            throw ExplainError.argument("max-pool padding \(pads) must be smaller than the kernel \(kernel)")
        }
    }

    public var kind: LayerKind { .maxPool }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "MaxPool2D(\(window)\(ceilMode ? ", ceil" : ""))" }

    /// True for the 2×2, stride-2 window without padding or dilation.
    var isPlain2x2: Bool {
        window.kernel == (2, 2) && window.strides == (2, 2) && window.pads == (0, 0, 0, 0) && window.dilations == (1, 1) && !ceilMode
    }

    /// Whether `v` replaces `best` as the window's winner: larger, or a NaN over a number (the
    /// first NaN stays). Written without short-circuit branches so it compiles to selects.
    @inline(__always)
    static func beats(_ v: Float, _ best: Float) -> Bool { !(v <= best) && best == best }

    /// The valid kernel taps `lo..<hi` of every output row (or column) and the window's first input index.
    private static func spans(_ outN: Int, _ n: Int, _ s: Int, _ p: Int, _ k: Int, _ d: Int) -> [(start: Int, lo: Int, hi: Int)] {
        (0..<outN).map { o in
            let start = o * s - p
            var lo = 0, hi = k
            while lo < k && start + lo * d < 0 { lo += 1 }
            while hi > lo && start + (hi - 1) * d >= n { hi -= 1 }
            return (start, lo, hi)
        }
    }

    /// For every plane `p` and output cell `o`, calls `body(p, o, winner, best)` with the index of
    /// the winning input element within the plane and its value, or `(-1, -inf)` for a window
    /// entirely in the padding. Planes run in parallel: `body` may only touch state of plane `p`.
    @inline(__always)
    func forEachWinner(_ x: Tensor, outShape: [Int], _ body: (Int, Int, Int, Float) -> Void) {
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        let g = window
        let rows = Self.spans(oh, h, g.strides.h, g.pads.top, g.kernel.h, g.dilations.h)
        let cols = Self.spans(ow, w, g.strides.w, g.pads.left, g.kernel.w, g.dilations.w)
        let dh = g.dilations.h, dw = g.dilations.w
        let taps = g.kernel.h * g.kernel.w
        x.withUnsafeBufferPointer { px in
            rows.withUnsafeBufferPointer { rows in
                cols.withUnsafeBufferPointer { cols in
                    nonisolated(unsafe) let (px, rows, cols) = (px.baseAddress!, rows, cols)
                    Parallel.forEachRange(planes, grain: max(1, (1 << 16) / max(1, oh * ow * taps))) { range in
                        for p in range {
                            let src = px + p * h * w
                            for i in 0..<oh {
                                let r = rows[i]
                                for j in 0..<ow {
                                    let c = cols[j]
                                    guard r.lo < r.hi && c.lo < c.hi else { body(p, i * ow + j, -1, -.infinity); continue }
                                    var winner = (r.start + r.lo * dh) * w + c.start + c.lo * dw
                                    var best = src[winner]
                                    for ki in r.lo..<r.hi {
                                        let rowStart = (r.start + ki * dh) * w + c.start
                                        for kj in c.lo..<c.hi {
                                            let k = rowStart + kj * dw
                                            let v = src[k]
                                            let take = Self.beats(v, best)
                                            best = take ? v : best
                                            winner = take ? k : winner
                                        }
                                    }
                                    body(p, i * ow + j, winner, best)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        if isPlain2x2 { return Self.max2x2(x, outShape: outShape) }
        let outPlane = outShape[2] * outShape[3]
        return Tensor(shape: outShape) { out in
            nonisolated(unsafe) let d = out.baseAddress!
            forEachWinner(x, outShape: outShape) { p, o, _, best in d[p &* outPlane &+ o] = best }
        }
    }

    /// Runs `body(src, dst, plane)` for the planes of a 2×2 kernel, split over the cores.
    @inline(__always)
    private static func forEachPlane2x2(
        _ x: Tensor, into out: UnsafeMutablePointer<Float>, dstPlane: Int,
        _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) {
        let (h, w) = (x.shape[2], x.shape[3])
        x.withUnsafeBufferPointer { px in
            nonisolated(unsafe) let (px, out) = (px.baseAddress!, out)
            Parallel.forEachRange(x.shape[0] * x.shape[1], grain: max(1, (1 << 16) / max(1, h * w))) { range in
                for p in range { body(px + p * h * w, out + p * dstPlane, p) }
            }
        }
    }

    /// The 2×2, stride-2 window without padding (same tie and NaN rules as the general path).
    static func max2x2(_ x: Tensor, outShape: [Int]) -> Tensor {
        let (w, oh, ow) = (x.shape[3], outShape[2], outShape[3])
        return Tensor(shape: outShape) { out in
            forEachPlane2x2(x, into: out.baseAddress!, dstPlane: oh * ow) { src, dst, _ in
                explain_max2x2_rows(src, w, dst, oh, ow)
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [try routeToWinners(input: inputs[0], outShape: output.shape, values: cotangent)]
    }

    /// `routeToWinners` for the 2×2, stride-2 window. Every input cell is written exactly once (the
    /// winner gets the value, the others 0), so the result needs no zero-fill; rows or columns
    /// beyond the last full window are cleared.
    static func route2x2(_ x: Tensor, outShape: [Int], values: Tensor) -> Tensor {
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        return Tensor(shape: x.shape) { dx in
            values.withUnsafeBufferPointer { pg in
                nonisolated(unsafe) let pg = pg.baseAddress!
                forEachPlane2x2(x, into: dx.baseAddress!, dstPlane: h * w) { src, dst, p in
                    explain_route2x2_rows(src, pg + p * oh * ow, w, dst, oh, ow)
                    if 2 * ow < w { for r in 0..<(2 * oh) { (dst + r * w + 2 * ow).update(repeating: 0, count: w - 2 * ow) } }
                    if 2 * oh < h { (dst + 2 * oh * w).update(repeating: 0, count: (h - 2 * oh) * w) }
                }
            }
        }
    }

    /// Scatters `values` (output-shaped) onto the winning input element of each window.
    public func routeToWinners(input x: Tensor, outShape: [Int], values: Tensor) throws -> Tensor {
        guard values.shape == outShape else { throw ExplainError.shape("max-pool values must have the output shape") }
        if isPlain2x2 { return Self.route2x2(x, outShape: outShape, values: values) }
        let plane = x.shape[2] * x.shape[3], outPlane = outShape[2] * outShape[3]
        var dx = Tensor(shape: x.shape)
        dx.withUnsafeMutableBufferPointer { pdx in
            values.withUnsafeBufferPointer { pg in
                nonisolated(unsafe) let (d, v) = (pdx.baseAddress!, pg.baseAddress!)
                forEachWinner(x, outShape: outShape) { p, o, winner, _ in
                    if winner >= 0 { d[p &* plane &+ winner] += v[p &* outPlane &+ o] }
                }
            }
        }
        return dx
    }
}
