/// Fully connected layer (ONNX `Gemm`): `y = x · Wᵀ + b` for `x` of shape `(N, in)`, or row by row
/// over the last axis of `(…, in)` (ONNX `MatMul` with a constant matrix, e.g. a transformer's
/// Linear layers on tokens `(N, T, in)`).
///
/// The weight is stored as `(out, in)` (PyTorch's layout); ONNX `alpha`/`beta`/`transB` are folded
/// into it at import. `transposeInput` handles `transA = 1` (input laid out as `(in, N)`).
/// The bias broadcasts to `(N, out)`; usually it has shape `(out,)`.
public struct Dense: AffineLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public let transposeInput: Bool

    public var kind: LayerKind { .dense }
    public var arity: Int { 1 }
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(weight: Tensor, bias: Tensor? = nil, transposeInput: Bool = false) throws {
        guard weight.rank == 2 else {
            throw ExplainError.shape("dense weight must have rank 2 (out, in), got \(Shape.format(weight.shape))")
        }
        if let bias {
            guard bias.rank <= 2, (try? Shape.broadcast(bias.shape, [1, weight.shape[0]])) != nil,
                  bias.shape.last.map({ $0 == 1 || $0 == weight.shape[0] }) ?? true else {
                throw ExplainError.shape("dense bias \(Shape.format(bias.shape)) does not broadcast to (N, \(weight.shape[0]))")
            }
        }
        self.weight = weight
        self.bias = bias
        self.transposeInput = transposeInput
    }

    public func with(weight: Tensor, bias: Tensor?) throws -> Dense {
        guard weight.shape == self.weight.shape else {
            throw ExplainError.shape("replacement weight \(Shape.format(weight.shape)) differs from \(Shape.format(self.weight.shape))")
        }
        return try Dense(weight: weight, bias: bias, transposeInput: transposeInput)
    }

    public var parameterCount: Int { weight.count + (bias?.count ?? 0) }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "Dense(\(inFeatures)→\(outFeatures)\(bias == nil ? ", no bias" : ""))" }

    /// True when the bias is a plain per-output vector.
    var hasVectorBias: Bool { bias.map { $0.count == outFeatures } ?? false }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        guard s.count == 2 || (s.count > 2 && !transposeInput) else {
            throw ExplainError.shape("dense input must have rank 2 (or more, rows over the last axis), got \(Shape.format(s))")
        }
        let (rows, features) = transposeInput ? (s[1], s[0]) : (s.dropLast().reduce(1, *), s[s.count - 1])
        guard features == inFeatures else {
            throw ExplainError.shape("dense expects \(inFeatures) input features, got \(features) in \(Shape.format(s))")
        }
        if let bias, !hasVectorBias {
            guard s.count == 2, try Shape.broadcast(bias.shape, [rows, outFeatures]) == [rows, outFeatures] else {
                throw ExplainError.shape("dense bias \(Shape.format(bias.shape)) does not broadcast to (\(rows), \(outFeatures))")
            }
        }
        return transposeInput ? [rows, outFeatures] : Array(s.dropLast()) + [outFeatures]
    }

    /// Rows of an output shape: every extent but the last.
    static func rows(_ outShape: [Int]) -> Int { outShape.dropLast().reduce(1, *) }

    public func flops(_ inputShapes: [[Int]]) -> Double {
        guard let out = try? outputShape(inputShapes) else { return 0 }
        return 2 * Double(Self.rows(out)) * Double(weight.count)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        let (m, n, k) = (Self.rows(outShape), outFeatures, inFeatures)
        var y = Tensor(shape: outShape) { out in
            x.withUnsafeBufferPointer { px in
                weight.withUnsafeBufferPointer { pw in
                    if m == 1 {
                        BLAS.gemv(m: n, n: k, a: pw.baseAddress!, lda: k, x: px.baseAddress!, y: out.baseAddress!)
                        return
                    }
                    BLAS.gemm(transA: transposeInput, transB: true, m: m, n: n, k: k,
                              a: px.baseAddress!, lda: transposeInput ? m : k,
                              b: pw.baseAddress!, ldb: k, c: out.baseAddress!, ldc: n)
                }
            }
        }
        guard let bias else { return y }
        if hasVectorBias {
            y.withUnsafeMutableBufferPointer { out in
                bias.withUnsafeBufferPointer { pb in
                    for r in 0..<m {
                        let row = out.baseAddress! + r * n
                        for j in 0..<n { row[j] += pb[j] }
                    }
                }
            }
            return y
        }
        return try Tensor.broadcasting(y, bias, AddFunction.self)
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [try inputGradient(inputShape: inputs[0].shape, cotangent: cotangent)]
    }

    /// `cotangent · W` (optionally with a modified weight), shaped like the input.
    public func inputGradient(inputShape: [Int], cotangent: Tensor, weight override: Tensor? = nil) throws -> Tensor {
        let outShape = try outputShape([inputShape])
        guard cotangent.shape == outShape else {
            throw ExplainError.shape("dense cotangent \(Shape.format(cotangent.shape)) does not match output \(Shape.format(outShape))")
        }
        let wt = override ?? weight
        guard wt.shape == weight.shape else { throw ExplainError.shape("override weight has the wrong shape") }
        let (m, n, k) = (Self.rows(outShape), outFeatures, inFeatures)
        return Tensor(shape: inputShape) { dx in
            cotangent.withUnsafeBufferPointer { pdy in
                wt.withUnsafeBufferPointer { pw in
                    if m == 1 {
                        // dx = Wᵀ · dy (one sample); rows of W whose cotangent is zero are skipped.
                        BLAS.gemvTransposedSkippingZeros(m: n, n: k, a: pw.baseAddress!, lda: k, x: pdy.baseAddress!, y: dx.baseAddress!)
                        return
                    }
                    if transposeInput {
                        // dx (k×m) = Wᵀ (k×n) · dyᵀ (n×m)
                        BLAS.gemm(transA: true, transB: true, m: k, n: m, k: n, a: pw.baseAddress!, lda: k,
                                  b: pdy.baseAddress!, ldb: n, c: dx.baseAddress!, ldc: m)
                    } else {
                        BLAS.gemm(m: m, n: k, k: n, a: pdy.baseAddress!, lda: n, b: pw.baseAddress!, ldb: k,
                                  c: dx.baseAddress!, ldc: k)
                    }
                }
            }
        }
    }
}
