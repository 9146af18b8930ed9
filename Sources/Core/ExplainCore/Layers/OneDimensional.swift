/// The 1-D forms of convolution and max pooling (`(N, C, L)` inputs, ONNX Conv / MaxPool with one
/// spatial axis, PyTorch's `Conv1d` / `max_pool1d`), run as their 2-D layers on `(N, C, 1, L)`.
enum OneDimensional {
    /// `(N, C, L)` as `(N, C, 1, L)`.
    static func lift(_ shape: [Int]) throws -> [Int] {
        guard shape.count == 3 else { throw ExplainError.shape("a 1-D layer expects (N, C, L), got \(Shape.format(shape))") }
        return [shape[0], shape[1], 1, shape[2]]
    }

    /// `(N, C, 1, L)` as `(N, C, L)`.
    static func lower(_ shape: [Int]) -> [Int] { [shape[0], shape[1], shape[3]] }

    /// `layer`'s 2-D forward on `x` lifted to `(N, C, 1, L)`, lowered back.
    static func forward(_ layer: any Layer, _ x: Tensor) throws -> Tensor {
        let y = try layer.forward([try x.reshaped(try lift(x.shape))])
        return try y.reshaped(lower(y.shape))
    }
}

/// 1-D convolution `(N, C, L) → (N, M, L')`: a `Conv2D` with kernel `(1, k)` on `(N, C, 1, L)`.
/// Affine, so the LRP rules apply to it as to its 2-D form.
public struct Conv1D: AffineLayer {
    public let conv: Conv2D

    /// `weight (M, C/groups, k)`; `pads` (begin, end).
    public init(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, pads: (Int, Int) = (0, 0), dilation: Int = 1, groups: Int = 1) throws {
        guard weight.rank == 3 else { throw ExplainError.shape("conv1d weight must be (M, C/groups, k), got \(Shape.format(weight.shape))") }
        let w = try weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2]])
        conv = try Conv2D(weight: w, bias: bias, strides: (1, stride), pads: (0, pads.0, 0, pads.1), dilations: (1, dilation), groups: groups,
                          algorithm: .im2col)
    }

    init(conv: Conv2D) { self.conv = conv }

    public var weight: Tensor { (try? conv.weight.reshaped([conv.weight.shape[0], conv.weight.shape[1], conv.weight.shape[3]])) ?? conv.weight }
    public var bias: Tensor? { conv.bias }
    public var kind: LayerKind { .conv1d }
    public var arity: Int { 1 }
    public var parameterCount: Int { conv.parameterCount }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String {
        let w = conv.weight.shape
        return "Conv1D(\(w[1] * conv.groups)→\(w[0]), k\(w[3]) s\(conv.window.strides.1) p\(conv.window.pads.left),\(conv.window.pads.right))"
    }

    public func with(weight: Tensor, bias: Tensor?) throws -> Conv1D {
        Conv1D(conv: try conv.with(weight: try weight.reshaped(conv.weight.shape), bias: bias))
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        return OneDimensional.lower(try conv.outputShape([try OneDimensional.lift(inputShapes[0])]))
    }

    public func flops(_ inputShapes: [[Int]]) -> Double {
        (try? OneDimensional.lift(inputShapes[0])).map { conv.flops([$0]) } ?? 0
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        return try OneDimensional.forward(conv, inputs[0])
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [try inputGradient(inputShape: inputs[0].shape, cotangent: cotangent, weight: nil)]
    }

    public func inputGradient(inputShape: [Int], cotangent: Tensor, weight override: Tensor?) throws -> Tensor {
        let lifted = try OneDimensional.lift(inputShape)
        let g = try conv.inputGradient(inputShape: lifted, cotangent: try cotangent.reshaped(try OneDimensional.lift(cotangent.shape)),
                                       weight: try override.map { try $0.reshaped(conv.weight.shape) })
        return try g.reshaped(inputShape)
    }
}

/// 1-D max pooling `(N, C, L) → (N, C, L')`: a `MaxPool2D` with window `(1, k)` on `(N, C, 1, L)`.
public struct MaxPool1D: Layer {
    public let pool: MaxPool2D

    public init(kernel: Int, stride: Int? = nil, pads: (Int, Int) = (0, 0), dilation: Int = 1, ceilMode: Bool = false) throws {
        pool = try MaxPool2D(kernel: (1, kernel), strides: (1, stride ?? kernel), pads: (0, pads.0, 0, pads.1), dilations: (1, dilation),
                             ceilMode: ceilMode)
    }

    public var kind: LayerKind { .maxPool }
    public var arity: Int { 1 }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "MaxPool1D(k\(pool.window.kernel.1) s\(pool.window.strides.1))" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        return OneDimensional.lower(try pool.outputShape([try OneDimensional.lift(inputShapes[0])]))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        return try OneDimensional.forward(pool, inputs[0])
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = try inputs[0].reshaped(try OneDimensional.lift(inputs[0].shape))
        let y = try output.reshaped(try OneDimensional.lift(output.shape))
        let g = try pool.pullback(inputs: [x], output: y, cotangent: try cotangent.reshaped(y.shape))[0]
        return [try g.reshaped(inputs[0].shape)]
    }
}
