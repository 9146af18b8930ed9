import Foundation

/// `max(0, min(1, α x + β))` (ONNX HardSigmoid; PyTorch's Hardsigmoid exports α = 1/6, β = ½).
public struct HardSigmoid: ElementwiseActivation {
    public let alpha: Float
    public let beta: Float
    public init(alpha: Float = 0.2, beta: Float = 0.5) { (self.alpha, self.beta) = (alpha, beta) }
    public var kind: LayerKind { .hardSigmoid }
    public var description: String { "HardSigmoid(α=\(alpha), β=\(beta))" }
    @inline(__always) public func value(_ x: Float) -> Float { max(0, min(1, alpha * x + beta)) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float {
        let z = alpha * x + beta
        return z > 0 && z < 1 ? alpha : 0
    }
}

/// `x · max(0, min(1, x/6 + ½))` (ONNX HardSwish, MobileNetV3).
public struct HardSwish: ElementwiseActivation {
    public init() {}
    public var kind: LayerKind { .hardSwish }
    public var description: String { "HardSwish" }
    @inline(__always) public func value(_ x: Float) -> Float { x * max(0, min(1, x / 6 + 0.5)) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float {
        x <= -3 ? 0 : (x >= 3 ? 1 : x / 3 + 0.5)
    }
}

/// `x` for `x > 0`, else `α (eˣ − 1)` (ONNX Elu).
public struct Elu: ElementwiseActivation {
    public let alpha: Float
    public init(alpha: Float = 1) { self.alpha = alpha }
    public var kind: LayerKind { .elu }
    public var description: String { "Elu(α=\(alpha))" }
    @inline(__always) public func value(_ x: Float) -> Float { x > 0 ? x : alpha * (Foundation.exp(x) - 1) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { x > 0 ? 1 : alpha * Foundation.exp(x) }
}

/// `γ x` for `x > 0`, else `γ α (eˣ − 1)` (ONNX Selu; defaults of the ONNX specification).
public struct Selu: ElementwiseActivation {
    public let alpha: Float
    public let gamma: Float
    public init(alpha: Float = 1.67326319217681884765625, gamma: Float = 1.05070102214813232421875) { (self.alpha, self.gamma) = (alpha, gamma) }
    public var kind: LayerKind { .selu }
    public var description: String { "Selu(α=\(alpha), γ=\(gamma))" }
    @inline(__always) public func value(_ x: Float) -> Float { x > 0 ? gamma * x : gamma * alpha * (Foundation.exp(x) - 1) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { x > 0 ? gamma : gamma * alpha * Foundation.exp(x) }
}

/// `log(1 + eˣ)` (ONNX Softplus), computed without overflow.
public struct Softplus: ElementwiseActivation {
    public init() {}
    public var kind: LayerKind { .softplus }
    public var description: String { "Softplus" }
    @inline(__always) public func value(_ x: Float) -> Float { max(x, 0) + Foundation.log1p(Foundation.exp(-abs(x))) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float {
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : { let e = Foundation.exp(x); return e / (1 + e) }()
    }
}

/// `x^p` for a constant exponent (ONNX Pow with a constant exponent, e.g. the cube in the tanh
/// GELU of GPT-2 and Hugging Face's `gelu_new`); `0^p` for `p < 1` has derivative 0 there.
public struct Power: ElementwiseActivation {
    public let exponent: Float
    public init(exponent: Float) { self.exponent = exponent }
    public var kind: LayerKind { .power }
    public var description: String { "Power(\(exponent))" }
    @inline(__always) public func value(_ x: Float) -> Float {
        exponent == 2 ? x * x : exponent == 3 ? x * x * x : Foundation.pow(x, exponent)
    }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float {
        switch exponent {
        case 0: return 0
        case 1: return 1
        case 2: return 2 * x
        case 3: return 3 * x * x
        default: return x == 0 && exponent < 1 ? 0 : exponent * Foundation.pow(x, exponent - 1)
        }
    }
}

/// The error function (ONNX Erf; PyTorch's exact GELU exports `x · ½ (1 + erf(x / √2))`).
public struct Erf: ElementwiseActivation {
    public init() {}
    public var kind: LayerKind { .erf }
    public var description: String { "Erf" }
    @inline(__always) public func value(_ x: Float) -> Float { Foundation.erf(x) }
    @inline(__always) public func derivative(x: Float, y: Float) -> Float { 1.1283791670955126 * Foundation.exp(-x * x) }   // 2/√π e^(−x²)
}
