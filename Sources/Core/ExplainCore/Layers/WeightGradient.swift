/// Parameter gradients of the affine layers: `∂/∂W Σ cotangent ⊙ layer(x)`, shaped like the
/// weight. Explanations need input gradients only; these serve statistics over data such as
/// PatternNet's patterns (`Σ y · x` over the positions where a filter is applied is the weight
/// gradient for the cotangent `y`).
public protocol WeightGradient: AffineLayer {
    /// `Σ_samples cotangent ⊗ input patches`, the weight's shape.
    func weightGradient(input: Tensor, cotangent: Tensor) throws -> Tensor
}

extension Dense: WeightGradient {
    public func weightGradient(input x: Tensor, cotangent: Tensor) throws -> Tensor {
        guard !transposeInput else { throw ExplainError.argument("weight gradients of a Gemm with transA = 1 are not supported") }
        let n = x.count / max(inFeatures, 1)   // rows: every extent of the input but the last
        guard x.count == n * inFeatures, cotangent.count == n * outFeatures else {
            throw ExplainError.shape("weight gradient: input \(Shape.format(x.shape)) and cotangent \(Shape.format(cotangent.shape)) do not fit \(self)")
        }
        return Tensor(shape: weight.shape) { dw in
            x.withUnsafeBufferPointer { px in cotangent.withUnsafeBufferPointer { pc in
                // dW (out × in) = cotᵀ (out × N) · x (N × in)
                BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: n, a: pc.baseAddress!, lda: outFeatures,
                          b: px.baseAddress!, ldb: inFeatures, c: dw.baseAddress!, ldc: inFeatures)
            } }
        }
    }
}

extension Conv2D: WeightGradient {
    public func weightGradient(input x: Tensor, cotangent: Tensor) throws -> Tensor {
        let outShape = try outputShape([x.shape])
        guard cotangent.shape == outShape else {
            throw ExplainError.shape("weight gradient: cotangent \(Shape.format(cotangent.shape)) does not match the output \(Shape.format(outShape))")
        }
        let (n, h, w, oh, ow) = (x.shape[0], x.shape[2], x.shape[3], outShape[2], outShape[3])
        let cg = inChannels / groups, mg = outChannels / groups
        let k = cg * window.kernel.h * window.kernel.w, plane = oh * ow
        var dw = Tensor(shape: weight.shape)
        var col = [Float](repeating: 0, count: k * plane)
        x.withUnsafeBufferPointer { px in cotangent.withUnsafeBufferPointer { pc in dw.withUnsafeMutableBufferPointer { pd in
            col.withUnsafeMutableBufferPointer { pcol in
                for s in 0..<n {
                    for g in 0..<groups {
                        Im2Col.unfold(px.baseAddress! + (s * inChannels + g * cg) * h * w, channels: cg, h: h, w: w,
                                      window: window, outH: oh, outW: ow, rows: 0..<oh, into: pcol.baseAddress!)
                        // dW_g (mg × k) += cot (mg × P) · colᵀ (P × k)
                        BLAS.gemm(transB: true, m: mg, n: k, k: plane, a: pc.baseAddress! + (s * outChannels + g * mg) * plane, lda: plane,
                                  b: pcol.baseAddress!, ldb: plane, beta: 1, c: pd.baseAddress! + g * mg * k, ldc: k)
                    }
                }
            }
        } } }
        return dw
    }
}
