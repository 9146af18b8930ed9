import Foundation

/// An element-wise activation `y = f(x)` whose derivative is computed from `x` and `y`.
public protocol ElementwiseActivation: InPlaceLayer, InPlacePullback {
    /// `f(x)`.
    func value(_ x: Float) -> Float
    /// `f′(x)`, given also `y = f(x)`.
    func derivative(x: Float, y: Float) -> Float
}

extension ElementwiseActivation {
    public var arity: Int { 1 }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        return inputShapes[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        let x = inputs[0]
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in
                nonisolated(unsafe) let (px, out) = (px, out)
                Parallel.forEachRange(px.count) { r in for i in r { out[i] = value(px[i]) } }
            }
        }
    }

    public func forwardInPlace(_ x: inout Tensor) throws {
        x.withUnsafeMutableBufferPointer { p in
            nonisolated(unsafe) let p = p
            Parallel.forEachRange(p.count) { r in for i in r { p[i] = value(p[i]) } }
        }
    }

    public func pullbackInPlace(inputs: [Tensor], output: Tensor, cotangent: inout Tensor) throws {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        x.withUnsafeBufferPointer { px in
            output.withUnsafeBufferPointer { py in
                cotangent.withUnsafeMutableBufferPointer { pg in
                    nonisolated(unsafe) let (px, py, pg) = (px, py, pg)
                    Parallel.forEachRange(px.count) { r in for i in r { pg[i] *= derivative(x: px[i], y: py[i]) } }
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        return [Tensor(shape: x.shape) { dx in
            x.withUnsafeBufferPointer { px in
                output.withUnsafeBufferPointer { py in
                    cotangent.withUnsafeBufferPointer { pg in
                        nonisolated(unsafe) let (px, py, pg, dx) = (px, py, pg, dx)
                        Parallel.forEachRange(px.count) { r in for i in r { dx[i] = pg[i] * derivative(x: px[i], y: py[i]) } }
                    }
                }
            }
        }]
    }
}

/// `max(x, 0)`, NaN kept (as PyTorch's relu); the derivative at exactly 0 (and at NaN) is 0.
public struct Relu: ElementwiseActivation {
    public init() {}
    /// The pullback masks with the output (`y > 0` exactly when `x > 0`), so the input can be overwritten.
    public var pullbackReadsInputs: Bool { false }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        let x = inputs[0], n = x.count
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in
                nonisolated(unsafe) let (px, out) = (px, out)
                Parallel.forEachRange(n) { r in for i in r { out[i] = px[i] <= 0 ? 0 : px[i] } }
            }
        }
    }

    public func forwardInPlace(_ x: inout Tensor) throws {
        let n = x.count
        x.withUnsafeMutableBufferPointer { p in
            nonisolated(unsafe) let p = p
            Parallel.forEachRange(n) { r in for i in r { p[i] = p[i] <= 0 ? 0 : p[i] } }
        }
    }

    public func pullbackInPlace(inputs: [Tensor], output: Tensor, cotangent: inout Tensor) throws {
        try expectCotangent(cotangent, output)
        let n = output.count
        output.withUnsafeBufferPointer { py in
            cotangent.withUnsafeMutableBufferPointer { pg in
                nonisolated(unsafe) let (py, pg) = (py.baseAddress!, pg.baseAddress!)
                Parallel.forEachRange(n) { r in Kernels.keepWherePositive(py + r.lowerBound, pg + r.lowerBound, count: r.count) }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        var dx = cotangent
        dx.withUnsafeMutableBufferPointer { pg in
            output.withUnsafeBufferPointer { py in Kernels.keepWherePositive(py.baseAddress!, pg.baseAddress!, count: py.count) }
        }
        _ = x
        return [dx]
    }

    public var kind: LayerKind { .relu }
    public var description: String { "Relu" }
    @inline(__always) public func value(_ x: Float) -> Float { x <= 0 ? 0 : x }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { x > 0 ? 1 : 0 }
}

/// `x` for `x > 0`, else `alpha · x`.
public struct LeakyRelu: ElementwiseActivation {
    public let alpha: Float
    public init(alpha: Float = 0.01) { self.alpha = alpha }
    public var kind: LayerKind { .leakyRelu }
    public var description: String { "LeakyRelu(α=\(alpha))" }
    @inline(__always) public func value(_ x: Float) -> Float { x > 0 ? x : alpha * x }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { x > 0 ? 1 : alpha }
}

/// `1 / (1 + e^{−x})`.
public struct Sigmoid: ElementwiseActivation {
    public init() {}
    public var pullbackReadsInputs: Bool { false }
    public var kind: LayerKind { .sigmoid }
    public var description: String { "Sigmoid" }
    @inline(__always) public func value(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : { let e = Foundation.exp(x); return e / (1 + e) }()
    }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { y * (1 - y) }
}

/// Hyperbolic tangent.
public struct Tanh: ElementwiseActivation {
    public init() {}
    public var pullbackReadsInputs: Bool { false }
    public var kind: LayerKind { .tanh }
    public var description: String { "Tanh" }
    @inline(__always) public func value(_ x: Float) -> Float { Foundation.tanh(x) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { 1 - y * y }
}

/// `min(max(x, low), high)`; the derivative is 1 strictly inside `(low, high)`, else 0.
public struct Clip: ElementwiseActivation {
    public let low: Float
    public let high: Float
    public init(low: Float = -.infinity, high: Float = .infinity) throws {
        guard !(low > high) else { throw ExplainError.argument("clip bounds must satisfy min ≤ max, got \(low) > \(high)") }
        self.low = low
        self.high = high
    }
    public var kind: LayerKind { .clip }
    public var description: String { "Clip(\(low), \(high))" }
    @inline(__always) public func value(_ x: Float) -> Float { x < low ? low : (x > high ? high : x) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { x > low && x < high ? 1 : 0 }
}
