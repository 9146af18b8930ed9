import Foundation

/// Layer normalisation (ONNX LayerNormalization, Ba et al. 2016) over the dimensions from `axis`
/// to the last: per row `x̂ = (x − μ) / sqrt(σ² + ε)` with the population variance, then
/// `y = x̂ ⊙ scale + bias` (scale and bias shaped like the normalised dimensions).
public struct LayerNorm: Layer {
    public let scale: Tensor
    public let bias: Tensor?
    /// The first normalised dimension (negative counts from the end).
    public let axis: Int
    public let epsilon: Float

    public init(scale: Tensor, bias: Tensor? = nil, axis: Int = -1, epsilon: Float = 1e-5) throws {
        guard epsilon >= 0, epsilon.isFinite else { throw ExplainError.argument("layer-norm epsilon must be ≥ 0, got \(epsilon)") }
        if let bias, bias.shape != scale.shape {
            throw ExplainError.shape("layer-norm bias \(Shape.format(bias.shape)) does not match the scale \(Shape.format(scale.shape))")
        }
        self.scale = scale
        self.bias = bias
        self.axis = axis
        self.epsilon = epsilon
    }

    public var kind: LayerKind { .layerNorm }
    public var arity: Int { 1 }
    public var parameterCount: Int { scale.count + (bias?.count ?? 0) }
    public var description: String { "LayerNorm(axis \(axis), \(Shape.format(scale.shape)), ε=\(epsilon))" }

    /// Rows and the size of each normalised row for an input shape.
    func split(_ shape: [Int]) throws -> (rows: Int, width: Int) {
        let a = axis < 0 ? axis + shape.count : axis
        guard a >= 0, a < shape.count else { throw ExplainError.shape("layer-norm axis \(axis) is outside input \(Shape.format(shape))") }
        let normalised = Array(shape[a...])
        let width = normalised.reduce(1, *)
        guard width == scale.count, scale.shape == normalised || scale.count == width else {
            throw ExplainError.shape("layer-norm scale \(Shape.format(scale.shape)) does not fit the normalised dimensions \(Shape.format(normalised)) of \(Shape.format(shape))")
        }
        return (shape.reduce(1, *) / max(width, 1), width)
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        _ = try split(inputShapes[0])
        return inputShapes[0]
    }

    /// Per row: the mean and 1 / sqrt(variance + ε), in Double (four partial sums per pass).
    func statistics(_ x: UnsafeBufferPointer<Float>, row r: Int, width w: Int) -> (mean: Double, inverse: Double) {
        let p = x.baseAddress! + r * w
        var s = (0.0, 0.0, 0.0, 0.0), i = 0
        while i &+ 4 <= w {
            s.0 += Double(p[i]); s.1 += Double(p[i &+ 1]); s.2 += Double(p[i &+ 2]); s.3 += Double(p[i &+ 3])
            i &+= 4
        }
        var sum = (s.0 + s.1) + (s.2 + s.3)
        while i < w { sum += Double(p[i]); i &+= 1 }
        let mean = sum / Double(w)
        var q = (0.0, 0.0, 0.0, 0.0)
        i = 0
        while i &+ 4 <= w {
            let d0 = Double(p[i]) - mean, d1 = Double(p[i &+ 1]) - mean, d2 = Double(p[i &+ 2]) - mean, d3 = Double(p[i &+ 3]) - mean
            q.0 += d0 * d0; q.1 += d1 * d1; q.2 += d2 * d2; q.3 += d3 * d3
            i &+= 4
        }
        var squares = (q.0 + q.1) + (q.2 + q.3)
        while i < w { let d = Double(p[i]) - mean; squares += d * d; i &+= 1 }
        return (mean, 1 / (squares / Double(w) + Double(epsilon)).squareRoot())
    }

    /// Rows per thread's piece: about 16 k elements.
    func grain(width w: Int) -> Int { max(1, (1 << 14) / max(1, w)) }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        let x = inputs[0]
        let (rows, w) = try split(x.shape)
        let zeros = [Float](repeating: 0, count: bias == nil ? w : 0)
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in scale.withUnsafeBufferPointer { ps in (bias?.scalars ?? zeros).withUnsafeBufferPointer { pb in
                nonisolated(unsafe) let (px, ps, pb, out) = (px, ps, pb, out)
                Parallel.forEachRange(rows, grain: grain(width: w)) { range in
                    for r in range {
                        let (mean, inverse) = statistics(px, row: r, width: w)
                        let src = px.baseAddress! + r * w, dst = out.baseAddress! + r * w
                        for i in 0..<w {
                            dst[i] = Float((Double(src[i]) - mean) * inverse) * ps[i] + pb[i]
                        }
                    }
                }
            } } }
        }
    }

    /// `dx = r · (g′ − mean(g′) − x̂ · mean(g′ ⊙ x̂))` per row, with `g′ = g ⊙ scale`, `r` the inverse deviation.
    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try pullback(inputs: inputs, output: output, cotangent: cotangent, holdingDeviation: false)
    }

    /// The pullback; with `holdingDeviation` the deviation is treated as a constant (its own
    /// derivative dropped: `dx = r · (g′ − mean(g′))`), as LXT's AttnLRP and CP-LRP detach it.
    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, holdingDeviation: Bool) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let keepsDeviation: Double = holdingDeviation ? 0 : 1
        let x = inputs[0]
        let (rows, w) = try split(x.shape)
        return [Tensor(shape: x.shape) { dx in
            x.withUnsafeBufferPointer { px in scale.withUnsafeBufferPointer { ps in cotangent.withUnsafeBufferPointer { pg in
                nonisolated(unsafe) let (px, ps, pg, dx) = (px, ps, pg, dx)
                Parallel.forEachRange(rows, grain: grain(width: w)) { range in
                    for r in range {
                        let (mean, inverse) = statistics(px, row: r, width: w)
                        let x = px.baseAddress! + r * w, g = pg.baseAddress! + r * w, out = dx.baseAddress! + r * w
                        // Four partial sums each of g′ and g′ ⊙ x̂.
                        var sg = (0.0, 0.0, 0.0, 0.0), sgx = (0.0, 0.0, 0.0, 0.0), i = 0
                        @inline(__always) func term(_ i: Int) -> (Double, Double) {
                            let gi = Double(g[i]) * Double(ps[i])
                            return (gi, gi * ((Double(x[i]) - mean) * inverse))
                        }
                        while i &+ 4 <= w {
                            let (a0, b0) = term(i), (a1, b1) = term(i &+ 1), (a2, b2) = term(i &+ 2), (a3, b3) = term(i &+ 3)
                            sg.0 += a0; sg.1 += a1; sg.2 += a2; sg.3 += a3
                            sgx.0 += b0; sgx.1 += b1; sgx.2 += b2; sgx.3 += b3
                            i &+= 4
                        }
                        var meanG = (sg.0 + sg.1) + (sg.2 + sg.3), meanGX = (sgx.0 + sgx.1) + (sgx.2 + sgx.3)
                        while i < w { let (a, b) = term(i); meanG += a; meanGX += b; i &+= 1 }
                        meanG /= Double(w)
                        meanGX = keepsDeviation * meanGX / Double(w)
                        for i in 0..<w {
                            let (gi, gx) = (Double(g[i]) * Double(ps[i]), (Double(x[i]) - mean) * inverse)
                            out[i] = Float(inverse * (gi - meanG - gx * meanGX))
                        }
                    }
                }
            } } }
        }]
    }

    public var pullbackReadsOutput: Bool { false }
}
