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

/// 2-D average pooling with ONNX/PyTorch `ceil_mode` and `count_include_pad` semantics.
public struct AveragePool2D: Pool2D {
    public let window: Window2D
    public let ceilMode: Bool
    public let countIncludePad: Bool

    public init(kernel: (Int, Int), strides: (Int, Int)? = nil, pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
                ceilMode: Bool = false, countIncludePad: Bool = false) throws {
        self.window = try Window2D.pooling(kernel: kernel, strides: strides ?? kernel, pads: pads)
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
            guard size > 0 else { out.update(repeating: .nan); return }   // the mean of nothing (0 / 0)
            x.withUnsafeBufferPointer { px in
                nonisolated(unsafe) let (px, out) = (px, out)
                Parallel.forEachRange(planes, grain: max(1, (1 << 15) / max(1, size))) { range in
                    for p in range { out[p] = Kernels.sum(px.baseAddress! + p * size, count: size) / Float(size) }
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
