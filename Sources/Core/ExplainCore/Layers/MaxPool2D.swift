import CExplainSupport

/// 2-D max pooling. The pullback routes each output's gradient to the first maximal element of
/// its window in row-major order (padding never wins; a NaN wins over numbers).
///
/// Both directions are branch-free scans in C (the winner is chosen with selects, so random data
/// costs no mispredictions), split over the cores by planes; the common 2×2/stride-2 window has
/// SSE2 kernels, and its pullback writes every input cell once instead of zero-filling first.
/// In a forward pass for a backward pass, the pool records each window's winner
/// (`RecordingPullback`) so that its input need not be kept.
public struct MaxPool2D: Pool2D {
    public let window: Window2D
    public let ceilMode: Bool

    public init(kernel: (Int, Int), strides: (Int, Int)? = nil, pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
                dilations: (Int, Int) = (1, 1), ceilMode: Bool = false) throws {
        self.window = try Window2D.pooling(kernel: kernel, strides: strides ?? kernel, pads: pads, dilations: dilations)
        self.ceilMode = ceilMode
    }

    public var kind: LayerKind { .maxPool }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "MaxPool2D(\(window)\(ceilMode ? ", ceil" : ""))" }

    /// True for the 2×2, stride-2 window without padding or dilation.
    var isPlain2x2: Bool {
        window.kernel == (2, 2) && window.strides == (2, 2) && window.pads == (0, 0, 0, 0) && window.dilations == (1, 1) && !ceilMode
    }


    /// The valid kernel taps `lo..<hi` of every output row (or column) and the window's first input index.
    private static func spans(_ outN: Int, _ n: Int, _ s: Int, _ p: Int, _ k: Int, _ d: Int) -> (start: [Int], lo: [Int], hi: [Int]) {
        var result = (start: [Int](), lo: [Int](), hi: [Int]())
        for o in 0..<outN {
            let start = o * s - p
            var lo = 0, hi = k
            while lo < k && start + lo * d < 0 { lo += 1 }
            while hi > lo && start + (hi - 1) * d >= n { hi -= 1 }
            result.start.append(start); result.lo.append(lo); result.hi.append(hi)
        }
        return result
    }

    /// For every plane `p`, calls `body(p, best, winner)` with each output cell's maximum and the
    /// index of the winning input element within the plane, or (-inf, -1) for a window entirely in
    /// the padding (a branch-free C kernel). Planes run in parallel: `body` may only touch state of
    /// plane `p`; the two buffers are only valid during the call.
    @inline(__always)
    func forEachPlaneWinners(_ x: Tensor, outShape: [Int], _ body: (Int, UnsafePointer<Float>, UnsafePointer<Int>) -> Void) {
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1], outPlane = oh * ow
        let g = window
        let rows = Self.spans(oh, h, g.strides.h, g.pads.top, g.kernel.h, g.dilations.h)
        let cols = Self.spans(ow, w, g.strides.w, g.pads.left, g.kernel.w, g.dilations.w)
        let taps = g.kernel.h * g.kernel.w
        let fast = g.kernel == (3, 3) && g.strides == (2, 2) && g.dilations == (1, 1)
        x.withUnsafeBufferPointer { px in
            nonisolated(unsafe) let px = px.baseAddress!
            Parallel.forEachRange(planes, grain: max(1, (1 << 16) / max(1, outPlane * taps))) { range in
                var best = [Float](repeating: 0, count: outPlane), winners = [Int](repeating: 0, count: outPlane)
                for p in range {
                    explain_maxpool_plane(px + p * h * w, w, oh, ow, rows.start, rows.lo, rows.hi, cols.start, cols.lo, cols.hi,
                                          g.dilations.h, g.dilations.w, fast ? 1 : 0, &best, &winners)
                    body(p, best, winners)
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
            forEachPlaneWinners(x, outShape: outShape) { p, best, _ in (d + p * outPlane).update(from: best, count: outPlane) }
        }
    }

    /// Runs `body(src, dst, plane)` for the planes of a 2×2 kernel, split over the cores.
    @inline(__always)
    static func forEachPlane2x2(
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

    /// Zeroes the cells of an `h`×`w` input plane beyond its `oh`×`ow` full 2×2 windows (odd sizes).
    static func clearOutsideWindows(_ dst: UnsafeMutablePointer<Float>, h: Int, w: Int, oh: Int, ow: Int) {
        if 2 * ow < w { for row in 0..<(2 * oh) { (dst + row * w + 2 * ow).update(repeating: 0, count: w - 2 * ow) } }
        if 2 * oh < h { (dst + 2 * oh * w).update(repeating: 0, count: (h - 2 * oh) * w) }
    }

    /// `routeToWinners` for the 2×2, stride-2 window. Every input cell is written exactly once (the
    /// winner gets the value, the others 0), so the result needs no zero-fill; rows or columns
    /// beyond the last full window are cleared.
    static func route2x2(_ x: Tensor, outShape: [Int], values: Tensor, onlyWherePositive: Bool) -> Tensor {
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        return Tensor(shape: x.shape) { dx in
            values.withUnsafeBufferPointer { pg in
                nonisolated(unsafe) let pg = pg.baseAddress!
                forEachPlane2x2(x, into: dx.baseAddress!, dstPlane: h * w) { src, dst, p in
                    explain_route2x2_rows(src, pg + p * oh * ow, w, dst, oh, ow, onlyWherePositive ? 1 : 0)
                    clearOutsideWindows(dst, h: h, w: w, oh: oh, ow: ow)
                }
            }
        }
    }

    /// Scatters `values` (output-shaped) onto the winning input element of each window; with
    /// `onlyWherePositive`, only from windows whose maximum is > 0 (the others route 0).
    public func routeToWinners(input x: Tensor, outShape: [Int], values: Tensor, onlyWherePositive: Bool = false) throws -> Tensor {
        guard values.shape == outShape else { throw ExplainError.shape("max-pool values must have the output shape") }
        if isPlain2x2 { return Self.route2x2(x, outShape: outShape, values: values, onlyWherePositive: onlyWherePositive) }
        let record = WinnerIndices(inputShape: x.shape, outputShape: outShape, indices: try winnerIndices(x, outShape: outShape, output: nil))
        return try Self.route(record, cotangent: values, keepingWherePositive: onlyWherePositive)
    }
}

extension MaxPool2D: ReluMaskingPullback {
    /// The Relu's mask at each window's winner is the sign of the window's maximum (`y > 0` exactly
    /// when the winning input is), and the other inputs get 0 anyway: so the routing itself drops
    /// the windows whose maximum is not positive (`mask`, the Relu's output, is this layer's input).
    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, keepingWherePositive mask: Tensor) throws -> Tensor {
        try expectCotangent(cotangent, output)
        guard mask.shape == inputs.first?.shape else {
            throw ExplainError.shape("max-pool input mask \(Shape.format(mask.shape)) does not match the input")
        }
        return try routeToWinners(input: inputs[0], outShape: output.shape, values: cotangent, onlyWherePositive: true)
    }
}

extension MaxPool2D: RecordingPullback {
    /// What the pullback of the 2×2 window needs: per output, the winner's position in its window
    /// and whether the maximum is > 0 (`explain_max2x2_rows_codes`), a quarter of the output's size.
    struct Winners: Sendable {
        let inputShape: [Int]
        let outputShape: [Int]
        let codes: [UInt8]
    }

    /// What the pullback of any other window needs: per output, the winner's index in its input
    /// plane `k` as `k` where the maximum is > 0, `−2 − k` where it is not, and −1 for a window
    /// entirely in the padding (nothing is routed). The same size as the output.
    struct WinnerIndices: Sendable {
        let inputShape: [Int]
        let outputShape: [Int]
        let indices: [Int32]
    }

    public var canRecord: Bool { true }

    public func forwardRecording(_ input: Tensor) throws -> (output: Tensor, record: any Sendable) {
        let outShape = try outputShape([input.shape])
        let (w, oh, ow) = (input.shape[3], outShape[2], outShape[3])
        guard isPlain2x2 else {
            var indices: [Int32] = []
            let y = try Tensor(shape: outShape) { out in indices = try winnerIndices(input, outShape: outShape, output: out.baseAddress!) }
            return (y, WinnerIndices(inputShape: input.shape, outputShape: outShape, indices: indices))
        }
        guard input.count > 0 else { return (try forward([input]), Winners(inputShape: input.shape, outputShape: outShape, codes: [])) }
        var codes: [UInt8] = []
        let y = Tensor(shape: outShape) { out in
            codes = [UInt8](unsafeUninitializedCapacity: out.count) { c, initialized in
                nonisolated(unsafe) let c = c.baseAddress!
                Self.forEachPlane2x2(input, into: out.baseAddress!, dstPlane: oh * ow) { src, dst, p in
                    explain_max2x2_rows_codes(src, w, dst, oh, ow, c + p * oh * ow)
                }
                initialized = out.count
            }
        }
        return (y, Winners(inputShape: input.shape, outputShape: outShape, codes: codes))
    }

    /// Each window's winner encoded as in `WinnerIndices`; with `output`, the maxima are written there.
    func winnerIndices(_ x: Tensor, outShape: [Int], output: UnsafeMutablePointer<Float>?) throws -> [Int32] {
        let (h, w) = (x.shape[2], x.shape[3])
        guard h * w < Int(Int32.max) else {
            throw ExplainError.shape("max-pool input plane \(h)×\(w) is too large to record its winners (2^31 elements at most)")
        }
        let outPlane = outShape[2] * outShape[3]
        var indices = [Int32](repeating: -1, count: outShape.reduce(1, *))
        indices.withUnsafeMutableBufferPointer { pi in
            nonisolated(unsafe) let (d, r) = (output, pi.baseAddress!)
            forEachPlaneWinners(x, outShape: outShape) { p, best, winners in
                d.map { ($0 + p * outPlane).update(from: best, count: outPlane) }
                let rp = r + p * outPlane
                for o in 0..<outPlane {
                    let k = Int32(truncatingIfNeeded: winners[o])
                    rp[o] = k < 0 ? -1 : best[o] > 0 ? k : -2 - k
                }
            }
        }
        return indices
    }

    public func pullback(record: any Sendable, cotangent: Tensor, keepingWherePositive: Bool) throws -> Tensor {
        if let r = record as? WinnerIndices {
            return try Self.route(r, cotangent: cotangent, keepingWherePositive: keepingWherePositive)
        }
        guard let r = record as? Winners, isPlain2x2, r.codes.count == cotangent.count, cotangent.shape == r.outputShape else {
            throw ExplainError.argument("max-pool record does not match this layer and cotangent \(Shape.format(cotangent.shape))")
        }
        guard cotangent.count > 0 else { return Tensor(shape: r.inputShape) }
        let (h, w, oh, ow) = (r.inputShape[2], r.inputShape[3], r.outputShape[2], r.outputShape[3])
        let planes = r.inputShape[0] * r.inputShape[1]
        return Tensor(shape: r.inputShape) { dx in
            cotangent.withUnsafeBufferPointer { pg in
                r.codes.withUnsafeBufferPointer { pc in
                    nonisolated(unsafe) let (pg, pc, d) = (pg.baseAddress!, pc.baseAddress!, dx.baseAddress!)
                    Parallel.forEachRange(planes, grain: max(1, (1 << 16) / max(1, h * w))) { range in
                        for p in range {
                            let dst = d + p * h * w
                            explain_route2x2_codes(pc + p * oh * ow, pg + p * oh * ow, w, dst, oh, ow, keepingWherePositive ? 1 : 0)
                            Self.clearOutsideWindows(dst, h: h, w: w, oh: oh, ow: ow)
                        }
                    }
                }
            }
        }
    }

    /// Each output's gradient added onto its recorded winner (windows may overlap), plane by plane,
    /// each plane cleared just before by the core that fills it.
    private static func route(_ r: WinnerIndices, cotangent: Tensor, keepingWherePositive: Bool) throws -> Tensor {
        guard r.indices.count == cotangent.count, cotangent.shape == r.outputShape, r.inputShape.count == 4, r.outputShape.count == 4 else {
            throw ExplainError.argument("max-pool record does not match this layer and cotangent \(Shape.format(cotangent.shape))")
        }
        let plane = r.inputShape[2] * r.inputShape[3], outPlane = r.outputShape[2] * r.outputShape[3]
        let planes = r.inputShape[0] * r.inputShape[1]
        return Tensor(shape: r.inputShape) { dx in
            cotangent.withUnsafeBufferPointer { pg in
                r.indices.withUnsafeBufferPointer { pi in
                    nonisolated(unsafe) let (pg, pi, d) = (pg.baseAddress!, pi.baseAddress!, dx.baseAddress!)
                    Parallel.forEachRange(planes, grain: max(1, (1 << 16) / max(1, plane))) { range in
                        for p in range {
                            let dst = d + p * plane, g = pg + p * outPlane, k = pi + p * outPlane
                            dst.update(repeating: 0, count: plane)
                            for o in 0..<outPlane {
                                let i = Int(k[o])
                                if i >= 0 { dst[i] += g[o] } else if i <= -2, !keepingWherePositive { dst[-2 - i] += g[o] }
                            }
                        }
                    }
                }
            }
        }
    }
}
