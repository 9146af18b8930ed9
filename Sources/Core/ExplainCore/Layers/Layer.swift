/// The kind of a layer: a growable, printable identifier (`conv2d`, `dense`, `relu`, …).
///
/// A struct rather than an enum, so that plugin modules can define layers of their own kinds.
public struct LayerKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let conv2d = LayerKind(rawValue: "conv2d")
    public static let dense = LayerKind(rawValue: "dense")
    public static let matmul = LayerKind(rawValue: "matmul")
    public static let maxPool = LayerKind(rawValue: "max_pool")
    public static let averagePool = LayerKind(rawValue: "average_pool")
    public static let globalAveragePool = LayerKind(rawValue: "global_average_pool")
    public static let batchNorm = LayerKind(rawValue: "batch_norm")
    public static let layerNorm = LayerKind(rawValue: "layer_norm")
    public static let relu = LayerKind(rawValue: "relu")
    public static let leakyRelu = LayerKind(rawValue: "leaky_relu")
    public static let sigmoid = LayerKind(rawValue: "sigmoid")
    public static let tanh = LayerKind(rawValue: "tanh")
    public static let clip = LayerKind(rawValue: "clip")
    public static let hardSigmoid = LayerKind(rawValue: "hard_sigmoid")
    public static let hardSwish = LayerKind(rawValue: "hard_swish")
    public static let elu = LayerKind(rawValue: "elu")
    public static let selu = LayerKind(rawValue: "selu")
    public static let softplus = LayerKind(rawValue: "softplus")
    public static let erf = LayerKind(rawValue: "erf")
    public static let power = LayerKind(rawValue: "power")
    public static let gelu = LayerKind(rawValue: "gelu")
    public static let conv1d = LayerKind(rawValue: "conv1d")
    public static let embedding = LayerKind(rawValue: "embedding")
    public static let sqrt = LayerKind(rawValue: "sqrt")
    public static let gather = LayerKind(rawValue: "gather")
    public static let slice = LayerKind(rawValue: "slice")
    public static let softmax = LayerKind(rawValue: "softmax")
    public static let add = LayerKind(rawValue: "add")
    public static let sub = LayerKind(rawValue: "sub")
    public static let mul = LayerKind(rawValue: "mul")
    public static let div = LayerKind(rawValue: "div")
    public static let concat = LayerKind(rawValue: "concat")
    public static let flatten = LayerKind(rawValue: "flatten")
    public static let reshape = LayerKind(rawValue: "reshape")
    public static let transpose = LayerKind(rawValue: "transpose")
    public static let squeeze = LayerKind(rawValue: "squeeze")
    public static let unsqueeze = LayerKind(rawValue: "unsqueeze")
    public static let identity = LayerKind(rawValue: "identity")
    public static let pad = LayerKind(rawValue: "pad")
    public static let reduceMean = LayerKind(rawValue: "reduce_mean")
    public static let reduceSum = LayerKind(rawValue: "reduce_sum")
    public static let constant = LayerKind(rawValue: "constant")
}

/// One operation of a graph: a forward function and its plain pullback.
///
/// Parameters (weights, biases, constant operands) live inside the layer; the graph carries only
/// the runtime values. Every layer checks its input shapes and throws `ExplainError` on mismatch.
public protocol Layer: Sendable, CustomStringConvertible {
    /// What kind of operation this is.
    var kind: LayerKind { get }
    /// How many runtime inputs `forward` takes.
    var arity: Int { get }
    /// The output shape for the given input shapes; throws if they do not fit this layer.
    func outputShape(_ inputShapes: [[Int]]) throws -> [Int]
    /// Computes the output for a batch.
    func forward(_ inputs: [Tensor]) throws -> Tensor
    /// The vector-Jacobian product: given the inputs, the output and the gradient with respect to
    /// the output, returns the gradient with respect to each input (one tensor per input).
    func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor]
    /// The number of learned parameters (weights, biases, statistics).
    var parameterCount: Int { get }
    /// Floating-point operations of one forward pass (multiply-add = 2), or 0 when not counted.
    func flops(_ inputShapes: [[Int]]) -> Double
    /// Whether `pullback` reads the values of its inputs (false: only their shapes).
    var pullbackReadsInputs: Bool { get }
    /// Whether `pullback` reads the value of its output (false: only its shape).
    var pullbackReadsOutput: Bool { get }
}

extension Layer {
    public var parameterCount: Int { 0 }
    public func flops(_ inputShapes: [[Int]]) -> Double { 0 }
    public var pullbackReadsInputs: Bool { true }
    public var pullbackReadsOutput: Bool { true }

    /// Checks the number of inputs (used by implementations).
    public func expectInputs(_ shapes: [[Int]], _ n: Int) throws {
        guard shapes.count == n else {
            throw ExplainError.argument("\(kind) expects \(n) input\(n == 1 ? "" : "s"), got \(shapes.count)")
        }
    }

    /// Checks that the cotangent has the output's shape (used by implementations).
    public func expectCotangent(_ cotangent: Tensor, _ output: Tensor) throws {
        guard cotangent.shape == output.shape else {
            throw ExplainError.shape("\(kind) pullback: cotangent \(Shape.format(cotangent.shape)) does not match output \(Shape.format(output.shape))")
        }
    }
}

/// A layer with a weight and an optional bias (Conv, Dense): the layers LRP rules modify.
public protocol AffineLayer: Layer {
    /// The weight, in the layer's own layout (Conv: `(M, C/groups, kH, kW)`, Dense: `(out, in)`).
    var weight: Tensor { get }
    /// The bias, shape `(M,)` / `(out,)`, or nil.
    var bias: Tensor? { get }
    /// A copy of this layer with another weight and bias (same shapes); never mutates in place.
    func with(weight: Tensor, bias: Tensor?) throws -> Self
    /// The transposed product `Wᵀ · cotangent`, shaped like the input, optionally with another
    /// weight of the same shape (used by LRP rules with modified weights).
    func inputGradient(inputShape: [Int], cotangent: Tensor, weight: Tensor?) throws -> Tensor
}

/// A one-input layer whose pullback can add its input gradient to one that is already there: the
/// backward engine uses it where a value feeds several nodes (a residual block's input), saving the
/// separate pass that sums the contributions.
public protocol AccumulatingPullback: Layer {
    /// `gradient += pullback(inputs:output:cotangent:)[0]` (up to rounding); `gradient` has the
    /// input's shape.
    func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, adding gradient: inout Tensor) throws
}

/// A one-input layer whose pullback can apply the mask of the Relu that produced its input, while
/// each part of the result is still in cache: the backward engine then skips that Relu's pass.
public protocol ReluMaskingPullback: Layer {
    /// `pullback(inputs:output:cotangent:)[0]` zeroed where `mask ≤ 0`; `mask` is the Relu's output
    /// (this layer's input), so the result is the gradient at the Relu's input.
    func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, keepingWherePositive mask: Tensor) throws -> Tensor
    /// The same with the Relu's output kept only as its mask (this layer's input is then a
    /// placeholder: layers that read their input values need not implement it).
    func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, keepingWhere mask: PositiveMask) throws -> Tensor
}

extension ReluMaskingPullback {
    /// The plain pullback, then the mask (a separate pass).
    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor, keepingWhere mask: PositiveMask) throws -> Tensor {
        guard let first = try pullback(inputs: inputs, output: output, cotangent: cotangent).first else {
            throw ExplainError.argument("\(kind) pullback returned no gradient")
        }
        var g = first
        try mask.keep(&g)
        return g
    }
}

/// A one-input layer whose pullback can run from a small record taken during the forward pass
/// instead of its input's values (max pooling: each window's winner), so the forward pass of an
/// analysis need not keep the input.
public protocol RecordingPullback: Layer {
    /// Whether this layer (its geometry) can record; false: it reads its input as usual.
    var canRecord: Bool { get }
    /// The output, and what `pullback(record:…)` needs.
    func forwardRecording(_ input: Tensor) throws -> (output: Tensor, record: any Sendable)
    /// The gradient at the input from the record; with `keepingWherePositive`, also with the mask of
    /// the Relu that produced the input applied (the fused form of `ReluMaskingPullback`).
    func pullback(record: any Sendable, cotangent: Tensor, keepingWherePositive: Bool) throws -> Tensor
}

/// A one-input layer whose output has its input's shape and can overwrite it. The executor uses
/// `forwardInPlace` when nothing else needs the input any more, saving an allocation and a pass
/// over memory (activations, batch norm).
public protocol InPlaceLayer: Layer {
    /// Replaces `x` by the layer's output; the result must equal `forward([x])`.
    func forwardInPlace(_ x: inout Tensor) throws
}

/// A one-input layer whose pullback can overwrite the incoming cotangent (element-wise layers).
/// The backward engine uses it when it owns the cotangent, saving an allocation per node.
public protocol InPlacePullback: Layer {
    /// Replaces `cotangent` by the gradient with respect to the input; must equal `pullback`.
    func pullbackInPlace(inputs: [Tensor], output: Tensor, cotangent: inout Tensor) throws
}
