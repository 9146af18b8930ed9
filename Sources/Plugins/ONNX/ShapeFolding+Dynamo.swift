import ExplainCore
import Foundation

/// The small operators that PyTorch's dynamo exporter uses on shapes and constants (inside its aten
/// helper functions): all folded at import time.
extension ShapeFolding {
    /// Abs of a constant (the exporter takes |size| before Expand).
    static func abs(_ c: NodeContext) throws -> Conversion {
        switch try c.requireConstant(0, "input (Abs is folded at import: its input must be a constant or a shape)") {
        case .int(let t):
            return .constant(.int(IntTensor(shape: t.shape, values: t.values.map { v in
                if case .known(let k) = v { return .known(Swift.abs(k)) }
                return v   // the batch size is positive
            })))
        case .float(let t):
            return .constant(.float(try Tensor(shape: t.shape, scalars: t.scalars.map { Swift.abs($0) })))
        }
    }

    /// Ceil of a constant.
    static func ceil(_ c: NodeContext) throws -> Conversion {
        let t = try c.requireConstant(0, "input (Ceil is folded at import: its input must be a constant)").floatTensor("Ceil input")
        return .constant(.float(try Tensor(shape: t.shape, scalars: t.scalars.map { Foundation.ceil($0) })))
    }

    /// The number of elements of the input, from its shape (the batch size symbolically).
    static func size(_ c: NodeContext) throws -> Conversion {
        let shape: [Int]
        switch c.operand(0) {
        case .constant(let k): shape = k.shape
        case .value: guard let s = c.shape(0) else { throw c.error(.unsupportedAttribute, "Size needs the input's shape at import time") }; shape = s
        case .absent: throw c.error(.missingValue, "input is required")
        }
        var known = 1, batches = 0
        for d in shape {
            if d > 0 && d % ShapeProbe.batch == 0 { batches += 1; known *= d / ShapeProbe.batch } else { known *= d }
        }
        guard batches <= 1 else { throw c.error(.unsupportedAttribute, "Size of a value with the batch size in two axes is not supported") }
        return .constant(.int(IntTensor(shape: [], values: [batches == 1 ? .batch(times: known) : .known(known)])))
    }

    /// Greater on known integers (shape tests).
    static func greater(_ c: NodeContext) throws -> Conversion {
        let (shape, v) = try broadcastInts(c, 2)
        let out = try zip(v[0], v[1]).map { a, b -> SymInt in
            guard case .known(let p) = a, case .known(let q) = b else {
                throw c.error(.unsupportedAttribute, "comparing \(a) with \(b) is only known at run time")
            }
            return .known(p > q ? 1 : 0)
        }
        return .constant(.int(IntTensor(shape: shape, values: out)))
    }

    /// CastLike: a Cast to the type of the second input (a runtime value is float).
    static func castLike(_ c: NodeContext) throws -> Conversion {
        let toFloat: Bool
        switch c.operand(1) {
        case .value: toFloat = true
        case .constant(.float): toFloat = true
        case .constant(.int): toFloat = false
        case .absent: throw c.error(.missingValue, "CastLike needs the target input")
        }
        switch c.operand(0) {
        case .constant(let k): return .constant(toFloat ? .float(try k.floatTensor("CastLike input")) : .int(try k.intTensor("CastLike input")))
        case .value(let v, _):
            guard toFloat else { throw c.error(.unsupportedOperator, "casting a runtime value to a non-float type is not supported") }
            return .alias(v)
        case .absent: throw c.error(.missingValue, "input is required")
        }
    }
}
