import CExplainSupport

/// An element-wise step that a transposed product applies to its result (the gradient at the
/// layer input) while each part is still in cache, instead of a separate pass over memory.
public enum InputEpilogue: Sendable {
    /// Zero where the tensor is ≤ 0: the mask of the Relu that produced the layer input.
    case keepWherePositive(Tensor)
    /// The same from the Relu's recorded mask (its output was not kept).
    case keepWhere(PositiveMask)
    /// Multiply by the tensor element-wise: LRP's `x ⊙ (W'ᵀ s)`.
    case multiply(Tensor)

    /// The shape of what the step reads (the layer input's).
    public var operandShape: [Int] {
        switch self {
        case .keepWherePositive(let t), .multiply(let t): t.shape
        case .keepWhere(let m): m.shape
        }
    }

    /// The step on raw memory, for the kernels' workers.
    struct Raw: @unchecked Sendable {
        enum Kind { case keep, multiply, bits }
        let operand: UnsafeRawPointer
        let kind: Kind
        /// Applies the step to `g[offset ..< offset + count]` of a result laid out like the operand.
        func apply(_ g: UnsafeMutablePointer<Float>, offset: Int, count: Int) {
            switch kind {
            case .multiply: Kernels.multiply(operand.assumingMemoryBound(to: Float.self) + offset, g + offset, count: count)
            case .keep: Kernels.keepWherePositive(operand.assumingMemoryBound(to: Float.self) + offset, g + offset, count: count)
            case .bits: explain_keep_where_bits(operand.assumingMemoryBound(to: UInt8.self), offset, g + offset, count)
            }
        }
    }

    /// Runs `body` with the raw form of `epilogue` (nil without one, or for an empty operand: there
    /// is nothing to apply).
    static func withRaw<R>(_ epilogue: InputEpilogue?, _ body: (Raw?) throws -> R) rethrows -> R {
        switch epilogue {
        case nil: return try body(nil)
        case .keepWherePositive(let t)?:
            return try t.withUnsafeBufferPointer { p in try body(p.baseAddress.map { Raw(operand: $0, kind: .keep) }) }
        case .multiply(let t)?:
            return try t.withUnsafeBufferPointer { p in try body(p.baseAddress.map { Raw(operand: $0, kind: .multiply) }) }
        case .keepWhere(let m)?:
            return try m.bytes.withUnsafeBufferPointer { p in try body(p.baseAddress.map { Raw(operand: $0, kind: .bits) }) }
        }
    }
}
