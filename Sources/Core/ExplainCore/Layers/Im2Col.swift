import Dispatch

/// Geometry of a 2-D sliding window (convolution or pooling) over one input plane.
public struct Window2D: Sendable, Equatable, CustomStringConvertible {
    public var kernel: (h: Int, w: Int)
    public var strides: (h: Int, w: Int)
    /// Padding as (top, left, bottom, right).
    public var pads: (top: Int, left: Int, bottom: Int, right: Int)
    public var dilations: (h: Int, w: Int)

    public init(
        kernel: (Int, Int), strides: (Int, Int) = (1, 1),
        pads: (Int, Int, Int, Int) = (0, 0, 0, 0), dilations: (Int, Int) = (1, 1)
    ) throws {
        guard kernel.0 >= 1, kernel.1 >= 1 else { throw ExplainError.argument("kernel \(kernel) must be positive") }
        guard strides.0 >= 1, strides.1 >= 1 else { throw ExplainError.argument("strides \(strides) must be positive") }
        guard dilations.0 >= 1, dilations.1 >= 1 else { throw ExplainError.argument("dilations \(dilations) must be positive") }
        guard pads.0 >= 0, pads.1 >= 0, pads.2 >= 0, pads.3 >= 0 else {
            throw ExplainError.argument("pads \(pads) must not be negative")
        }
        self.kernel = (kernel.0, kernel.1)
        self.strides = (strides.0, strides.1)
        self.pads = (pads.0, pads.1, pads.2, pads.3)
        self.dilations = (dilations.0, dilations.1)
    }

    /// A pooling window: every window must overlap the input, so each padding stays below the
    /// window's extent (onnxruntime's rule; PyTorch asks for at most half of it).
    public static func pooling(kernel: (Int, Int), strides: (Int, Int), pads: (Int, Int, Int, Int), dilations: (Int, Int) = (1, 1)) throws -> Window2D {
        let w = try Window2D(kernel: kernel, strides: strides, pads: pads, dilations: dilations)
        guard max(w.pads.top, w.pads.bottom) < w.span.h, max(w.pads.left, w.pads.right) < w.span.w else {
            throw ExplainError.argument("pooling pads \(pads) must be smaller than the window \(w.span)")
        }
        return w
    }

    public static func == (l: Window2D, r: Window2D) -> Bool {
        l.kernel == r.kernel && l.strides == r.strides && l.pads == r.pads && l.dilations == r.dilations
    }

    /// Extent of the dilated kernel.
    public var span: (h: Int, w: Int) { ((kernel.h - 1) * dilations.h + 1, (kernel.w - 1) * dilations.w + 1) }

    /// Output size for an input plane; `ceilMode` follows PyTorch/ONNX (the last window must start
    /// inside the input or the left padding).
    public func outputSize(h: Int, w: Int, ceilMode: Bool = false) throws -> (h: Int, w: Int) {
        func one(_ n: Int, _ p0: Int, _ p1: Int, _ span: Int, _ s: Int) throws -> Int {
            let extent = n + p0 + p1 - span
            guard extent >= 0 else {
                throw ExplainError.shape("window of extent \(span) does not fit input size \(n) with padding \(p0)+\(p1)")
            }
            var out = (ceilMode ? (extent + s - 1) / s : extent / s) + 1
            if ceilMode && (out - 1) * s >= n + p0 { out -= 1 }
            return out
        }
        return (try one(h, pads.top, pads.bottom, span.h, strides.h), try one(w, pads.left, pads.right, span.w, strides.w))
    }

    public var description: String {
        "k\(kernel.h)x\(kernel.w) s\(strides.h)x\(strides.w) p\(pads.top),\(pads.left),\(pads.bottom),\(pads.right)"
            + (dilations == (1, 1) ? "" : " d\(dilations.h)x\(dilations.w)")
    }

    /// True for a 1×1 kernel with unit stride and no padding: the input plane is already the column matrix.
    var isPointwise: Bool {
        kernel == (1, 1) && strides == (1, 1) && pads == (0, 0, 0, 0)
    }

    /// For kernel column `kj`: the output range `lo..<hi` whose input column lies inside `0..<w`.
    @inline(__always)
    func validColumns(kj: Int, w: Int, outW: Int) -> (offset: Int, lo: Int, hi: Int) {
        let off = kj * dilations.w - pads.left
        let s = strides.w
        let lo = off >= 0 ? 0 : min(outW, (-off + s - 1) / s)
        let hi = max(lo, min(outW, w - off <= 0 ? 0 : (w - off + s - 1) / s))
        return (off, lo, hi)
    }
}

/// im2col / col2im for convolutions: unfold `channels` input planes of size h×w into a
/// `(channels·kH·kW) × (rows·outW)` column matrix for a band of output rows, and fold such a
/// matrix back (accumulating). Working in bands keeps the column matrix in cache.
enum Im2Col {
    /// Output rows per band: about `budget` floats of column matrix, but each GEMM gets between
    /// `minColumns` and `maxColumns` columns, the range where OpenBLAS runs near its peak.
    static func bandRows(k: Int, outH: Int, outW: Int, budget: Int = 1 << 20,
                         minColumns: Int = 2048, maxColumns: Int = 4096) -> Int {
        let w = max(1, outW)
        let byBudget = min(budget / max(1, k * w), (maxColumns + w - 1) / w)
        return max(1, min(outH, max(byBudget, (minColumns + w - 1) / w)))
    }

    /// Runs `body(c, ki, kj, colRow, rowOffset, lo, hi)` for every (channel, kernel tap) — the
    /// shared walk of unfold and fold — with the channels split across cores when `parallel` and
    /// the work is large. `colRow` is the tap's row in the column matrix.
    @inline(__always)
    static func forEachTap(channels: Int, window g: Window2D, w: Int, outW: Int, plane: Int, parallel: Bool,
                           _ body: (_ c: Int, _ ki: Int, _ kj: Int, _ colRow: Int, _ columns: (offset: Int, lo: Int, hi: Int)) -> Void) {
        let kh = g.kernel.h, kw = g.kernel.w
        let chunks = parallel && channels * kh * kw * plane > 1 << 20 ? min(channels, BLAS.threads) : 1
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            Parallel.perform(iterations: chunks) { chunk in
                for c in (channels * chunk / chunks)..<(channels * (chunk + 1) / chunks) {
                    for ki in 0..<kh {
                        for kj in 0..<kw {
                            body(c, ki, kj, ((c * kh + ki) * kw + kj) * plane, g.validColumns(kj: kj, w: w, outW: outW))
                        }
                    }
                }
            }
        }
    }

    static func unfold(
        _ src: UnsafePointer<Float>, channels: Int, h: Int, w: Int,
        window g: Window2D, outH: Int, outW: Int, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>,
        parallel: Bool = true
    ) {
        let plane = rows.count * outW
        let sh = g.strides.h, sw = g.strides.w
        forEachTap(channels: channels, window: g, w: w, outW: outW, plane: plane, parallel: parallel) { c, ki, _, colRow, columns in
            let row = dst + colRow
            let (off, lo, hi) = columns
            for oh in rows {
                let ih = oh * sh - g.pads.top + ki * g.dilations.h
                let d = row + (oh - rows.lowerBound) * outW
                if ih < 0 || ih >= h {
                    d.update(repeating: 0, count: outW)
                    continue
                }
                let s = src + (c * h + ih) * w + off
                if lo > 0 { d.update(repeating: 0, count: lo) }
                if sw == 1 {
                    (d + lo).update(from: s + lo, count: hi - lo)
                } else {
                    for ow in lo..<hi { d[ow] = s[ow &* sw] }
                }
                if hi < outW { (d + hi).update(repeating: 0, count: outW - hi) }
            }
        }
    }

    static func fold(
        _ src: UnsafePointer<Float>, channels: Int, h: Int, w: Int,
        window g: Window2D, outH: Int, outW: Int, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>,
        parallel: Bool = true
    ) {
        let plane = rows.count * outW
        let sh = g.strides.h, sw = g.strides.w
        // Channels are disjoint between chunks, so the accumulations never overlap.
        forEachTap(channels: channels, window: g, w: w, outW: outW, plane: plane, parallel: parallel) { c, ki, _, colRow, columns in
            let row = src + colRow
            let (off, lo, hi) = columns
            for oh in rows {
                let ih = oh * sh - g.pads.top + ki * g.dilations.h
                if ih < 0 || ih >= h { continue }
                let s = row + (oh - rows.lowerBound) * outW
                let d = dst + (c * h + ih) * w + off
                if sw == 1 {
                    for ow in lo..<hi { d[ow] += s[ow] }
                } else {
                    for ow in lo..<hi { d[ow &* sw] += s[ow] }
                }
            }
        }
    }
}
