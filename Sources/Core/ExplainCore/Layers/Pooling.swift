/// Shared shape logic of the 2-D pooling layers.
protocol Pool2D: Layer {
    var window: Window2D { get }
    var ceilMode: Bool { get }
}

extension Pool2D {
    public var arity: Int { 1 }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        guard s.count == 4 else { throw ExplainError.shape("\(kind) input must be NCHW (rank 4), got \(Shape.format(s))") }
        let o = try window.outputSize(h: s[2], w: s[3], ceilMode: ceilMode)
        return [s[0], s[1], o.h, o.w]
    }
}

/// 2-D max pooling. The pullback routes each output's gradient to the first maximal element of
/// its window in row-major order (padding never wins).
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

    /// For every plane `p` and output cell `o`, calls `body(p, o, winner, best)` with the index of the
    /// first maximal input element of the window within the plane (row-major order; padding never
    /// wins; NaN wins) and its value, or `(-1, -inf)` for a window entirely in the padding.
    @inline(__always)
    func forEachWinner(_ x: Tensor, outShape: [Int], _ body: (Int, Int, Int, Float) -> Void) {
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        let g = window
        // Valid kernel offsets per output row / column.
        func ranges(_ outN: Int, _ n: Int, _ s: Int, _ p: Int, _ k: Int, _ d: Int) -> [(start: Int, lo: Int, hi: Int)] {
            (0..<outN).map { o in
                let start = o * s - p
                var lo = 0, hi = k
                while lo < k && start + lo * d < 0 { lo += 1 }
                while hi > lo && start + (hi - 1) * d >= n { hi -= 1 }
                return (start, lo, hi)
            }
        }
        let rows = ranges(oh, h, g.strides.h, g.pads.top, g.kernel.h, g.dilations.h)
        let cols = ranges(ow, w, g.strides.w, g.pads.left, g.kernel.w, g.dilations.w)
        let dh = g.dilations.h, dw = g.dilations.w
        x.withUnsafeBufferPointer { px in
            rows.withUnsafeBufferPointer { rows in
                cols.withUnsafeBufferPointer { cols in
                    for p in 0..<planes {
                        let src = px.baseAddress! + p * h * w
                        for i in 0..<oh {
                            let r = rows[i]
                            for j in 0..<ow {
                                let c = cols[j]
                                var best = -Float.infinity, winner = -1
                                for ki in r.lo..<r.hi {
                                    let rowStart = (r.start + ki * dh) * w + c.start
                                    for kj in c.lo..<c.hi {
                                        let k = rowStart + kj * dw
                                        let v = src[k]
                                        if winner < 0 || v > best || (v.isNaN && !best.isNaN) { best = v; winner = k }
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

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        let g = window
        if g.kernel == (2, 2) && g.strides == (2, 2) && g.pads == (0, 0, 0, 0) && g.dilations == (1, 1) && !ceilMode {
            return Self.max2x2(x, outShape: outShape)
        }
        let outPlane = outShape[2] * outShape[3]
        return Tensor(shape: outShape) { out in
            let d = out.baseAddress!
            forEachWinner(x, outShape: outShape) { p, o, _, best in d[p &* outPlane &+ o] = best }
        }
    }

    /// The common 2×2, stride-2 window without padding (same tie and NaN rules as the general path).
    static func max2x2(_ x: Tensor, outShape: [Int]) -> Tensor {
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        @inline(__always) func pick(_ best: Float, _ v: Float) -> Float { v > best || v.isNaN ? v : best }
        return Tensor(shape: outShape) { out in
            x.withUnsafeBufferPointer { px in
                for p in 0..<planes {
                    let src = px.baseAddress! + p * h * w
                    let dst = out.baseAddress! + p * oh * ow
                    for i in 0..<oh {
                        let r0 = src + 2 * i * w, r1 = r0 + w, d = dst + i * ow
                        for j in 0..<ow {
                            let c = 2 &* j
                            d[j] = pick(pick(pick(r0[c], r0[c &+ 1]), r1[c]), r1[c &+ 1])
                        }
                    }
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [try routeToWinners(input: inputs[0], outShape: output.shape, values: cotangent)]
    }

    /// `routeToWinners` for the 2×2, stride-2 window: same first-maximum and NaN rules as `argmax`.
    static func route2x2(_ x: Tensor, outShape: [Int], values: Tensor) -> Tensor {
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        // Every input cell is written exactly once (the winner gets the value, the others 0), so the
        // result needs no zero-fill; rows or columns beyond the last full window are cleared.
        return Tensor(shape: x.shape) { dx in
            x.withUnsafeBufferPointer { px in
                values.withUnsafeBufferPointer { pg in
                    for p in 0..<planes {
                        let src = px.baseAddress! + p * h * w, dst = dx.baseAddress! + p * h * w
                        let g = pg.baseAddress! + p * oh * ow
                        for i in 0..<oh {
                            let r0 = 2 * i * w, r1 = r0 + w
                            for j in 0..<ow {
                                let c = 2 &* j
                                var best = r0 &+ c
                                @inline(__always) func consider(_ k: Int) {
                                    let v = src[k], b = src[best]
                                    if v > b || (v.isNaN && !b.isNaN) { best = k }
                                }
                                consider(r0 &+ c &+ 1)
                                consider(r1 &+ c)
                                consider(r1 &+ c &+ 1)
                                dst[r0 &+ c] = 0; dst[r0 &+ c &+ 1] = 0; dst[r1 &+ c] = 0; dst[r1 &+ c &+ 1] = 0
                                dst[best] = g[i * ow + j]
                            }
                            if 2 * ow < w { for r in [r0, r1] { (dst + r + 2 * ow).update(repeating: 0, count: w - 2 * ow) } }
                        }
                        if 2 * oh < h { (dst + 2 * oh * w).update(repeating: 0, count: (h - 2 * oh) * w) }
                    }
                }
            }
        }
    }

    /// Scatters `values` (output-shaped) onto the winning input element of each window.
    public func routeToWinners(input x: Tensor, outShape: [Int], values: Tensor) throws -> Tensor {
        guard values.shape == outShape else { throw ExplainError.shape("max-pool values must have the output shape") }
        let plane = x.shape[2] * x.shape[3], outPlane = outShape[2] * outShape[3]
        let g = window
        if g.kernel == (2, 2) && g.strides == (2, 2) && g.pads == (0, 0, 0, 0) && g.dilations == (1, 1) && !ceilMode {
            return Self.route2x2(x, outShape: outShape, values: values)
        }
        var dx = Tensor(shape: x.shape)
        dx.withUnsafeMutableBufferPointer { pdx in
            values.withUnsafeBufferPointer { pg in
                // Plain pointers: capturing the buffer parameters would box them per call.
                let d = pdx.baseAddress!, v = pg.baseAddress!
                forEachWinner(x, outShape: outShape) { p, o, winner, _ in
                    if winner >= 0 { d[p &* plane &+ winner] += v[p &* outPlane &+ o] }
                }
            }
        }
        return dx
    }
}

/// 2-D average pooling with ONNX/PyTorch `ceil_mode` and `count_include_pad` semantics.
public struct AveragePool2D: Pool2D {
    public let window: Window2D
    public let ceilMode: Bool
    public let countIncludePad: Bool

    public init(kernel: (Int, Int), strides: (Int, Int)? = nil, pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
                ceilMode: Bool = false, countIncludePad: Bool = false) throws {
        self.window = try Window2D(kernel: kernel, strides: strides ?? kernel, pads: pads)
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }

    public var kind: LayerKind { .averagePool }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String {
        "AveragePool2D(\(window)\(ceilMode ? ", ceil" : "")\(countIncludePad ? ", count pad" : ""))"
    }

    /// Visits each output cell with its clipped input window and divisor.
    func forEachWindow(h: Int, w: Int, oh: Int, ow: Int, _ body: (_ o: Int, _ h0: Int, _ h1: Int, _ w0: Int, _ w1: Int, _ divisor: Float) -> Void) {
        let g = window
        for i in 0..<oh {
            var hs = i * g.strides.h - g.pads.top
            var he = min(hs + g.kernel.h, h + g.pads.bottom)
            let ph = he - hs
            hs = max(hs, 0); he = min(he, h)
            for j in 0..<ow {
                var ws = j * g.strides.w - g.pads.left
                var we = min(ws + g.kernel.w, w + g.pads.right)
                let pw = we - ws
                ws = max(ws, 0); we = min(we, w)
                let count = countIncludePad ? ph * pw : (he - hs) * (we - ws)
                body(i * ow + j, hs, he, ws, we, Float(max(count, 1)))
            }
        }
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        return Tensor(shape: outShape) { out in
            x.withUnsafeBufferPointer { px in
                for p in 0..<planes {
                    let src = px.baseAddress! + p * h * w
                    let dst = out.baseAddress! + p * oh * ow
                    forEachWindow(h: h, w: w, oh: oh, ow: ow) { o, h0, h1, w0, w1, divisor in
                        var acc: Float = 0
                        for r in h0..<h1 { for c in w0..<w1 { acc += src[r * w + c] } }
                        dst[o] = acc / divisor
                    }
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], output.shape[2], output.shape[3])
        let planes = x.shape[0] * x.shape[1]
        var dx = Tensor(shape: x.shape)
        dx.withUnsafeMutableBufferPointer { pdx in
            cotangent.withUnsafeBufferPointer { pg in
                for p in 0..<planes {
                    let dst = pdx.baseAddress! + p * h * w
                    let src = pg.baseAddress! + p * oh * ow
                    forEachWindow(h: h, w: w, oh: oh, ow: ow) { o, h0, h1, w0, w1, divisor in
                        let v = src[o] / divisor
                        for r in h0..<h1 { for c in w0..<w1 { dst[r * w + c] += v } }
                    }
                }
            }
        }
        return [dx]
    }
}

/// Global average pooling: `(N, C, H, W) → (N, C, 1, 1)` (any rank ≥ 3: all spatial dimensions).
public struct GlobalAveragePool: Layer {
    public init() {}
    public var kind: LayerKind { .globalAveragePool }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var arity: Int { 1 }
    public var description: String { "GlobalAveragePool" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        guard s.count >= 3 else { throw ExplainError.shape("global pooling needs rank ≥ 3, got \(Shape.format(s))") }
        return [s[0], s[1]] + [Int](repeating: 1, count: s.count - 2)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        let planes = x.shape[0] * x.shape[1]
        let size = planes == 0 ? 0 : x.count / planes
        return Tensor(shape: outShape) { out in
            x.withUnsafeBufferPointer { px in
                for p in 0..<planes {
                    let src = px.baseAddress! + p * size
                    var acc: Float = 0
                    for i in 0..<size { acc += src[i] }
                    out[p] = acc / Float(size)
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        let planes = x.shape[0] * x.shape[1]
        let size = planes == 0 ? 0 : x.count / planes
        return [Tensor(shape: x.shape) { dx in
            cotangent.withUnsafeBufferPointer { pg in
                for p in 0..<planes {
                    let v = pg[p] / Float(size)
                    let dst = dx.baseAddress! + p * size
                    for i in 0..<size { dst[i] = v }
                }
            }
        }]
    }
}
