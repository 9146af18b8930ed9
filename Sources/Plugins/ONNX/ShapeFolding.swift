import ExplainCore

/// Import-time evaluation of the integer shape sub-graphs that exporters write
/// (`Shape → Gather → Unsqueeze → Concat → Reshape`), with the batch size kept symbolic.
enum ShapeFolding {
    static func shape(_ c: NodeContext) throws -> Conversion {
        guard let s = c.shape(0) else {
            throw c.error(.unsupportedAttribute, "the shape of the input is not known at import time; give the input shape (--input-shape)")
        }
        var values = s.map { d -> SymInt in d == ShapeProbe.batch ? .batch : .known(d) }
        if s.contains(where: { $0 != ShapeProbe.batch && $0 % ShapeProbe.batch == 0 }) {
            throw c.error(.unsupportedAttribute, "a dimension of \(Shape.format(s)) is a multiple of the batch size; such shape expressions are not supported")
        }
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

    static func slice(_ c: NodeContext) throws -> Conversion {
        guard case .constant(.int(let data)) = c.operand(0), data.shape.count == 1 else {
            throw c.error(.unsupportedOperator, "Slice is only supported on 1-D integer shape tensors known at import time")
        }
        let starts: [Int], ends: [Int], steps: [Int]
        if c.opset < 10 {
            starts = try c.attributes.ints("starts") ?? [0]; ends = try c.attributes.ints("ends") ?? [Int.max]; steps = [1]
        } else {
            starts = try c.ints(1, "starts") ?? [0]; ends = try c.ints(2, "ends") ?? [Int.max]
            steps = try c.ints(4, "steps") ?? [1]
        }
        guard starts.count == 1, ends.count == 1, steps.count == 1, steps[0] != 0 else {
            throw c.error(.unsupportedAttribute, "Slice of a shape tensor needs one start, end and non-zero step")
        }
        let n = data.values.count, step = steps[0]
        func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v < 0 ? v + n : v, lo), hi) }
        var out: [SymInt] = []
        if step > 0 {
            var i = clamp(starts[0], 0, n)
            let e = clamp(ends[0], 0, n)
            while i < e { out.append(data.values[i]); i += step }
        } else {
            var i = clamp(starts[0], -1, n - 1)
            let e = clamp(ends[0], -1, n - 1)
            while i > e { out.append(data.values[i]); i += step }
        }
        return .constant(.int(IntTensor(shape: [out.count], values: out)))
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
        let n = shape.reduce(1, *)
        guard (a.values.count == n || a.values.count == 1), (b.values.count == n || b.values.count == 1) else {
            throw c.error(.unsupportedOperator, "integer arithmetic is only supported element-wise or with a scalar")
        }
        let out = try (0..<n).map { i -> SymInt in
            let x = a.values[a.values.count == 1 ? 0 : i], y = b.values[b.values.count == 1 ? 0 : i]
            switch (x, y) {
            case (.known(let p), .known(let q)):
                switch op {
                case .add: return .known(p + q)
                case .sub: return .known(p - q)
                case .mul: return .known(p * q)
                case .div:
                    guard q != 0 else { throw c.error(.malformedFile, "integer division by zero") }
                    return .known(Int((Double(p) / Double(q)).rounded(.down)))
                }
            case (.batch, .known(1)) where op == .mul || op == .div: return .batch
            case (.known(1), .batch) where op == .mul: return .batch
            case (.batch, .known(0)) where op == .add || op == .sub: return .batch
            default:
                throw c.error(.unsupportedAttribute, "arithmetic on the batch size (\(x) \(op.rawValue) \(y)) is not supported")
            }
        }
        return IntTensor(shape: shape, values: out)
    }

    static func concat(_ parts: [IntTensor], axis: Int, _ c: NodeContext) throws -> IntTensor {
        guard parts.allSatisfy({ $0.shape.count == 1 }), axis == 0 || axis == -1 else {
            throw c.error(.unsupportedOperator, "Concat of integer tensors is only supported for 1-D shape tensors")
        }
        let values = parts.flatMap(\.values)
        return IntTensor(shape: [values.count], values: values)
    }
}
