import ExplainCore

/// Shared plumbing of the LRP rules for affine layers (Conv, Dense): they accept `AffineLayer`s and
/// prepare their modified-weight terms once per binding.
public protocol AffineRule: Rule {
    /// The term groups, prepared for one layer.
    func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]]
}

extension AffineRule {
    public func accepts(_ layer: any Layer) -> Bool { layer is any AffineLayer }

    public func prepare(_ layer: any Layer) throws -> (any Sendable)? {
        guard let affine = layer as? any AffineLayer else {
            throw ExplainError(.invalidArgument, "rule \(self) needs a layer with weights (Conv, Dense), got \(layer)")
        }
        return try terms(for: affine)
    }

    func prepared(_ site: Site) throws -> [[ModifiedTerm]] {
        guard let t = site.state as? [[ModifiedTerm]] else {
            throw ExplainError(.invalidArgument, "rule \(self) was not prepared for node '\(site.node.name)'")
        }
        return t
    }
}

func bias(_ layer: any AffineLayer, ignored: Bool) -> Tensor? { ignored ? nil : layer.bias }

/// LRP-ε: `R_i = x_i Σ_j w_ij R_j / stab_ε(z_j)` with `z = Wx + b` (the layer output).
/// `ignoreBias` drops the bias from `z` (iNNvestigate's `_IB` variants).
public struct EpsilonRule: AffineRule {
    public let epsilon: Float
    public let ignoreBias: Bool
    public init(epsilon: Float = 1e-6, ignoreBias: Bool = false) throws {
        guard epsilon >= 0, epsilon.isFinite else { throw ExplainError(.invalidArgument, "epsilon must be finite and ≥ 0, got \(epsilon)") }
        self.epsilon = epsilon
        self.ignoreBias = ignoreBias
    }
    public var description: String { "epsilon(\(epsilon)\(ignoreBias ? ", ignore bias" : ""))" }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] {
        [[ModifiedTerm(.identity, ignoreBias ? try layer.with(weight: layer.weight, bias: nil) : layer)]]
    }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let t = try prepared(site)[0]
        // With the bias kept, z is exactly the layer's forward output: reuse it.
        return [try modifiedGradient(x: site.inputs[0], relevance: incoming, terms: t, epsilon: epsilon,
                                     denominator: ignoreBias ? nil : site.output)]
    }
}

/// LRP-αβ (and z⁺ = α1β0): positive and negative contributions normalised separately,
/// `R = α·R⁺ − β·R⁻`, with `α − β = 1`.
public struct AlphaBetaRule: AffineRule {
    public let alpha: Float
    public let beta: Float
    public let ignoreBias: Bool
    public let stabilizer: Float
    public init(alpha: Float, beta: Float, ignoreBias: Bool = false, stabilizer: Float = 1e-6) throws {
        guard alpha.isFinite, beta.isFinite, beta >= 0, abs(alpha - beta - 1) < 1e-6 else {
            throw ExplainError(.invalidArgument, "alpha-beta rule needs alpha − beta = 1 and beta ≥ 0, got alpha \(alpha), beta \(beta)")
        }
        self.alpha = alpha
        self.beta = beta
        self.ignoreBias = ignoreBias
        self.stabilizer = stabilizer
    }
    public var description: String { "alpha_beta(\(alpha), \(beta)\(ignoreBias ? ", ignore bias" : ""))" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, false) }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] {
        let wp = ParameterMap.positive(layer.weight), wn = ParameterMap.negative(layer.weight)
        let b = bias(layer, ignored: ignoreBias)
        // z⁺ = W⁺x⁺ + W⁻x⁻ + b⁺ ;  z⁻ = W⁻x⁺ + W⁺x⁻ + b⁻
        let positive = [ModifiedTerm(.positive, try layer.with(weight: wp, bias: b.map(ParameterMap.positive))),
                        ModifiedTerm(.negative, try layer.with(weight: wn, bias: nil))]
        // z⁻ is computed per term (im2col), never with Winograd: the relevance it divides is that of
        // z, not z⁻, so where z⁻ nearly vanishes a rounding error relative to the tile (Winograd's)
        // rather than to z⁻ itself (a sum of same-signed terms) would change the ratio itself.
        let negative = [ModifiedTerm(.positive, try exact(layer.with(weight: wn, bias: b.map(ParameterMap.negative)))),
                        ModifiedTerm(.negative, try exact(layer.with(weight: wp, bias: nil)))]
        guard beta != 0 else { return [positive] }
        // The third group, [W⁺; W⁻] stacked, serves the non-negative-input shortcut in `propagate`.
        return [positive, negative, try StackedLayer.make(layer, [wp, wn]).map { [ModifiedTerm(.positive, $0)] } ?? []]
    }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let groups = try prepared(site)
        let x = site.inputs[0], range = RelevanceKernels.range(of: x, at: site)
        if range.min >= 0, groups.count > 2, let stacked = groups[2].first, StackedLayer.fits(stacked.layer, input: x) {
            // x ≥ 0 (after a Relu): the x⁻ terms vanish, z⁺ = W⁺x + b⁺, z⁻ = W⁻x + b⁻, and
            // R_in = x ⊙ (W⁺ᵀ α R/z⁺ − W⁻ᵀ β R/z⁻) is one transposed product of the stacked weights.
            let zp = try groups[0][0].layer.forward([x]), zn = try groups[1][0].layer.forward([x])
            let ratios = RelevanceKernels.scaledRatiosStacked(incoming, zp, zn, scales: (alpha, -beta), epsilon: stabilizer,
                                                              blocks: StackedLayer.blocks(stacked.layer))
            return [try TransposedProduct.product(stacked, ratios: ratios, multipliedBy: x)]
        }
        var r = try modifiedGradient(x: x, relevance: incoming, terms: groups[0], epsilon: stabilizer, inputRange: range)
        if alpha != 1 { RelevanceKernels.scale(&r, by: alpha) }
        if groups.count > 1 {
            RelevanceKernels.addScaled(&r, try modifiedGradient(x: x, relevance: incoming, terms: groups[1], epsilon: stabilizer,
                                                                 inputRange: range), sign: -beta)
        }
        return [r]
    }
}

/// LRP-z⁺ (zennit `ZPlus`, generalised to signed inputs): identical to α1β0.
public struct ZPlusRule: AffineRule {
    let inner: AlphaBetaRule
    public init(ignoreBias: Bool = false, stabilizer: Float = 1e-6) throws {
        inner = try AlphaBetaRule(alpha: 1, beta: 0, ignoreBias: ignoreBias, stabilizer: stabilizer)
    }
    public var description: String { "z_plus\(inner.ignoreBias ? "(ignore bias)" : "")" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, false) }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] { try inner.terms(for: layer) }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] { try inner.propagate(incoming, at: site) }
}

/// iNNvestigate's fast z⁺ for non-negative inputs: `R_i = x_i Σ_j w⁺_ij R_j / stab(Σ_i w⁺_ij x_i)`, no bias.
public struct ZPlusFastRule: AffineRule {
    public let stabilizer: Float
    public init(stabilizer: Float = 1e-6) { self.stabilizer = stabilizer }
    public var description: String { "z_plus_fast" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, false) }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] {
        [[ModifiedTerm(.identity, try layer.with(weight: ParameterMap.positive(layer.weight), bias: nil))]]
    }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        [try modifiedGradient(x: site.inputs[0], relevance: incoming, terms: try prepared(site)[0], epsilon: stabilizer)]
    }
}

/// Generalised LRP-γ (zennit `Gamma`): `W ± γW^±` chosen by the sign of each output `z_j`;
/// outputs with `z_j = 0` pass nothing.
public struct GammaRule: AffineRule {
    public let gamma: Float
    public let stabilizer: Float
    public init(gamma: Float = 0.25, stabilizer: Float = 1e-6) throws {
        guard gamma >= 0, gamma.isFinite else { throw ExplainError(.invalidArgument, "gamma must be ≥ 0, got \(gamma)") }
        self.gamma = gamma
        self.stabilizer = stabilizer
    }
    public var description: String { "gamma(\(gamma))" }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] {
        let wp = ParameterMap.plus(layer.weight, gamma, ParameterMap.positive)
        let wn = ParameterMap.plus(layer.weight, gamma, ParameterMap.negative)
        let bp = layer.bias.map { ParameterMap.plus($0, gamma, ParameterMap.positive) }
        let bn = layer.bias.map { ParameterMap.plus($0, gamma, ParameterMap.negative) }
        // z_j > 0: d = Wp x⁺ + Wn x⁻ + bp ;  z_j < 0: d = Wn x⁺ + Wp x⁻ + bn
        // The third group, W⁺x + b⁺, and the fourth, [Wp; Wn] stacked for one transposed product,
        // serve the non-negative-input shortcut in `propagate`.
        return [[ModifiedTerm(.positive, try layer.with(weight: wp, bias: bp)), ModifiedTerm(.negative, try layer.with(weight: wn, bias: nil))],
                [ModifiedTerm(.positive, try layer.with(weight: wn, bias: bn)), ModifiedTerm(.negative, try layer.with(weight: wp, bias: nil))],
                [ModifiedTerm(.positive, try layer.with(weight: ParameterMap.positive(layer.weight), bias: layer.bias.map(ParameterMap.positive)))],
                try StackedLayer.make(layer, [wp, wn]).map { [ModifiedTerm(.positive, $0)] } ?? []]
    }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let groups = try prepared(site)
        let x = site.inputs[0], z = site.output, range = RelevanceKernels.range(of: x, at: site)
        if range.min >= 0, z.shape == incoming.shape, let stacked = groups[3].first, StackedLayer.fits(stacked.layer, input: x) {
            // x ≥ 0 (after a Relu): the x⁻ terms vanish and both denominators follow from the layer
            // output z = Wx + b and one product p = W⁺x + b⁺ (W⁻ = W − W⁺):
            //   z + γ(W⁺x + b⁺) = z + γp,   z + γ(z − p) = z + γ(W⁻x + b⁻);
            // R_in = x ⊙ (Wpᵀ up + Wnᵀ down) is one transposed product of the stacked weights.
            let p = try groups[2][0].layer.forward([x])
            let ratios = RelevanceKernels.gammaRatiosStacked(incoming, z: z, p: p, gamma: gamma, epsilon: stabilizer,
                                                             blocks: StackedLayer.blocks(stacked.layer))
            return [try TransposedProduct.product(stacked, ratios: ratios, multipliedBy: x)]
        }
        let up = try modifiedGradient(x: x, relevance: incoming, terms: groups[0], epsilon: stabilizer, mask: (.positive, z), inputRange: range)
        let down = try modifiedGradient(x: x, relevance: incoming, terms: groups[1], epsilon: stabilizer, mask: (.negative, z), inputRange: range)
        return [up.adding(down)]
    }
}

/// LRP-flat: relevance spread uniformly over each output's receptive field (inside the unpadded input).
public struct FlatRule: AffineRule {
    public let stabilizer: Float
    public init(stabilizer: Float = 1e-6) { self.stabilizer = stabilizer }
    public var description: String { "flat" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, false) }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] {
        [[ModifiedTerm(.ones, try layer.with(weight: ParameterMap.ones(layer.weight), bias: nil))]]
    }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        if let r = FlatFastPath.propagate(incoming, layer: site.node.layer, inputShape: site.inputs[0].shape, stabilizer: stabilizer) {
            return [r]
        }
        return [try modifiedGradient(x: site.inputs[0], relevance: incoming, terms: try prepared(site)[0], epsilon: stabilizer)]
    }
}

/// LRP-w²: `R_i = Σ_j w_ij² R_j / stab(Σ_i' w_i'j² + b_j²)` (zennit squares every parameter,
/// so the squared bias is in the denominator; padded positions do not count).
public struct WSquareRule: AffineRule {
    public let stabilizer: Float
    public init(stabilizer: Float = 1e-6) { self.stabilizer = stabilizer }
    public var description: String { "w_square" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, false) }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] {
        [[ModifiedTerm(.ones, try layer.with(weight: ParameterMap.squared(layer.weight), bias: layer.bias.map(ParameterMap.squared)))]]
    }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        [try modifiedGradient(x: site.inputs[0], relevance: incoming, terms: try prepared(site)[0], epsilon: stabilizer)]
    }
}
