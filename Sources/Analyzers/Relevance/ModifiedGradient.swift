import ExplainCore

/// The stabiliser of every LRP denominator: `z + ε·sign(z)` with `sign(0) = +1`.
@inline(__always)
func stabilize(_ z: Float, _ epsilon: Float) -> Float { z >= 0 ? z + epsilon : z - epsilon }

/// How one term of a modified-gradient rule transforms the layer input.
public enum InputModifier: Sendable, CustomStringConvertible {
    case identity
    /// `max(x, 0)`
    case positive
    /// `min(x, 0)`
    case negative
    /// All ones (Flat, WSquare): the relevance spreads by weights alone.
    case ones
    /// A fixed tensor broadcast to the input (ZBox bounds, scalar or per channel).
    case constant(Tensor)

    public var description: String {
        switch self {
        case .identity: "x"
        case .positive: "x⁺"
        case .negative: "x⁻"
        case .ones: "1"
        case .constant(let t): t.count == 1 ? "\(t.scalars[0])" : "c\(Shape.format(t.shape))"
        }
    }

    func apply(_ x: Tensor) throws -> Tensor {
        switch self {
        case .identity: return x
        case .positive, .negative:
            let positive: Bool = { if case .positive = self { return true } else { return false } }()
            return Tensor(shape: x.shape) { out in
                x.withUnsafeBufferPointer { p in
                    for i in 0..<p.count { out[i] = positive ? (p[i] > 0 ? p[i] : 0) : (p[i] < 0 ? p[i] : 0) }
                }
            }
        case .ones: return Tensor(shape: x.shape, repeating: 1)
        case .constant(let c): return try Tensor.broadcasting(Tensor(shape: x.shape), c, AddFunction.self)
        }
    }
}

/// One term `sign · W'(m(x)) + b'` of a modified-gradient rule: an input modifier and a copy of
/// the layer with a modified weight and bias (prepared once per binding).
///
/// A convolution term keeps two forms of its layer: `layer` (the model's algorithm, Winograd for
/// large 3×3 layers) for the forward product `W' m(x)` and, when `TransposedProduct` finds the
/// ratios well-scaled, the transposed one; `backwardLayer` (im2col) for transposed products whose
/// ratios are not (a vanishing denominator: see `TransposedProduct`).
public struct ModifiedTerm: Sendable {
    public var input: InputModifier
    /// The modified layer, for the forward product.
    public var layer: any AffineLayer
    /// The same layer as im2col, for transposed products that must be exact per term.
    public var backwardLayer: any AffineLayer
    public var sign: Float

    public init(_ input: InputModifier, _ layer: any AffineLayer, sign: Float = 1) {
        self.input = input
        self.layer = layer
        self.backwardLayer = exact(layer)
        self.sign = sign
    }

    /// Whether the term's layer is a convolution computed as Winograd.
    public var isWinograd: Bool { (layer as? Conv2D)?.isWinograd ?? false }
}

/// The layer computed without Winograd (a convolution as im2col; other layers as they are).
func exact(_ layer: any AffineLayer) -> any AffineLayer { (layer as? Conv2D)?.with(algorithm: .im2col) ?? layer }

/// The generic modified-gradient step shared by most LRP rules:
///
///     z = Σ_k sign_k · (W'_k m_k(x) + b'_k),   s = R / stab(z),   R_in = Σ_k sign_k · m_k(x) ⊙ (W'_kᵀ s)
///
/// `mask`, when given, zeroes the incoming relevance where it is false (Gamma's output-sign split).
/// `denominator`, when given, replaces the computed `z` (e.g. the layer's own output for Epsilon).
func modifiedGradient(x: Tensor, relevance: Tensor, terms allTerms: [ModifiedTerm], epsilon: Float,
                      denominator: Tensor? = nil, mask: (Kernels.SignMask, Tensor)? = nil,
                      inputRange: (min: Float, max: Float)? = nil) throws -> Tensor {
    // A term whose modified input is all zero and that has no bias contributes nothing (e.g. the
    // x⁻ terms of z⁺/αβ/γ after a Relu): skip its forward and backward products.
    // Callers with several groups pass the range once; terms without x⁺/x⁻ do not need it.
    let signed = allTerms.contains { t in
        switch t.input { case .positive, .negative: true; default: false }
    }
    let (lowest, highest) = inputRange ?? (signed ? RelevanceKernels.minMax(x) : (0, 0))
    let hasPositive = highest > 0, hasNegative = lowest < 0
    let terms = allTerms.filter { t in
        guard t.layer.bias == nil else { return true }
        switch t.input {
        case .positive: return hasPositive
        case .negative: return hasNegative
        default: return true
        }
    }
    let inputs = try terms.map { t -> Tensor in
        if case .positive = t.input, !hasNegative { return x }   // x⁺ = x
        return try t.input.apply(x)
    }
    var z: Tensor
    if let denominator {
        z = denominator
    } else if let first = terms.first {
        // The first term's output becomes the accumulator (a single term is its own denominator).
        z = try first.layer.forward([inputs[0]])
        if first.sign != 1 { RelevanceKernels.scale(&z, by: first.sign) }
        for (t, m) in zip(terms, inputs).dropFirst() { RelevanceKernels.addScaled(&z, try t.layer.forward([m]), sign: t.sign) }
    } else {
        z = Tensor(shape: relevance.shape)
    }
    guard z.shape == relevance.shape else {
        throw ExplainError.shape("relevance \(Shape.format(relevance.shape)) does not match the layer output \(Shape.format(z.shape))")
    }
    var s = consume z   // the ratio is written over z's storage
    let stats = RelevanceKernels.ratio(relevance, overwriting: &s, epsilon: epsilon, mask: mask?.0 ?? .all, by: mask?.1)
    let plan = TransposedProduct.plan(&s, stats: stats, winograd: !terms.isEmpty && terms.allSatisfy(\.isWinograd))
    var result: Tensor? = nil
    for (t, m) in zip(terms, inputs) {
        // The first term's product, multiplied by its input on the way, becomes the accumulator.
        var g = try TransposedProduct.product(t, plan: plan, inputShape: x.shape, cotangent: s, multipliedBy: result == nil ? m : nil)
        if result == nil {
            if t.sign != 1 { RelevanceKernels.scale(&g, by: t.sign) }
            result = g
        } else {
            RelevanceKernels.accumulate(&result!, m, g, sign: t.sign)
        }
    }
    return result ?? Tensor(shape: x.shape)
}

/// Element-wise maps of weights and biases used to prepare rule terms.
enum ParameterMap {
    static func map(_ t: Tensor, _ f: (Float) -> Float) -> Tensor {
        Tensor(shape: t.shape) { out in t.withUnsafeBufferPointer { p in for i in 0..<p.count { out[i] = f(p[i]) } } }
    }
    static func positive(_ t: Tensor) -> Tensor { map(t) { $0 > 0 ? $0 : 0 } }
    static func negative(_ t: Tensor) -> Tensor { map(t) { $0 < 0 ? $0 : 0 } }
    static func squared(_ t: Tensor) -> Tensor { map(t) { $0 * $0 } }
    static func ones(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, repeating: 1) }
    /// `t + γ · f(t)`.
    static func plus(_ t: Tensor, _ gamma: Float, _ f: (Tensor) -> Tensor) -> Tensor {
        let g = f(t)
        return Tensor(shape: t.shape) { out in
            t.withUnsafeBufferPointer { p in g.withUnsafeBufferPointer { q in for i in 0..<p.count { out[i] = p[i] + gamma * q[i] } } }
        }
    }
}
