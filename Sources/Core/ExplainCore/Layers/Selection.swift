import Foundation

/// Picks entries along one axis by constant indices (ONNX `Gather` on a runtime value, e.g. a
/// transformer's class token `x[:, 0]` or the query/key/value split): the output has the shape
/// `x.shape[..<axis] + indices.shape + x.shape[(axis + 1)...]`. The pullback adds each output
/// entry back to the entry it was taken from.
public struct GatherAxis: Layer {
    public let axis: Int
    /// The indices (negative counts from the end of the axis).
    public let indices: [Int]
    /// Their shape (`[]` for a single index, which removes the axis).
    public let indicesShape: [Int]

    public init(axis: Int, indices: [Int], indicesShape: [Int]) throws {
        guard indices.count == indicesShape.reduce(1, *) else {
            throw ExplainError.shape("gather: \(indices.count) indices do not fill shape \(Shape.format(indicesShape))")
        }
        self.axis = axis
        self.indices = indices
        self.indicesShape = indicesShape
    }

    public var kind: LayerKind { .gather }
    public var arity: Int { 1 }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "Gather(axis \(axis), \(indices.count) index\(indices.count == 1 ? "" : "es"))" }

    /// The axis, the resolved indices, and the sizes before, along and after the axis.
    func plan(_ shape: [Int]) throws -> (axis: Int, picks: [Int], outer: Int, extent: Int, inner: Int) {
        let a = try Shape.axis(axis, rank: shape.count)
        let n = shape[a]
        let picks = try indices.map { i -> Int in
            let j = i < 0 ? i + n : i
            guard j >= 0 && j < n else { throw ExplainError.argument("gather index \(i) is outside an axis of \(n)") }
            return j
        }
        return (a, picks, shape[..<a].reduce(1, *), n, shape[(a + 1)...].reduce(1, *))
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        let p = try plan(s)
        return Array(s[..<p.axis]) + indicesShape + Array(s[(p.axis + 1)...])
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let shape = try outputShape(inputs.map(\.shape))
        let x = inputs[0], p = try plan(x.shape)
        return Tensor(shape: shape) { out in
            guard out.count > 0 else { return }
            x.withUnsafeBufferPointer { px in
                for o in 0..<p.outer {
                    for (k, j) in p.picks.enumerated() {
                        (out.baseAddress! + (o * p.picks.count + k) * p.inner).update(from: px.baseAddress! + (o * p.extent + j) * p.inner, count: p.inner)
                    }
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0], p = try plan(x.shape)
        return [Tensor(shape: x.shape) { dx in
            dx.update(repeating: 0)
            guard cotangent.count > 0 else { return }
            cotangent.withUnsafeBufferPointer { pg in
                for o in 0..<p.outer {
                    for (k, j) in p.picks.enumerated() {
                        Kernels.axpy(1, pg.baseAddress! + (o * p.picks.count + k) * p.inner, dx.baseAddress! + (o * p.extent + j) * p.inner, count: p.inner)
                    }
                }
            }
        }]
    }
}

/// A constant broadcast to the batch of its input (ONNX `Expand` of a parameter to a shape that
/// holds the batch size, e.g. a vision transformer's class token `expand(N, −1, −1)`): the output
/// is `value` broadcast to `[N] + shape`, where N is the input's first dimension; the input
/// provides only N, so its gradient is zero.
public struct BatchBroadcast: Layer {
    public let value: Tensor
    /// The per-sample shape of the output.
    public let shape: [Int]

    public init(value: Tensor, shape: [Int]) throws {
        guard (try? Shape.broadcast(value.shape, [1] + shape)) == [1] + shape else {
            throw ExplainError.shape("expand: \(Shape.format(value.shape)) does not broadcast to (N, \(shape.map(String.init).joined(separator: ", ")))")
        }
        self.value = value
        self.shape = shape
    }

    public var kind: LayerKind { .constant }
    public var arity: Int { 1 }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var parameterCount: Int { value.count }
    public var description: String { "BatchBroadcast\(Shape.format(value.shape)) → (N, \(shape.map(String.init).joined(separator: ", ")))" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        guard let n = inputShapes[0].first else { throw ExplainError.shape("expand needs a batch dimension to follow") }
        return [n] + shape
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let out = try outputShape(inputs.map(\.shape))
        let one = try Tensor.broadcasting(value, Tensor(shape: [1] + shape), AddFunction.self)
        return try Tensor.concatenateBatches([Tensor](repeating: one, count: out[0]))
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [Tensor(shape: inputs[0].shape)]
    }
}

/// `√x` (ONNX Sqrt); the derivative `1 / (2√x)` (infinite at 0, as in PyTorch).
public struct Sqrt: ElementwiseActivation {
    public init() {}
    public var kind: LayerKind { .sqrt }
    public var description: String { "Sqrt" }
    @inline(__always) public func value(_ x: Float) -> Float { x.squareRoot() }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { 0.5 / y }
}

/// A strided slice (ONNX `Slice` on a runtime value): along each listed axis the indices
/// `start, start + step, …` before `end`, clamped as NumPy does (negative values count from the
/// end; negative steps run backwards). The pullback adds each output entry back to its source.
public struct StridedSlice: Layer {
    public let axes: [Int]
    public let starts: [Int]
    public let ends: [Int]
    public let steps: [Int]

    public init(axes: [Int], starts: [Int], ends: [Int], steps: [Int]) throws {
        guard axes.count == starts.count, ends.count == starts.count, steps.count == starts.count, !steps.contains(0), !steps.contains(.min) else {
            throw ExplainError.argument("slice starts/ends/axes/steps must have equal lengths and non-zero steps")
        }
        self.axes = axes
        self.starts = starts
        self.ends = ends
        self.steps = steps
    }

    public var kind: LayerKind { .slice }
    public var arity: Int { 1 }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "Slice(axes \(axes), starts \(starts), ends \(ends), steps \(steps))" }

    /// The picked indices along every dimension of an input shape, as arithmetic progressions
    /// (first index, step, count) — nothing is allocated per index, so a shape met while importing
    /// costs nothing however large it is.
    public func progressions(_ shape: [Int]) throws -> [(first: Int, step: Int, count: Int)] {
        var out = shape.map { (first: 0, step: 1, count: $0) }
        for (k, axis) in axes.enumerated() {
            let a = try Shape.axis(axis, rank: shape.count)
            let n = shape[a], step = steps[k]
            func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v < 0 ? v &+ n : v, lo), hi) }
            if step > 0 {
                let i = clamp(starts[k], 0, n), e = clamp(ends[k], 0, n)
                out[a] = (i, step, e > i ? (e - i - 1) / step + 1 : 0)
            } else {
                let i = clamp(starts[k], -1, n - 1)
                let e = ends[k] < -n ? -1 : clamp(ends[k], -1, n - 1)
                out[a] = (i, step, i > e ? (i - e - 1) / -step + 1 : 0)
            }
        }
        return out
    }

    /// The picked indices of every dimension of an input shape (used to fold slices of constants
    /// at import).
    public func picks(_ shape: [Int]) throws -> [[Int]] {
        try progressions(shape).map { p in (0..<p.count).map { p.first + $0 * p.step } }
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        return try progressions(inputShapes[0]).map(\.count)
    }

    /// Calls `body(outputOffset, inputOffset)` for every output element, in order.
    func forEachPick(_ shape: [Int], _ body: (Int, Int) -> Void) throws {
        let p = try picks(shape), strides = Shape.strides(shape)
        guard p.allSatisfy({ !$0.isEmpty }) else { return }
        var o = 0
        func walk(_ d: Int, _ offset: Int) {
            if d == p.count { body(o, offset); o += 1; return }
            for i in p[d] { walk(d + 1, offset + i * strides[d]) }
        }
        walk(0, 0)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let shape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        var out = Tensor(shape: shape)
        try out.withUnsafeMutableBufferPointer { po in
            try x.withUnsafeBufferPointer { px in try forEachPick(x.shape) { o, i in po[o] = px[i] } }
        }
        return out
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        var dx = Tensor(shape: x.shape)
        try dx.withUnsafeMutableBufferPointer { pd in
            try cotangent.withUnsafeBufferPointer { pg in try forEachPick(x.shape) { o, i in pd[i] += pg[o] } }
        }
        return [dx]
    }
}
