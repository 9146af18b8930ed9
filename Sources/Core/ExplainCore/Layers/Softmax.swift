import Foundation

/// Softmax along one axis (opset ≥ 13). With `coerced2D` (opset < 13 semantics) the input is
/// viewed as a matrix `(prod(dims[..<axis]), prod(dims[axis...]))` and normalised per row.
public struct Softmax: Layer {
    public let axis: Int
    public let coerced2D: Bool

    public init(axis: Int = -1, coerced2D: Bool = false) {
        self.axis = axis
        self.coerced2D = coerced2D
    }

    public var kind: LayerKind { .softmax }
    public var arity: Int { 1 }
    public var pullbackReadsInputs: Bool { false }
    public var description: String { "Softmax(axis \(axis)\(coerced2D ? ", 2-D" : ""))" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        _ = try Shape.axis(axis, rank: inputShapes[0].count)
        return inputShapes[0]
    }

    /// (outer, length, inner) of the normalised lines.
    func layout(_ shape: [Int]) throws -> (Int, Int, Int) {
        let a = try Shape.axis(axis, rank: shape.count)
        let outer = shape[..<a].reduce(1, *)
        if coerced2D { return (outer, shape[a...].reduce(1, *), 1) }
        return (outer, shape[a], shape[(a + 1)...].reduce(1, *))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        _ = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        let (outer, len, inner) = try layout(x.shape)
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * len * inner + i
                        var m = -Float.infinity
                        for k in 0..<len { m = max(m, px[base + k * inner]) }
                        var sum: Float = 0
                        for k in 0..<len {
                            let e = Foundation.exp(px[base + k * inner] - m)
                            out[base + k * inner] = e
                            sum += e
                        }
                        for k in 0..<len { out[base + k * inner] /= sum }
                    }
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let (outer, len, inner) = try layout(output.shape)
        return [Tensor(shape: output.shape) { dx in
            output.withUnsafeBufferPointer { py in
                cotangent.withUnsafeBufferPointer { pg in
                    for o in 0..<outer {
                        for i in 0..<inner {
                            let base = o * len * inner + i
                            var dot: Float = 0
                            for k in 0..<len { dot += py[base + k * inner] * pg[base + k * inner] }
                            for k in 0..<len {
                                let j = base + k * inner
                                dx[j] = py[j] * (pg[j] - dot)
                            }
                        }
                    }
                }
            }
        }]
    }
}
