/// An element-wise step that a transposed product applies to its result (the gradient at the
/// layer input) while each part is still in cache, instead of a separate pass over memory.
public enum InputEpilogue: Sendable {
    /// Zero where the tensor is ≤ 0: the mask of the Relu that produced the layer input.
    case keepWherePositive(Tensor)
    /// Multiply by the tensor element-wise: LRP's `x ⊙ (W'ᵀ s)`.
    case multiply(Tensor)

    /// The tensor the step reads (shaped like the layer input).
    public var operand: Tensor {
        switch self { case .keepWherePositive(let t), .multiply(let t): t }
    }

    /// The step on raw memory, for the kernels' workers.
    struct Raw: @unchecked Sendable {
        let operand: UnsafePointer<Float>
        let multiplies: Bool
        /// Applies the step to `g[offset ..< offset + count]` of a result laid out like the operand.
        func apply(_ g: UnsafeMutablePointer<Float>, offset: Int, count: Int) {
            if multiplies { Kernels.multiply(operand + offset, g + offset, count: count) }
            else { Kernels.keepWherePositive(operand + offset, g + offset, count: count) }
        }
    }

    /// Runs `body` with the raw form of `epilogue` (nil without one, or for an empty operand: there
    /// is nothing to apply).
    static func withRaw<R>(_ epilogue: InputEpilogue?, _ body: (Raw?) throws -> R) rethrows -> R {
        guard let epilogue else { return try body(nil) }
        let multiplies: Bool = if case .multiply = epilogue { true } else { false }
        return try epilogue.operand.withUnsafeBufferPointer { p in try body(p.baseAddress.map { Raw(operand: $0, multiplies: multiplies) }) }
    }
}
