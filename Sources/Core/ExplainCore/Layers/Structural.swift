/// ONNX `Concat` along one axis; the pullback splits the cotangent.
public struct Concat: Layer {
    public let axis: Int
    public let inputCount: Int

    public init(axis: Int, inputCount: Int) throws {
        guard inputCount >= 1 else { throw ExplainError.argument("concat needs at least one input") }
        self.axis = axis
        self.inputCount = inputCount
    }

    public var kind: LayerKind { .concat }
    public var arity: Int { inputCount }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "Concat(axis \(axis), \(inputCount) inputs)" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, inputCount)
        let first = inputShapes[0]
        let a = try Shape.axis(axis, rank: first.count)
        var out = first
        out[a] = 0
        for s in inputShapes {
            guard s.count == first.count,
                  zip(s, first).enumerated().allSatisfy({ $0.offset == a || $0.element.0 == $0.element.1 }) else {
                throw ExplainError.shape("concat along axis \(axis): \(Shape.format(s)) does not fit \(Shape.format(first))")
            }
            out[a] += s[a]
        }
        return out
    }

    /// (outer, inner) block sizes around the axis.
    private func blocks(_ shape: [Int]) throws -> (outer: Int, inner: Int, axis: Int) {
        let a = try Shape.axis(axis, rank: shape.count)
        return (shape[..<a].reduce(1, *), shape[(a + 1)...].reduce(1, *), a)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let (outer, inner, a) = try blocks(outShape)
        let outRow = outShape[a] * inner
        return Tensor(shape: outShape) { out in
            var offset = 0
            for t in inputs {
                let row = t.shape[a] * inner
                t.withUnsafeBufferPointer { p in
                    for o in 0..<outer {
                        (out.baseAddress! + o * outRow + offset).update(from: p.baseAddress! + o * row, count: row)
                    }
                }
                offset += row
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let (outer, inner, a) = try blocks(output.shape)
        let outRow = output.shape[a] * inner
        var offset = 0
        return inputs.map { t in
            let row = t.shape[a] * inner
            let g = Tensor(shape: t.shape) { dst in
                cotangent.withUnsafeBufferPointer { p in
                    for o in 0..<outer {
                        (dst.baseAddress! + o * row).update(from: p.baseAddress! + o * outRow + offset, count: row)
                    }
                }
            }
            offset += row
            return g
        }
    }
}

/// ONNX `Transpose`: `output.shape[i] = input.shape[perm[i]]` (reversed axes when `perm` is nil).
public struct Transpose: Layer {
    public let perm: [Int]?
    public init(perm: [Int]? = nil) { self.perm = perm }
    public var kind: LayerKind { .transpose }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var arity: Int { 1 }
    public var description: String { "Transpose(\(perm.map { "\($0)" } ?? "reverse"))" }

    func permutation(rank: Int) throws -> [Int] {
        let p = perm ?? Array((0..<rank).reversed())
        guard p.count == rank, Set(p) == Set(0..<rank) else {
            throw ExplainError.shape("transpose permutation \(p) does not fit rank \(rank)")
        }
        return p
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        return try permutation(rank: inputShapes[0].count).map { inputShapes[0][$0] }
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        return try inputs[0].transposed(try permutation(rank: inputs[0].rank))
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let p = try permutation(rank: inputs[0].rank)
        var inverse = [Int](repeating: 0, count: p.count)
        for (i, j) in p.enumerated() { inverse[j] = i }
        return [try cotangent.transposed(inverse)]
    }
}

/// ONNX `Pad` in constant mode with non-negative pads `[begin₀, …, beginₙ, end₀, …, endₙ]`.
public struct Pad: Layer {
    public let pads: [Int]
    public let value: Float

    public init(pads: [Int], value: Float = 0) throws {
        guard pads.count % 2 == 0, pads.allSatisfy({ $0 >= 0 }) else {
            throw ExplainError.argument("pads \(pads) must be 2·rank non-negative values (negative pads are not supported)")
        }
        self.pads = pads
        self.value = value
    }

    public var kind: LayerKind { .pad }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var arity: Int { 1 }
    public var description: String { "Pad(\(pads), value \(value))" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        guard pads.count == 2 * s.count else {
            throw ExplainError.shape("pad has \(pads.count) values, input \(Shape.format(s)) needs \(2 * s.count)")
        }
        return s.enumerated().map { $0.element + pads[$0.offset] + pads[$0.offset + s.count] }
    }

    /// Calls `body(outOffset, inOffset, length)` for every contiguous input row.
    private func forEachRow(_ input: [Int], _ out: [Int], _ body: (Int, Int, Int) -> Void) {
        let r = input.count
        if r == 0 { body(0, 0, 1); return }
        let outStrides = Shape.strides(out)
        let rows = input.dropLast().reduce(1, *)
        let len = input[r - 1]
        var index = [Int](repeating: 0, count: max(r - 1, 0))
        for row in 0..<rows {
            var o = pads[r - 1]
            for d in 0..<(r - 1) { o += (index[d] + pads[d]) * outStrides[d] }
            body(o, row * len, len)
            var d = r - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < input[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let x = inputs[0]
        var y = Tensor(shape: outShape, repeating: value)
        if x.count == 0 { return y }
        y.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { px in
                forEachRow(x.shape, outShape) { o, i, n in
                    (out.baseAddress! + o).update(from: px.baseAddress! + i, count: n)
                }
            }
        }
        return y
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        if x.count == 0 { return [x] }
        return [Tensor(shape: x.shape) { dx in
            cotangent.withUnsafeBufferPointer { pg in
                forEachRow(x.shape, output.shape) { o, i, n in
                    (dx.baseAddress! + i).update(from: pg.baseAddress! + o, count: n)
                }
            }
        }]
    }
}

/// A constant value in the graph (no inputs), for constants that stay runtime operands.
public struct Constant: Layer {
    public let value: Tensor
    public init(_ value: Tensor) { self.value = value }
    public var kind: LayerKind { .constant }
    public var arity: Int { 0 }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var parameterCount: Int { value.count }
    public var description: String { "Constant\(Shape.format(value.shape))" }
    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 0)
        return value.shape
    }
    public func forward(_ inputs: [Tensor]) throws -> Tensor { value }
    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] { [] }
}
