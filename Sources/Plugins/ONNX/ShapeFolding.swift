import Foundation
import ExplainCore

/// Import-time evaluation of the integer shape sub-graphs that exporters write
/// (`Shape → Gather → Unsqueeze → Concat → Reshape`), with the batch size kept symbolic.
enum ShapeFolding {
    static func shape(_ c: NodeContext) throws -> Conversion {
        guard let s = c.shape(0) else {
            throw c.error(.unsupportedAttribute, "the shape of the input is not known at import time; give the input shape (--input-shape)")
        }
        // The batch size, or a multiple of it (a reshape folded the heads into the batch).
        var values = s.map { d -> SymInt in d > 0 && d % ShapeProbe.batch == 0 ? .batch(times: d / ShapeProbe.batch) : .known(d) }
        let rank = s.count
        var start = try c.attributes.int("start", default: 0), end = try c.attributes.int("end", default: rank)
        if start < 0 { start += rank }
        if end < 0 { end += rank }
        start = min(max(start, 0), rank); end = min(max(end, start), rank)
        values = Array(values[start..<end])
        return .constant(.int(IntTensor(shape: [values.count], values: values)))
    }

    static func gather(_ c: NodeContext) throws -> Conversion {
        guard case .constant(.int(let data)) = c.operand(0) else {
            throw c.error(.unsupportedOperator, "Gather is only supported on integer shape tensors known at import time")
        }
        let indices = try c.requireConstant(1, "indices").intTensor("indices")
        let idx = try indices.known("indices")
        let axis = try Shape.axis(try c.attributes.int("axis", default: 0), rank: max(data.shape.count, 1))
        guard data.shape.count == 1, axis == 0 else {
            throw c.error(.unsupportedOperator, "Gather is only supported on 1-D shape tensors")
        }
        let n = data.values.count
        let picked = try idx.map { i -> SymInt in
            let j = i < 0 ? i + n : i
            guard j >= 0 && j < n else { throw c.error(.malformedFile, "Gather index \(i) out of range for \(n) values") }
            return data.values[j]
        }
        return .constant(.int(IntTensor(shape: indices.shape, values: picked)))
    }

    static func cast(_ c: NodeContext) throws -> Conversion {
        let to = try c.attributes.int("to", default: 1)
        switch c.operand(0) {
        case .constant(let k):
            switch to {
            case 1, 10, 11, 16: return .constant(.float(try k.floatTensor("Cast input")))
            case 6, 7, 12, 13, 2, 3, 4, 5, 9: return .constant(.int(try k.intTensor("Cast input")))
            default: throw c.attributes.unsupported("to", to, "only numeric casts are supported")
            }
        case .value(let v, _):
            guard [1, 10, 11, 16].contains(to) else {
                throw c.error(.unsupportedOperator, "casting a runtime value to a non-float type is not supported")
            }
            return .alias(v)
        case .absent:
            throw c.error(.missingValue, "input is required")
        }
    }

    /// Slice: on an integer shape tensor folded at import; on a runtime value (or a float constant,
    /// then folded) a `StridedSlice` layer. Both select with `StridedSlice.picks`.
    static func slice(_ c: NodeContext) throws -> Conversion {
        let starts: [Int], ends: [Int], axes: [Int], steps: [Int]
        if c.opset < 10 {
            starts = try c.attributes.ints("starts") ?? []; ends = try c.attributes.ints("ends") ?? []
            axes = try c.attributes.ints("axes") ?? Array(0..<starts.count); steps = [Int](repeating: 1, count: starts.count)
        } else {
            starts = try c.ints(1, "starts") ?? []; ends = try c.ints(2, "ends") ?? []
            axes = try c.ints(3, "axes") ?? Array(0..<starts.count)
            steps = try c.ints(4, "steps") ?? [Int](repeating: 1, count: starts.count)
        }
        let layer: StridedSlice
        do { layer = try StridedSlice(axes: axes, starts: starts, ends: ends, steps: steps) } catch {
            throw c.error(.malformedFile, "Slice starts/ends/axes/steps must have equal lengths and non-zero steps")
        }
        guard case .constant(.int(let data)) = c.operand(0) else { return .layer(layer, [c.operand(0)]) }
        return .constant(.int(select(data, try layer.picks(data.shape))))
    }

    /// The sub-tensor at the cartesian product of per-dimension indices.
    static func select(_ t: IntTensor, _ picks: [[Int]]) -> IntTensor {
        let strides = Shape.strides(t.shape)
        var values: [SymInt] = []
        func walk(_ d: Int, _ offset: Int) {
            if d == picks.count { values.append(t.values[offset]); return }
            for i in picks[d] { walk(d + 1, offset + i * strides[d]) }
        }
        if picks.allSatisfy({ !$0.isEmpty }) { walk(0, 0) }
        return IntTensor(shape: picks.map(\.count), values: values)
    }

    static func transpose(_ c: NodeContext) throws -> Conversion {
        let perm = try c.attributes.ints("perm")
        guard case .constant(.int(let t)) = c.operand(0) else {
            return .layer(Transpose(perm: perm), [c.operand(0)])
        }
        let p = perm ?? Array((0..<t.shape.count).reversed())
        guard p.count == t.shape.count, Set(p) == Set(0..<t.shape.count) else {
            throw c.error(.malformedFile, "perm \(p) does not fit rank \(t.shape.count)")
        }
        let strides = Shape.strides(t.shape)
        var values: [SymInt] = []
        let outShape = p.map { t.shape[$0] }
        func walk(_ d: Int, _ offset: Int) {
            if d == p.count { values.append(t.values[offset]); return }
            for i in 0..<outShape[d] { walk(d + 1, offset + i * strides[p[d]]) }
        }
        if !outShape.contains(0) { walk(0, 0) }
        return .constant(.int(IntTensor(shape: outShape, values: values)))
    }

    static func constantOfShape(_ c: NodeContext) throws -> Conversion {
        let shape = try c.requireConstant(0, "shape").ints("shape")
        let count = try Shape.elementCount(shape)
        guard count <= c.decoder.maxBytes / 4 else { throw c.error(.tooLarge, "ConstantOfShape \(shape) is over the size limit") }
        var value: Float = 0
        var isInt = false
        if let t = c.attributes.tensor("value") {
            switch try c.decoder.decode(t, what: "ConstantOfShape value") {
            case .float(let f): value = f.scalars.first ?? 0
            case .int(let i): value = Float(try i.known("value").first ?? 0); isInt = true
            }
        }
        if isInt { return .constant(.int(IntTensor([Int](repeating: Int(value), count: count), shape: shape))) }
        return .constant(.float(Tensor(shape: shape, repeating: value)))
    }

    static func arithmetic(_ a: IntTensor, _ b: IntTensor, _ op: Binary.Operation, _ c: NodeContext) throws -> IntTensor {
        let shape = try Shape.broadcast(a.shape, b.shape)
        let n = try foldedCount(shape, c)
        let av = a.shape == shape ? a.values : try expand(a, to: shape, c).values
        let bv = b.shape == shape ? b.values : try expand(b, to: shape, c).values
        func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> SymInt {
            guard !r.overflow else { throw c.error(.malformedFile, "integer overflow in a shape computation") }
            return .known(r.partialValue)
        }
        let out = try (0..<n).map { i -> SymInt in
            let x = av[i], y = bv[i]
            switch (x, y) {
            case (.known(let p), .known(let q)):
                switch op {
                case .add: return try checked(p.addingReportingOverflow(q))
                case .sub: return try checked(p.subtractingReportingOverflow(q))
                case .mul: return try checked(p.multipliedReportingOverflow(by: q))
                case .div:
                    guard q != 0 else { throw c.error(.malformedFile, "integer division by zero") }
                    return .known(Int((Double(p) / Double(q)).rounded(.down)))
                }
            case (.known(let k), let b) where op == .mul && b.batchMultiple != nil, (let b, .known(let k)) where op == .mul && b.batchMultiple != nil:
                let (times, overflow) = k.multipliedReportingOverflow(by: b.batchMultiple ?? 1)
                guard !overflow else { throw c.error(.malformedFile, "integer overflow in a shape computation") }
                return .batch(times: times)
            case (let b, .known(let k)) where op == .div && k > 0 && (b.batchMultiple ?? 0) % k == 0 && b.batchMultiple != nil:
                return .batch(times: (b.batchMultiple ?? k) / k)
            case (let b, .known(0)) where (op == .add || op == .sub) && b.batchMultiple != nil: return b
            default:
                throw c.error(.unsupportedAttribute, "arithmetic on the batch size (\(x) \(op.rawValue) \(y)) is not supported")
            }
        }
        return IntTensor(shape: shape, values: out)
    }

    static func concat(_ parts: [IntTensor], axis: Int, _ c: NodeContext) throws -> IntTensor {
        guard let first = parts.first else { throw c.error(.malformedFile, "Concat without inputs") }
        let rank = first.shape.count
        guard rank >= 1, parts.allSatisfy({ $0.shape.count == rank }) else {
            throw c.error(.malformedFile, "Concat inputs must have the same rank")
        }
        let a = try Shape.axis(axis, rank: rank)
        for p in parts where Array(p.shape[..<a]) != Array(first.shape[..<a]) || Array(p.shape[(a + 1)...]) != Array(first.shape[(a + 1)...]) {
            throw c.error(.malformedFile, "Concat inputs differ outside axis \(axis)")
        }
        // Blocks: for each index before the axis, every part's slab in turn.
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        var values: [SymInt] = []
        for o in 0..<outer {
            for p in parts {
                let slab = p.shape[a] * inner
                values += p.values[(o * slab)..<((o + 1) * slab)]
            }
        }
        var shape = first.shape
        shape[a] = parts.reduce(0) { $0 + $1.shape[a] }
        return IntTensor(shape: shape, values: values)
    }

    /// The integer operands of an element-wise folding op, broadcast to a common shape.
    static func broadcastInts(_ c: NodeContext, _ count: Int) throws -> (shape: [Int], values: [[SymInt]]) {
        let ts = try (0..<count).map { try c.requireConstant($0, "input \($0)").intTensor("input \($0)") }
        let shape = try ts.dropFirst().reduce(ts[0].shape) { try Shape.broadcast($0, $1.shape) }
        let n = try foldedCount(shape, c)
        let values = try ts.map { t in t.values.count == n && t.shape == shape ? t.values : try expand(t, to: shape, c).values }
        return (shape, values)
    }

    /// Equal on shape values: the batch size equals itself and no constant below 1 (it is ≥ 1);
    /// compared with a positive constant it is unknown at import time.
    static func equal(_ c: NodeContext) throws -> Conversion {
        let (shape, v) = try broadcastInts(c, 2)
        let out = try zip(v[0], v[1]).map { a, b -> SymInt in
            switch (a, b) {
            case (.known(let p), .known(let q)): return .known(p == q ? 1 : 0)
            case (.known(let q), let b), (let b, .known(let q)):
                guard q < 1, b.batchMultiple != nil else { throw c.error(.unsupportedAttribute, "comparing the batch size with \(q) is only known at run time") }
                return .known(0)
            default:
                guard a == b else { throw c.error(.unsupportedAttribute, "comparing \(a) with \(b) is only known at run time") }
                return .known(1)
            }
        }
        return .constant(.int(IntTensor(shape: shape, values: out)))
    }

    /// Where on shape values (the condition must be known).
    static func whereSelect(_ c: NodeContext) throws -> Conversion {
        let (shape, v) = try broadcastInts(c, 3)
        let out = try (0..<v[0].count).map { i -> SymInt in
            guard case .known(let cond) = v[0][i] else { throw c.error(.unsupportedAttribute, "Where's condition depends on the batch size") }
            return cond != 0 ? v[1][i] : v[2][i]
        }
        return .constant(.int(IntTensor(shape: shape, values: out)))
    }

    /// Mod on known shape values (`fmod = 0`: the sign of the divisor, as Python).
    static func mod(_ c: NodeContext) throws -> Conversion {
        let (shape, v) = try broadcastInts(c, 2)
        let out = try zip(v[0], v[1]).map { a, b -> SymInt in
            guard case .known(let p) = a, case .known(let q) = b, q != 0 else {
                throw c.error(.unsupportedAttribute, "Mod is only supported on known, non-zero shape values")
            }
            let r = p % q
            return .known(r != 0 && (r < 0) != (q < 0) ? r + q : r)
        }
        return .constant(.int(IntTensor(shape: shape, values: out)))
    }

    /// The element count of an integer constant folded at import, at most 10 million (shape values
    /// are small; a larger one comes from a damaged file).
    static func foldedCount(_ shape: [Int], _ c: NodeContext) throws -> Int {
        let count = try Shape.elementCount(shape)
        guard count <= 10_000_000 else { throw c.error(.tooLarge, "an integer constant of shape \(Shape.format(shape)) is over the size limit") }
        return count
    }

    /// An integer tensor broadcast to a known shape.
    static func expand(_ t: IntTensor, to target: [Int], _ c: NodeContext) throws -> IntTensor {
        let shape = try Shape.broadcast(t.shape, target)
        let count = try foldedCount(shape, c)
        let strides = Shape.broadcastStrides(t.shape, into: shape), full = Shape.strides(shape)
        let values = (0..<count).map { flat -> SymInt in
            var rest = flat, offset = 0
            for d in shape.indices { offset += (rest / full[d]) * strides[d]; rest %= full[d] }
            return t.values[offset]
        }
        return IntTensor(shape: shape, values: values)
    }

    /// Pow of constants (element-wise, broadcasting).
    static func pow(_ c: NodeContext) throws -> Conversion {
        // A runtime base with one constant exponent: an element-wise power.
        if case .constant = c.operand(0) {} else {
            let y = try c.floatConstant(1, "Y (the exponent; only a constant exponent is supported)")
            guard y.count == 1, let p = y.scalars.first, p.isFinite else {
                throw c.error(.unsupportedAttribute, "Pow needs one constant exponent, got shape \(Shape.format(y.shape))")
            }
            return .layer(Power(exponent: p), [c.operand(0)])
        }
        let x = try c.floatConstant(0, "X"), y = try c.floatConstant(1, "Y")
        let shape = try Shape.broadcast(x.shape, y.shape)
        let xb = try Tensor.broadcasting(x, Tensor(shape: shape), AddFunction.self), yb = try Tensor.broadcasting(y, Tensor(shape: shape), AddFunction.self)
        return .constant(.float(try Tensor(shape: shape, scalars: zip(xb.scalars, yb.scalars).map { Foundation.pow($0, $1) })))
    }

    /// Range of constants: integers when all three are integers, else floats.
    static func range(_ c: NodeContext) throws -> Conversion {
        let parts = try (0..<3).map { try c.requireConstant($0, ["start", "limit", "delta"][$0]) }
        if parts.allSatisfy({ if case .int = $0 { return true } else { return false } }) {
            let v = try parts.map { try $0.ints("range operand") }.map { $0.first ?? 0 }
            guard v[2] != 0 else { throw c.error(.malformedFile, "Range delta is 0") }
            let count = ((Double(v[1]) - Double(v[0])) / Double(v[2])).rounded(.up)
            guard count <= 10_000_000 else { throw c.error(.tooLarge, "Range of \(count) values is over the size limit") }
            let n = count > 0 ? Int(count) : 0
            return .constant(.int(IntTensor((0..<n).map { v[0] + $0 * v[2] })))
        }
        let v = try parts.map { try $0.floatTensor("range operand").scalars.first ?? 0 }
        guard v[2] != 0 else { throw c.error(.malformedFile, "Range delta is 0") }
        let count = ((Double(v[1]) - Double(v[0])) / Double(v[2])).rounded(.up)
        guard count.isFinite, count <= 10_000_000 else { throw c.error(.tooLarge, "Range from \(v[0]) to \(v[1]) by \(v[2]) has \(count) values, over the size limit") }
        let n = count > 0 ? Int(count) : 0
        return .constant(.float(try Tensor(shape: [n], scalars: (0..<n).map { v[0] + Float($0) * v[2] })))
    }

    /// Not of a known boolean (0/1) tensor.
    static func not(_ c: NodeContext) throws -> Conversion {
        let t = try c.requireConstant(0, "X").intTensor("X")
        return .constant(.int(IntTensor(shape: t.shape, values: try t.known("X").map { .known($0 == 0 ? 1 : 0) })))
    }

    /// ScatterND of constants (no reduction): `data` with the slices at `indices` replaced by `updates`.
    static func scatterND(_ c: NodeContext) throws -> Conversion {
        if let r = try? c.attributes.string("reduction"), r != "none" {
            throw c.attributes.unsupported("reduction", r, "only reduction = none is supported")
        }
        let data = try c.floatConstant(0, "data"), updates = try c.floatConstant(2, "updates")
        let idx = try c.requireConstant(1, "indices").intTensor("indices")
        let indices = try idx.known("indices")
        guard let k = idx.shape.last, k >= 1, k <= data.rank else { throw c.error(.malformedFile, "ScatterND indices must end in 1…rank(data)") }
        let slice = data.shape[k...].reduce(1, *), count = indices.count / k
        guard updates.count == count * slice else { throw c.error(.malformedFile, "ScatterND updates do not fit the indices") }
        let strides = Shape.strides(data.shape)
        var out = data.scalars
        for u in 0..<count {
            var offset = 0
            for d in 0..<k {
                var i = indices[u * k + d]
                if i < 0 { i += data.shape[d] }
                guard i >= 0 && i < data.shape[d] else { throw c.error(.malformedFile, "ScatterND index out of range") }
                offset += i * strides[d]
            }
            for j in 0..<slice { out[offset + j] = updates.scalars[u * slice + j] }
        }
        return .constant(.float(try Tensor(shape: data.shape, scalars: out)))
    }
}
