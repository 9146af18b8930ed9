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
public struct ModifiedTerm: Sendable {
    public var input: InputModifier
    public var layer: any AffineLayer
    public var sign: Float

    public init(_ input: InputModifier, _ layer: any AffineLayer, sign: Float = 1) {
        self.input = input
        self.layer = layer
        self.sign = sign
    }
}

/// The generic modified-gradient step shared by most LRP rules:
///
///     z = Σ_k sign_k · (W'_k m_k(x) + b'_k),   s = R / stab(z),   R_in = Σ_k sign_k · m_k(x) ⊙ (W'_kᵀ s)
///
/// `mask`, when given, zeroes the incoming relevance where it is false (Gamma's output-sign split).
/// `denominator`, when given, replaces the computed `z` (e.g. the layer's own output for Epsilon).
func modifiedGradient(x: Tensor, relevance: Tensor, terms allTerms: [ModifiedTerm], epsilon: Float,
                      denominator: Tensor? = nil, mask: ((Float) -> Bool, Tensor)? = nil) throws -> Tensor {
    // A term whose modified input is all zero and that has no bias contributes nothing (e.g. the
    // x⁻ terms of z⁺/αβ/γ after a Relu): skip its forward and backward products.
    let (hasPositive, hasNegative) = x.withUnsafeBufferPointer { p -> (Bool, Bool) in
        var pos = false, neg = false
        for v in p { if v > 0 { pos = true } else if v < 0 { neg = true }; if pos && neg { break } }
        return (pos, neg)
    }
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
    } else {
        z = Tensor(shape: relevance.shape)
        for (t, m) in zip(terms, inputs) {
            let y = try t.layer.forward([m])
            z.withUnsafeMutableBufferPointer { pz in
                y.withUnsafeBufferPointer { py in for i in 0..<pz.count { pz[i] += t.sign * py[i] } }
            }
        }
    }
    guard z.shape == relevance.shape else {
        throw ExplainError.shape("relevance \(Shape.format(relevance.shape)) does not match the layer output \(Shape.format(z.shape))")
    }
    let s = Tensor(shape: relevance.shape) { out in
        relevance.withUnsafeBufferPointer { pr in
            z.withUnsafeBufferPointer { pz in
                if let (keep, reference) = mask {
                    reference.withUnsafeBufferPointer { pm in
                        for i in 0..<out.count { out[i] = keep(pm[i]) ? pr[i] / stabilize(pz[i], epsilon) : 0 }
                    }
                } else {
                    for i in 0..<out.count { out[i] = pr[i] / stabilize(pz[i], epsilon) }
                }
            }
        }
    }
    var result = Tensor(shape: x.shape)
    if terms.isEmpty { return result }
    for (t, m) in zip(terms, inputs) {
        let g = try t.layer.inputGradient(inputShape: x.shape, cotangent: s, weight: nil)
        result.withUnsafeMutableBufferPointer { pr in
            g.withUnsafeBufferPointer { pg in
                m.withUnsafeBufferPointer { pm in
                    for i in 0..<pr.count { pr[i] += t.sign * pm[i] * pg[i] }
                }
            }
        }
    }
    return result
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

/// A copy of an affine layer with a new weight and bias.
func modified(_ layer: any AffineLayer, weight: Tensor, bias: Tensor?) throws -> any AffineLayer {
    try layer.with(weight: weight, bias: bias)
}
