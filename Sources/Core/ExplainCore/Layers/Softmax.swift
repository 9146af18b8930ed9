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
        if inner == 1 { return Tensor(shape: x.shape) { out in x.withUnsafeBufferPointer { px in Self.rows(px.baseAddress!, out.baseAddress!, rows: outer, length: len) } } }
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

    /// Softmax of contiguous rows (the last axis), rows in parallel, eight lanes at a time
    /// (`VectorMath.exp`; the shifted values are ≤ 0).
    static func rows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, length n: Int) {
        typealias V = SIMD8<Float>
        nonisolated(unsafe) let (x, y) = (x, y)
        Parallel.forEachRange(rows) { range in
            for r in range {
                let px = x + r * n, py = y + r * n
                var m = -Float.infinity, k = 0
                var mv = V(repeating: -.infinity)
                while k + 8 <= n { mv = pointwiseMax(mv, UnsafeRawPointer(px + k).loadUnaligned(as: V.self)); k += 8 }
                m = mv.max()
                while k < n { m = max(m, px[k]); k += 1 }
                var sv = V(repeating: 0)
                k = 0
                while k + 8 <= n {
                    let e = VectorMath.exp(UnsafeRawPointer(px + k).loadUnaligned(as: V.self) - m)
                    UnsafeMutableRawPointer(py + k).storeBytes(of: e, as: V.self)
                    sv += e
                    k += 8
                }
                var sum = sv.sum()
                while k < n {
                    var tail = V(repeating: -.infinity)
                    tail[0] = px[k] - m
                    let e = VectorMath.exp(tail)[0]
                    py[k] = e
                    sum += e
                    k += 1
                }
                let inverse = 1 / sum
                for j in 0..<n { py[j] *= inverse }
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
