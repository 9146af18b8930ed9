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
        if inner == 1 {
            return Tensor(shape: x.shape) { out in
                guard out.count > 0 else { return }
                x.withUnsafeBufferPointer { px in Self.rows(px.baseAddress!, out.baseAddress!, rows: outer, length: len) }
            }
        }
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
        Parallel.forEachRange(rows, grain: max(1, (1 << 14) / max(1, n))) { range in
            for r in range {
                let px = x + r * n, py = y + r * n
                var k = 0
                var mv = V(repeating: -.infinity)
                while k + 8 <= n {
                    let v = UnsafeRawPointer(px + k).loadUnaligned(as: V.self)
                    mv = mv.replacing(with: v, where: v .> mv)
                    k += 8
                }
                var m = mv.max()
                while k < n { m = max(m, px[k]); k += 1 }
                var sv = V(repeating: 0)
                k = 0
                while k + 8 <= n {
                    let e = VectorMath.exp(UnsafeRawPointer(px + k).loadUnaligned(as: V.self) - m)
                    UnsafeMutableRawPointer(py + k).storeBytes(of: e, as: V.self)
                    sv += e
                    k += 8
                }
                if k < n {
                    // The tail in one vector; the unused lanes give exp(−∞) = 0.
                    var tail = V(repeating: -.infinity)
                    for j in k..<n { tail[j - k] = px[j] - m }
                    let e = VectorMath.exp(tail)
                    for j in k..<n { py[j] = e[j - k] }
                    sv += e
                }
                let inverse = 1 / sv.sum()
                k = 0
                let iv = V(repeating: inverse)
                while k + 8 <= n {
                    UnsafeMutableRawPointer(py + k).storeBytes(of: UnsafeRawPointer(py + k).loadUnaligned(as: V.self) * iv, as: V.self)
                    k += 8
                }
                while k < n { py[k] *= inverse; k += 1 }
            }
        }
    }

    /// `dx = y ⊙ (g − ⟨y, g⟩)` for contiguous rows, rows in parallel, eight lanes at a time.
    static func rowsPullback(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int, length n: Int) {
        typealias V = SIMD8<Float>
        nonisolated(unsafe) let (y, g, dx) = (y, g, dx)
        Parallel.forEachRange(rows, grain: max(1, (1 << 14) / max(1, n))) { range in
            for r in range {
                let py = y + r * n, pg = g + r * n, out = dx + r * n
                var acc = V(repeating: 0), k = 0
                while k + 8 <= n {
                    acc += UnsafeRawPointer(py + k).loadUnaligned(as: V.self) * UnsafeRawPointer(pg + k).loadUnaligned(as: V.self)
                    k += 8
                }
                var dot = acc.sum()
                while k < n { dot += py[k] * pg[k]; k += 1 }
                k = 0
                let dv = V(repeating: dot)
                while k + 8 <= n {
                    let yv = UnsafeRawPointer(py + k).loadUnaligned(as: V.self), gv = UnsafeRawPointer(pg + k).loadUnaligned(as: V.self)
                    UnsafeMutableRawPointer(out + k).storeBytes(of: yv * (gv - dv), as: V.self)
                    k += 8
                }
                while k < n { out[k] = py[k] * (pg[k] - dot); k += 1 }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let (outer, len, inner) = try layout(output.shape)
        if inner == 1 {
            return [Tensor(shape: output.shape) { dx in
                guard dx.count > 0 else { return }
                output.withUnsafeBufferPointer { py in cotangent.withUnsafeBufferPointer { pg in
                    Self.rowsPullback(py.baseAddress!, pg.baseAddress!, dx.baseAddress!, rows: outer, length: len)
                } }
            }]
        }
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
