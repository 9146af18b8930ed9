import ExplainCore

/// DeepLIFT's RevealCancel rule (Shrikumar et al. 2017, §3.5.3) at a Conv/Dense node whose output
/// feeds a Relu directly (the Relu passes its multiplier through unchanged, `ThroughRule`).
///
/// The change of the layer's output is split into the part from positive and from negative terms,
/// `Δz⁺ = Σ_i max(w_i Δx_i, 0)`, `Δz⁻ = Σ_i min(w_i Δx_i, 0)`, and the Relu's change is shared out
/// between them by averaging over the two orders in which they can arrive:
///
///     Δy⁺ = ½ [f(z0 + Δz⁺) − f(z0)] + ½ [f(z0 + Δz⁻ + Δz⁺) − f(z0 + Δz⁻)],   m⁺ = Δy⁺ / Δz⁺
///     Δy⁻ = ½ [f(z0 + Δz⁻) − f(z0)] + ½ [f(z0 + Δz⁺ + Δz⁻) − f(z0 + Δz⁺)],   m⁻ = Δy⁻ / Δz⁻
///
/// (the ordinary derivative at z where |Δz^±| < eps). An input whose term `w_ji Δx_i` is positive
/// receives `m · m⁺_j w_ji`, a negative one `m · m⁻_j w_ji`; for `Δx_i = 0` the mean of both. Since
/// `Δy⁺ + Δy⁻ = Δy`, summation to delta holds exactly.
public struct RevealCancelRule: Rule {
    public let eps: Float

    public init(eps: Float = 1e-10) throws {
        self.eps = try RescaleRule.checked(eps, "reveal_cancel")
    }

    public var description: String { "reveal_cancel" }
    public func accepts(_ layer: any Layer) -> Bool { layer is any AffineLayer }

    /// The layer with `W⁺` and with `W⁻` (no bias: biases cancel in differences).
    struct Split: @unchecked Sendable {
        let positive: any AffineLayer
        let negative: any AffineLayer
    }

    public func prepare(_ layer: any Layer) throws -> (any Sendable)? {
        guard let affine = layer as? any AffineLayer else { return nil }
        let w = affine.weight
        return Split(positive: try affine.with(weight: Tensor(shape: w.shape) { p in for i in 0..<p.count { p[i] = max(w.scalars[i], 0) } }, bias: nil),
                     negative: try affine.with(weight: Tensor(shape: w.shape) { p in for i in 0..<p.count { p[i] = min(w.scalars[i], 0) } }, bias: nil))
    }

    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let split = site.state as? Split else {
            throw ExplainError(.invalidArgument, "reveal_cancel applies to Conv and Dense layers", node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        let ref = try site.requireReference(for: self)
        let x = site.inputs[0], z = site.output
        let dx = try x.minus(baseline: ref.inputs[0])
        let up = dx.clamped(positive: true), down = dx.clamped(positive: false)
        // Δz⁺ = W⁺(Δx)⁺ + W⁻(Δx)⁻, Δz⁻ = W⁻(Δx)⁺ + W⁺(Δx)⁻
        let dzPlus = try split.positive.forward([up]).adding(try split.negative.forward([down]))
        let dzMinus = try split.negative.forward([up]).adding(try split.positive.forward([down]))
        let z0 = ref.output, n = z.count, per = z0.count
        guard incoming.count == n, dzPlus.count == n, per == n || n % max(per, 1) == 0 else {
            throw ExplainError.shape("reveal_cancel: reference \(Shape.format(z0.shape)) does not fit the output \(Shape.format(z.shape))")
                .at(node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        let eps = self.eps
        @inline(__always) func relu(_ v: Float) -> Float { v > 0 ? v : 0 }
        var sPlus = Tensor(shape: z.shape), sMinus = Tensor(shape: z.shape)
        sPlus.withUnsafeMutableBufferPointer { sp in sMinus.withUnsafeMutableBufferPointer { sm in
            for i in 0..<n {
                let (a, b, base, m) = (dzPlus.scalars[i], dzMinus.scalars[i], z0.scalars[i % per], incoming.scalars[i])
                let gradient: Float = z.scalars[i] > 0 ? 1 : 0
                let dyPlus = 0.5 * (relu(base + a) - relu(base)) + 0.5 * (relu(base + b + a) - relu(base + b))
                let dyMinus = 0.5 * (relu(base + b) - relu(base)) + 0.5 * (relu(base + a + b) - relu(base + a))
                sp[i] = m * (abs(a) >= eps ? dyPlus / a : gradient)
                sm[i] = m * (abs(b) >= eps ? dyMinus / b : gradient)
            }
        } }
        // Positive terms (w > 0, Δx > 0 or w < 0, Δx < 0) go through m⁺, negative ones through m⁻.
        let affine = split.positive, shape = x.shape
        let forPositive = try affine.inputGradient(inputShape: shape, cotangent: sPlus, weight: split.positive.weight)
            .adding(try affine.inputGradient(inputShape: shape, cotangent: sMinus, weight: split.negative.weight))
        let forNegative = try affine.inputGradient(inputShape: shape, cotangent: sPlus, weight: split.negative.weight)
            .adding(try affine.inputGradient(inputShape: shape, cotangent: sMinus, weight: split.positive.weight))
        return [Tensor(shape: shape) { out in
            for i in 0..<out.count {
                let d = dx.scalars[i]
                out[i] = d > 0 ? forPositive.scalars[i] : d < 0 ? forNegative.scalars[i] : 0.5 * (forPositive.scalars[i] + forNegative.scalars[i])
            }
        }]
    }
}

/// Passes the incoming multiplier through unchanged (a Relu whose producer applies RevealCancel).
public struct ThroughRule: Rule {
    public init() {}
    public var description: String { "through" }
    public func accepts(_ layer: any Layer) -> Bool { layer is any ElementwiseActivation }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, false) }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] { [incoming] }
}

extension Tensor {
    /// The positive (`max(x, 0)`) or negative (`min(x, 0)`) part.
    func clamped(positive: Bool) -> Tensor {
        Tensor(shape: shape) { out in
            withUnsafeBufferPointer { p in for i in 0..<out.count { out[i] = positive ? max(p[i], 0) : min(p[i], 0) } }
        }
    }
}
