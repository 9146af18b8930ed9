/// Element-wise `Add`, `Sub`, `Mul`, `Div` with NumPy broadcasting.
///
/// Either both operands are runtime inputs, or one of them is a constant held by the layer
/// (`x − mean`, `x / std`, a bias add); then the layer has one input.
public struct Binary: Layer {
    /// The arithmetic operation.
    public enum Operation: String, Sendable, CaseIterable {
        case add, sub, mul, div
    }

    /// Where a constant operand sits.
    public enum ConstantSide: Sendable { case left, right }

    public let operation: Operation
    public let constant: Tensor?
    public let constantSide: ConstantSide

    public init(_ operation: Operation, constant: Tensor? = nil, side: ConstantSide = .right) {
        self.operation = operation
        self.constant = constant
        self.constantSide = side
    }

    public var kind: LayerKind {
        switch operation {
        case .add: .add
        case .sub: .sub
        case .mul: .mul
        case .div: .div
        }
    }

    public var arity: Int { constant == nil ? 2 : 1 }
    public var pullbackReadsInputs: Bool { operation == .mul || operation == .div }
    public var pullbackReadsOutput: Bool { operation == .div }
    public var parameterCount: Int { constant?.count ?? 0 }
    public var description: String {
        guard let constant else { return "\(operation.rawValue.capitalized)" }
        let c = constant.count == 1 ? "\(constant.scalars[0])" : "constant \(Shape.format(constant.shape))"
        return constantSide == .right ? "\(operation.rawValue.capitalized)(·, \(c))" : "\(operation.rawValue.capitalized)(\(c), ·)"
    }

    /// The two operands in order (left, right).
    public func operands(_ inputs: [Tensor]) -> (Tensor, Tensor) {
        guard let constant else { return (inputs[0], inputs[1]) }
        return constantSide == .right ? (inputs[0], constant) : (constant, inputs[0])
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, arity)
        guard let constant else { return try Shape.broadcast(inputShapes[0], inputShapes[1]) }
        return constantSide == .right
            ? try Shape.broadcast(inputShapes[0], constant.shape) : try Shape.broadcast(constant.shape, inputShapes[0])
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), arity)
        let (a, b) = operands(inputs)
        switch operation {
        case .add: return try Tensor.broadcasting(a, b, AddFunction.self)
        case .sub: return try Tensor.broadcasting(a, b, SubtractFunction.self)
        case .mul: return try Tensor.broadcasting(a, b, MultiplyFunction.self)
        case .div: return try Tensor.broadcasting(a, b, DivideFunction.self)
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent g: Tensor) throws -> [Tensor] {
        try expectCotangent(g, output)
        let (a, b) = operands(inputs)
        let needA = constant == nil || constantSide == .right
        let needB = constant == nil || constantSide == .left
        var grads: [Tensor] = []
        if needA {
            let da: Tensor
            switch operation {
            case .add, .sub: da = g
            case .mul: da = try Tensor.broadcasting(g, b, MultiplyFunction.self)
            case .div: da = try Tensor.broadcasting(g, b, DivideFunction.self)
            }
            grads.append(try da.summed(toShape: a.shape))
        }
        if needB {
            let db: Tensor
            switch operation {
            case .add: db = g
            case .sub: db = try Tensor.broadcasting(Tensor(scalar: 0), g, SubtractFunction.self)
            case .mul: db = try Tensor.broadcasting(g, a, MultiplyFunction.self)
            case .div:
                // d(a/b)/db = −a/b² = −(a/b)/b = −output/b
                let q = try Tensor.broadcasting(output, b, DivideFunction.self)
                db = try Tensor.broadcasting(Tensor(scalar: 0), try Tensor.broadcasting(g, q, MultiplyFunction.self), SubtractFunction.self)
            }
            grads.append(try db.summed(toShape: b.shape))
        }
        return grads
    }
}
