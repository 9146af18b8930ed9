/// ONNX `ReduceMean` / `ReduceSum` over a set of axes (all axes when `axes` is nil).
public struct Reduce: Layer {
    /// The reduction.
    public enum Operation: String, Sendable { case mean, sum }

    public let operation: Operation
    public let axes: [Int]?
    public let keepDims: Bool

    public init(_ operation: Operation, axes: [Int]?, keepDims: Bool = true) {
        self.operation = operation
        self.axes = axes
        self.keepDims = keepDims
    }

    public var kind: LayerKind { operation == .mean ? .reduceMean : .reduceSum }
    public var arity: Int { 1 }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String {
        "Reduce\(operation.rawValue.capitalized)(axes \(axes.map { "\($0)" } ?? "all")\(keepDims ? ", keepdims" : ""))"
    }

    /// The input shape with reduced axes set to 1, and the number of reduced elements.
    func kept(_ s: [Int]) throws -> ([Int], Int) {
        let set = Set(try (axes ?? Array(0..<s.count)).map { try Shape.axis($0, rank: s.count) })
        var k = s
        var n = 1
        for a in set { n *= s[a]; k[a] = 1 }
        return (k, n)
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        let (k, _) = try kept(s)
        if keepDims { return k }
        let set = Set(try (axes ?? Array(0..<s.count)).map { try Shape.axis($0, rank: s.count) })
        return s.enumerated().filter { !set.contains($0.offset) }.map(\.element)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let outShape = try outputShape(inputs.map(\.shape))
        let (k, n) = try kept(inputs[0].shape)
        var r = try inputs[0].summed(toShape: k)
        if operation == .mean && n > 0 {
            let inv = 1 / Float(n)
            r.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= inv } }
        }
        return try r.reshaped(outShape)
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let (k, n) = try kept(inputs[0].shape)
        let g = try cotangent.reshaped(k)
        let scale = operation == .mean ? 1 / Float(max(n, 1)) : 1
        let expanded = try Tensor.broadcasting(g, Tensor(shape: inputs[0].shape, repeating: scale), MultiplyFunction.self)
        return [expanded]
    }
}
