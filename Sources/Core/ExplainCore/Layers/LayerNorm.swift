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

    /// Per row: the mean and 1 / sqrt(variance + ε), in Double.
    func statistics(_ x: UnsafeBufferPointer<Float>, row r: Int, width w: Int) -> (mean: Double, inverse: Double) {
        var sum = 0.0
        for i in 0..<w { sum += Double(x[r * w + i]) }
        let mean = sum / Double(w)
        var squares = 0.0
        for i in 0..<w { let d = Double(x[r * w + i]) - mean; squares += d * d }
        return (mean, 1 / (squares / Double(w) + Double(epsilon)).squareRoot())
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        let x = inputs[0]
        let (rows, w) = try split(x.shape)
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in scale.withUnsafeBufferPointer { ps in
                nonisolated(unsafe) let (px, ps, out) = (px, ps, out)
                let pb = bias?.scalars
                Parallel.forEachRange(rows) { range in
                    for r in range {
                        let (mean, inverse) = statistics(px, row: r, width: w)
                        for i in 0..<w {
                            out[r * w + i] = Float((Double(px[r * w + i]) - mean) * inverse) * ps[i] + (pb?[i] ?? 0)
                        }
                    }
                }
            } }
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
                Parallel.forEachRange(rows) { range in
                    for r in range {
                        let (mean, inverse) = statistics(px, row: r, width: w)
                        var meanG = 0.0, meanGX = 0.0
                        for i in 0..<w {
                            let g = Double(pg[r * w + i]) * Double(ps[i]), xh = (Double(px[r * w + i]) - mean) * inverse
                            meanG += g
                            meanGX += g * xh
                        }
                        meanG /= Double(w)
                        meanGX /= Double(w)
                        for i in 0..<w {
                            let g = Double(pg[r * w + i]) * Double(ps[i]), xh = (Double(px[r * w + i]) - mean) * inverse
                            dx[r * w + i] = Float(inverse * (g - meanG - keepsDeviation * xh * meanGX))
                        }
                    }
                }
            } } }
        }]
    }

    public var pullbackReadsOutput: Bool { false }
}
