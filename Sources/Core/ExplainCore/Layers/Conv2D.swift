import Dispatch

/// 2-D convolution (cross-correlation) over NCHW input, with stride, asymmetric padding,
/// dilation and groups (depthwise when `groups == channels`). Forward and pullback run as
/// im2col + GEMM through OpenBLAS, or as Winograd F(2×2, 3×3) for 3×3 / stride-1 layers (see
/// `ConvAlgorithm`).
public struct Conv2D: AffineLayer, AccumulatingPullback, ReluMaskingPullback {
    /// `(M, C/groups, kH, kW)`.
    public let weight: Tensor
    /// `(M,)` or nil.
    public let bias: Tensor?
    public let window: Window2D
    public let groups: Int
    /// How the products are computed (`automatic` unless chosen).
    public private(set) var algorithm: ConvAlgorithm
    /// The Winograd filter transforms when this layer uses Winograd, else nil.
    private(set) var winograd: WinogradFilters?

    public var kind: LayerKind { .conv2d }
    public var arity: Int { 1 }
    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] * groups }

    public init(weight: Tensor, bias: Tensor? = nil, strides: (Int, Int) = (1, 1),
                pads: (Int, Int, Int, Int) = (0, 0, 0, 0), dilations: (Int, Int) = (1, 1), groups: Int = 1,
                algorithm: ConvAlgorithm = .automatic) throws {
        guard weight.rank == 4 else {
            throw ExplainError.shape("conv weight must have rank 4 (M, C/groups, kH, kW), got \(Shape.format(weight.shape))")
        }
        guard groups >= 1, weight.shape[0] % groups == 0 else {
            throw ExplainError.argument("groups = \(groups) must divide the \(weight.shape[0]) output channels")
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw ExplainError.shape("conv bias must have shape (\(weight.shape[0])), got \(Shape.format(bias.shape))")
        }
        self.weight = weight
        self.bias = bias
        self.window = try Window2D(kernel: (weight.shape[2], weight.shape[3]), strides: strides, pads: pads, dilations: dilations)
        self.groups = groups
        self.algorithm = algorithm
        self.winograd = nil
        self.winograd = usesWinograd(algorithm) ? WinogradFilters(weight: weight) : nil
    }

    /// Whether `algorithm` selects Winograd for this layer's geometry and channel counts.
    private func usesWinograd(_ algorithm: ConvAlgorithm) -> Bool {
        switch algorithm {
        case .im2col: false
        case .winograd: WinogradFilters.applies(window: window, groups: groups)
        case .automatic: WinogradFilters.applies(window: window, groups: groups)
            && WinogradFilters.pays(inChannels: inChannels, outChannels: outChannels)
        }
    }

    /// The same layer computed with another algorithm (shares the filter transforms when unchanged).
    public func with(algorithm: ConvAlgorithm) -> Conv2D {
        var c = self
        c.algorithm = algorithm
        let winograd = usesWinograd(algorithm)
        if !winograd { c.winograd = nil } else if c.winograd == nil { c.winograd = WinogradFilters(weight: weight) }
        return c
    }

    /// Whether the products run as Winograd F(2×2, 3×3).
    public var isWinograd: Bool { winograd != nil }

    public func with(weight: Tensor, bias: Tensor?) throws -> Conv2D {
        guard weight.shape == self.weight.shape else {
            throw ExplainError.shape("replacement weight \(Shape.format(weight.shape)) differs from \(Shape.format(self.weight.shape))")
        }
        return try Conv2D(weight: weight, bias: bias, strides: window.strides, pads: window.pads,
                          dilations: window.dilations, groups: groups, algorithm: algorithm)
    }

    public var parameterCount: Int { weight.count + (bias?.count ?? 0) }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }

    public var description: String {
        "Conv2D(\(inChannels)→\(outChannels), \(window)\(groups > 1 ? ", groups \(groups)" : "")\(bias == nil ? ", no bias" : "")"
            + "\(winograd != nil ? ", winograd" : ""))"
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        guard s.count == 4 else { throw ExplainError.shape("conv input must be NCHW (rank 4), got \(Shape.format(s))") }
        guard s[1] == inChannels else {
            throw ExplainError.shape("conv expects \(inChannels) input channels, got \(s[1]) in \(Shape.format(s))")
        }
        let o = try window.outputSize(h: s[2], w: s[3])
        return [s[0], outChannels, o.h, o.w]
    }

    public func flops(_ inputShapes: [[Int]]) -> Double {
        guard let out = try? outputShape(inputShapes) else { return 0 }
        return 2 * Double(out.reduce(1, *)) * Double(weight.count / outChannels)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        if let winograd {
            var y = Tensor(shape: outShape) { _ in }
            winograd.run(x, transposed: false, bias: bias, padTop: window.pads.top, padLeft: window.pads.left, into: &y, accumulate: false)
            return y
        }
        if usesDepthwiseKernels {
            return Tensor(shape: outShape) { out in
                x.withUnsafeBufferPointer { px in weight.withUnsafeBufferPointer { pw in
                    depthwiseForward(px.baseAddress!, weight: pw.baseAddress!, bias: self.bias?.scalars, into: out.baseAddress!,
                                     samples: n, h: h, w: w, oh: oh, ow: ow)
                } }
            }
        }
        let cg = inChannels / groups, mg = outChannels / groups
        let k = cg * window.kernel.h * window.kernel.w, plane = oh * ow
        let pointwise = window.isPointwise
        let band = Im2Col.bandRows(k: k, outH: oh, outW: ow)
        let window = self.window, groups = self.groups, inChannels = self.inChannels, outChannels = self.outChannels
        return Tensor(shape: outShape) { out in
            x.withUnsafeBufferPointer { px in
                weight.withUnsafeBufferPointer { pw in
                    bias.withUnsafePointer { pb in
                        nonisolated(unsafe) let (px, pw, po, pb) = (px.baseAddress!, pw.baseAddress!, out.baseAddress!, pb)
                        Self.forEachSampleAndGroup(samples: n, groups: groups, scratch: pointwise ? 0 : k * band * ow) { s, g, col, shared in
                            let xin = px + (s * inChannels + g * cg) * h * w
                            let a = pw + g * mg * k
                            let c = po + (s * outChannels + g * mg) * plane
                            // The GEMM fills its blocks of the output with the bias and accumulates onto them.
                            let rowBias = pb.map { $0 + g * mg }
                            if pointwise {
                                BLAS.gemm(m: mg, n: plane, k: k, a: a, lda: k, b: xin, ldb: plane, c: c, ldc: plane, rowBias: rowBias, parallel: shared)
                                return
                            }
                            // Bands of output rows keep the column matrix in cache.
                            for r0 in stride(from: 0, to: oh, by: band) {
                                let rows = r0..<min(oh, r0 + band)
                                Im2Col.unfold(xin, channels: cg, h: h, w: w, window: window, outH: oh, outW: ow, rows: rows,
                                              into: col, parallel: shared)
                                BLAS.gemm(m: mg, n: rows.count * ow, k: k, a: a, lda: k, b: col, ldb: rows.count * ow,
                                          c: c + r0 * ow, ldc: plane, rowBias: rowBias, parallel: shared)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs `body(sample, group, scratch, shared)` for every sample and group. With several samples,
    /// each core takes whole samples with single-threaded kernels and its own scratch buffer; with
    /// one sample, the cores share each kernel (`shared == true`).
    static func forEachSampleAndGroup(
        samples n: Int, groups: Int, scratch size: Int,
        _ body: @Sendable (Int, Int, UnsafeMutablePointer<Float>, Bool) -> Void
    ) {
        let workers = max(1, min(BLAS.threads, n))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, workers * size))
        defer { buffer.deallocate() }
        nonisolated(unsafe) let scratch = buffer
        Parallel.perform(iterations: workers) { worker in
            for s in stride(from: worker, to: n, by: workers) {
                for g in 0..<groups { body(s, g, scratch + worker * size, workers == 1) }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [try inputGradient(inputShape: inputs[0].shape, cotangent: cotangent)]
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, adding gradient: inout Tensor) throws {
        try expectCotangent(cotangent, output)
        guard gradient.shape == inputs[0].shape else {
            throw ExplainError.shape("conv gradient sum \(Shape.format(gradient.shape)) does not match input \(Shape.format(inputs[0].shape))")
        }
        try transposedProduct(inputShape: inputs[0].shape, cotangent: cotangent, weight: nil, into: &gradient, accumulate: true)
    }

    /// The input gradient zeroed where `mask ≤ 0`: the gradient at the input of the Relu whose output
    /// this layer reads (`mask`), applied while each part of the result is still in cache.
    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, keepingWherePositive mask: Tensor) throws -> Tensor {
        try expectCotangent(cotangent, output)
        return try inputGradient(inputShape: inputs[0].shape, cotangent: cotangent, then: .keepWherePositive(mask))
    }

    /// The same with the Relu's recorded mask.
    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, keepingWhere mask: PositiveMask) throws -> Tensor {
        try expectCotangent(cotangent, output)
        return try inputGradient(inputShape: inputs[0].shape, cotangent: cotangent, then: .keepWhere(mask))
    }

    /// `Wᵀ · cotangent` followed by `epilogue` (its operand shaped like the input), applied per band
    /// (Winograd) or per sample and group (im2col) while the result is in cache.
    public func inputGradient(inputShape: [Int], cotangent: Tensor, then epilogue: InputEpilogue) throws -> Tensor {
        guard epilogue.operandShape == inputShape else {
            throw ExplainError.shape("conv epilogue operand \(Shape.format(epilogue.operandShape)) does not match input \(Shape.format(inputShape))")
        }
        var dx = Tensor(shape: inputShape) { _ in }
        try transposedProduct(inputShape: inputShape, cotangent: cotangent, weight: nil, into: &dx, accumulate: false, epilogue: epilogue)
        return dx
    }

    /// `Wᵀ · cotangent` folded back onto the input (the transposed convolution); also used by
    /// LRP rules with a modified weight.
    public func inputGradient(inputShape: [Int], cotangent: Tensor, weight override: Tensor? = nil) throws -> Tensor {
        var dx = Tensor(shape: inputShape) { _ in }
        try transposedProduct(inputShape: inputShape, cotangent: cotangent, weight: override, into: &dx, accumulate: false)
        return dx
    }

    /// The transposed product, written into `dx` (shaped like the input) or added to it.
    private func transposedProduct(inputShape: [Int], cotangent: Tensor, weight override: Tensor?,
                                   into dx: inout Tensor, accumulate: Bool, epilogue: InputEpilogue? = nil) throws {
        let outShape = try outputShape([inputShape])
        guard cotangent.shape == outShape else {
            throw ExplainError.shape("conv cotangent \(Shape.format(cotangent.shape)) does not match output \(Shape.format(outShape))")
        }
        let wt = override ?? weight
        guard wt.shape == weight.shape else { throw ExplainError.shape("override weight has the wrong shape") }
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        if let winograd, override == nil {
            // The transposed convolution is a 3×3 convolution of the cotangent with the rotated,
            // transposed kernel and padding 2 − p.
            winograd.run(cotangent, transposed: true, bias: nil, padTop: 2 - window.pads.top,
                         padLeft: 2 - window.pads.left, into: &dx, accumulate: accumulate, epilogue: epilogue)
            return
        }
        if usesDepthwiseKernels {
            dx.withUnsafeMutableBufferPointer { pdx in
                cotangent.withUnsafeBufferPointer { pdy in wt.withUnsafeBufferPointer { pw in
                    InputEpilogue.withRaw(epilogue) { finish in
                        depthwiseTransposed(pdy.baseAddress!, weight: pw.baseAddress!, into: pdx.baseAddress!, accumulate: accumulate,
                                            epilogue: finish, samples: n, h: h, w: w, oh: oh, ow: ow)
                    }
                } }
            }
            return
        }
        let cg = inChannels / groups, mg = outChannels / groups
        let k = cg * window.kernel.h * window.kernel.w, plane = oh * ow
        let pointwise = window.isPointwise
        let band = Im2Col.bandRows(k: k, outH: oh, outW: ow)
        let window = self.window, inChannels = self.inChannels, outChannels = self.outChannels
        // A pointwise convolution's product writes every input cell (or adds to it); the others fold
        // taps into what `dx` holds — zeros, cleared per sample and group by the worker that folds
        // into them (in parallel, and just before use), unless accumulating.
        // The epilogue is applied per sample and group by the worker that wrote it.
        dx.withUnsafeMutableBufferPointer { pdx in
            cotangent.withUnsafeBufferPointer { pdy in
                wt.withUnsafeBufferPointer { pw in
                    InputEpilogue.withRaw(epilogue) { finish in
                        nonisolated(unsafe) let (pdx, pdy, pw) = (pdx.baseAddress!, pdy.baseAddress!, pw.baseAddress!)
                        Self.forEachSampleAndGroup(samples: n, groups: groups, scratch: pointwise ? 0 : k * band * ow) { s, g, col, shared in
                            let dxg = pdx + (s * inChannels + g * cg) * h * w
                            defer { if let finish { Self.apply(finish, to: pdx, offset: (s * inChannels + g * cg) * h * w, count: cg * h * w, parallel: shared) } }
                            let dyg = pdy + (s * outChannels + g * mg) * plane
                            let a = pw + g * mg * k
                            if !pointwise && !accumulate { dxg.update(repeating: 0, count: cg * h * w) }
                            if pointwise {
                                BLAS.gemm(transA: true, m: k, n: plane, k: mg, a: a, lda: k, b: dyg, ldb: plane,
                                          beta: accumulate ? 1 : 0, c: dxg, ldc: plane, parallel: shared)
                                return
                            }
                            for r0 in stride(from: 0, to: oh, by: band) {
                                let rows = r0..<min(oh, r0 + band)
                                BLAS.gemm(transA: true, m: k, n: rows.count * ow, k: mg, a: a, lda: k,
                                          b: dyg + r0 * ow, ldb: plane, c: col, ldc: rows.count * ow, parallel: shared)
                                Im2Col.fold(col, channels: cg, h: h, w: w, window: window, outH: oh, outW: ow, rows: rows,
                                            into: dxg, parallel: shared)
                            }
                        }
                    }
                }
            }
        }
    }

    /// `epilogue` on `g[offset ..< offset + count]`, split over the cores when `parallel`.
    private static func apply(_ epilogue: InputEpilogue.Raw, to g: UnsafeMutablePointer<Float>, offset: Int, count: Int, parallel: Bool) {
        nonisolated(unsafe) let g = g
        if parallel {
            Parallel.forEachRange(count) { r in epilogue.apply(g, offset: offset + r.lowerBound, count: r.count) }
        } else {
            epilogue.apply(g, offset: offset, count: count)
        }
    }
}
