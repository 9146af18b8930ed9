/// A layer that only reinterprets the shape (Flatten, Reshape, Squeeze, Unsqueeze, Identity):
/// the elements stay in order, the pullback reshapes back.
public protocol ReshapingLayer: Layer {
    /// The output shape for one input shape.
    func reshape(_ input: [Int]) throws -> [Int]
}

extension ReshapingLayer {
    public var arity: Int { 1 }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let out = try reshape(inputShapes[0])
        guard try Shape.elementCount(out) == (try Shape.elementCount(inputShapes[0])) else {
            throw ExplainError.shape("\(description) cannot map \(Shape.format(inputShapes[0])) (\(inputShapes[0].reduce(1, *)) elements) to \(Shape.format(out))")
        }
        return out
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try inputs[0].reshaped(try outputShape(inputs.map(\.shape)))
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [try cotangent.reshaped(inputs[0].shape)]
    }
}

/// Passes its input through unchanged (also ONNX `Dropout` in inference).
public struct Identity: ReshapingLayer {
    public init() {}
    public var kind: LayerKind { .identity }
    public var description: String { "Identity" }
    public func reshape(_ input: [Int]) throws -> [Int] { input }
}

/// ONNX `Flatten`: `(d0, …, dn) → (d0·…·d(axis−1), d(axis)·…·dn)`.
public struct Flatten: ReshapingLayer {
    public let axis: Int
    public init(axis: Int = 1) { self.axis = axis }
    public var kind: LayerKind { .flatten }
    public var description: String { "Flatten(axis \(axis))" }
    public func reshape(_ input: [Int]) throws -> [Int] {
        let a = try Shape.axis(axis, rank: input.count, allowEnd: true)
        return [input[..<a].reduce(1, *), input[a...].reduce(1, *)]
    }
}

/// ONNX `Reshape` with a target known at import time.
public struct Reshape: ReshapingLayer {
    /// One entry of the target shape.
    public enum Dimension: Sendable, Equatable, CustomStringConvertible {
        /// A fixed extent.
        case fixed(Int)
        /// Copy the input's extent at the same position (ONNX `0`).
        case copy
        /// Inferred from the element count (ONNX `-1`); at most one.
        case infer

        public var description: String {
            switch self {
            case .fixed(let n): "\(n)"
            case .copy: "0"
            case .infer: "-1"
            }
        }
    }

    public let target: [Dimension]

    public init(_ target: [Dimension]) throws {
        guard target.filter({ $0 == .infer }).count <= 1 else {
            throw ExplainError.argument("reshape target may contain at most one -1")
        }
        for case .fixed(let n) in target where n < 0 {
            throw ExplainError.argument("reshape target has a negative extent \(n)")
        }
        self.target = target
    }

    /// Builds from ONNX shape values (`0` copies unless `allowZero`, `-1` infers).
    public init(onnx values: [Int], allowZero: Bool = false) throws {
        try self.init(values.map { v in
            if v == -1 { return .infer }
            if v == 0 && !allowZero { return .copy }
            return .fixed(v)
        })
    }

    public var kind: LayerKind { .reshape }
    public var description: String { "Reshape(\(target.map(\.description).joined(separator: ", ")))" }

    public func reshape(_ input: [Int]) throws -> [Int] {
        var out: [Int] = []
        var inferAt: Int? = nil
        for (i, d) in target.enumerated() {
            switch d {
            case .fixed(let n): out.append(n)
            case .copy:
                guard i < input.count else {
                    throw ExplainError.shape("reshape copies dimension \(i) but the input \(Shape.format(input)) has rank \(input.count)")
                }
                out.append(input[i])
            case .infer: inferAt = i; out.append(1)
            }
        }
        if let k = inferAt {
            let total = try Shape.elementCount(input)
            let known = try Shape.elementCount(out)
            guard known > 0, total % known == 0 else {
                throw ExplainError.shape("cannot reshape \(Shape.format(input)) to \(description)")
            }
            out[k] = total / known
        }
        guard try Shape.elementCount(out) == Shape.elementCount(input) else {
            throw ExplainError.shape("cannot reshape \(Shape.format(input)) to \(Shape.format(out)): the element counts differ")
        }
        return out
    }
}

/// ONNX `Squeeze`: removes the given size-1 axes (all size-1 axes when `axes` is nil).
public struct Squeeze: ReshapingLayer {
    public let axes: [Int]?
    public init(axes: [Int]? = nil) { self.axes = axes }
    public var kind: LayerKind { .squeeze }
    public var description: String { "Squeeze(\(axes.map { "\($0)" } ?? "all"))" }
    public func reshape(_ input: [Int]) throws -> [Int] {
        guard let axes else { return input.filter { $0 != 1 } }
        let drop = Set(try axes.map { try Shape.axis($0, rank: input.count) })
        for a in drop where input[a] != 1 {
            throw ExplainError.shape("cannot squeeze axis \(a) of extent \(input[a]) in \(Shape.format(input))")
        }
        return input.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
    }
}

/// ONNX `Unsqueeze`: inserts size-1 axes at the given positions of the output.
public struct Unsqueeze: ReshapingLayer {
    public let axes: [Int]
    public init(axes: [Int]) { self.axes = axes }
    public var kind: LayerKind { .unsqueeze }
    public var description: String { "Unsqueeze(\(axes))" }
    public func reshape(_ input: [Int]) throws -> [Int] {
        let rank = input.count + axes.count
        let positions = Set(try axes.map { try Shape.axis($0, rank: rank) })
        guard positions.count == axes.count else { throw ExplainError.argument("unsqueeze axes \(axes) repeat") }
        var out: [Int] = []
        var it = input.makeIterator()
        for i in 0..<rank { out.append(positions.contains(i) ? 1 : it.next()!) }
        return out
    }
}
