import ExplainCore
import Synchronization

/// LRP-z^B (ZBox) for bounded inputs `low ≤ x ≤ high` (scalars or per-channel tensors):
/// `R_i = x_i (Wᵀs)_i − low (W⁺ᵀs)_i − high (W⁻ᵀs)_i`, `s = R / stab(Wx − W⁺low − W⁻high)`.
///
/// With scalar or per-channel bounds on a Conv or Dense layer, what does not depend on the input is
/// computed once per binding (`State`): the bound products `W⁺low` and `W⁻high` for one sample
/// (each sample's are the same), and the combined weight `W_lh = low_c·W⁺ + high_c·W⁻` (`c` the input
/// channel of each weight), so that the two bound terms of the backward pass are one transposed
/// product, `R = x ⊙ Wᵀs − W_lhᵀs`. That leaves one forward and two transposed products per call
/// instead of three of each. Other bounds (varying over space) take the general path.
public struct ZBoxRule: AffineRule {
    public let low: Tensor
    public let high: Tensor
    public let stabilizer: Float
    /// `low` and `high`: scalars, one value per input channel (shape (C)), or tensors that broadcast
    /// against the layer input (e.g. (C, H, W)); `low ≤ high` everywhere.
    public init(low: Tensor, high: Tensor, stabilizer: Float = 1e-6) throws {
        guard let gap = try? Tensor.broadcasting(high, low, SubtractFunction.self) else {
            throw ExplainError(.invalidArgument, "zbox bounds \(Shape.format(low.shape)) and \(Shape.format(high.shape)) do not broadcast")
        }
        guard low.isFinite, high.isFinite, gap.scalars.allSatisfy({ $0 >= 0 }) else {
            func show(_ t: Tensor) -> String { t.count <= 8 ? "\(t.scalars)" : Shape.format(t.shape) }
            throw ExplainError(.invalidArgument, "zbox needs finite bounds with low ≤ high everywhere, got low \(show(low)) and high \(show(high))")
        }
        self.low = low
        self.high = high
        self.stabilizer = stabilizer
    }
    public init(low: Float, high: Float) throws {
        try self.init(low: Tensor(scalar: low), high: Tensor(scalar: high))
    }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, false) }
    public var description: String {
        low.count == 1 && high.count == 1 ? "zbox(\(low.scalars[0]), \(high.scalars[0]))" : "zbox(per channel)"
    }
    public func terms(for layer: any AffineLayer) throws -> [[ModifiedTerm]] {
        // The bias cancels: (Wx + b) − (W⁺low + b⁺) − (W⁻high + b⁻).
        [[ModifiedTerm(.identity, try layer.with(weight: layer.weight, bias: nil)),
          ModifiedTerm(.constant(low), try layer.with(weight: ParameterMap.positive(layer.weight), bias: nil), sign: -1),
          ModifiedTerm(.constant(high), try layer.with(weight: ParameterMap.negative(layer.weight), bias: nil), sign: -1)]]
    }
    /// The prepared terms (the first one's layer is the layer without its bias), and what is made
    /// from the bounds on first use.
    final class State: Sendable {
        let terms: [ModifiedTerm]
        /// The bound products for one sample, by sample shape; the combined bound term by input rank
        /// (nil: the bounds or the layer do not allow it).
        let made = Mutex<(products: [[Int]: (low: Tensor, high: Tensor)], combined: [Int: ModifiedTerm?])>(([:], [:]))
        init(terms: [ModifiedTerm]) { self.terms = terms }
    }

    public func prepare(_ layer: any Layer) throws -> (any Sendable)? {
        guard let affine = layer as? any AffineLayer else {
            throw ExplainError(.invalidArgument, "rule \(self) needs a layer with weights (Conv, Dense), got \(layer)")
        }
        return State(terms: try terms(for: affine)[0])
    }

    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let state = site.state as? State else {
            throw ExplainError(.invalidArgument, "rule \(self) was not prepared for node '\(site.node.name)'")
        }
        let x = site.inputs[0]
        let (lowFit, highFit) = (try fit(low, to: x), try fit(high, to: x))
        var terms = state.terms
        terms[1].input = .constant(lowFit)
        terms[2].input = .constant(highFit)
        guard x.rank >= 2, x.shape[0] > 0, let combined = try combinedTerm(state, low: lowFit, high: highFit, inputRank: x.rank) else {
            return [try modifiedGradient(x: x, relevance: incoming, terms: terms, epsilon: stabilizer)]
        }
        let bounds = try boundProducts(state, terms: terms, sampleShape: Array(x.shape.dropFirst()))
        var z = try terms[0].layer.forward([x])
        guard z.shape == incoming.shape, z.count == bounds.low.count * x.shape[0], bounds.high.count == bounds.low.count else {
            throw ExplainError.shape("relevance \(Shape.format(incoming.shape)) does not match the layer output \(Shape.format(z.shape))")
        }
        Self.subtractFromEachSample(&z, bounds.low, bounds.high)   // z = Wx − W⁺low − W⁻high
        let stats = RelevanceKernels.ratio(incoming, overwriting: &z, epsilon: stabilizer)
        var s = consume z
        let plan = TransposedProduct.plan(&s, stats: stats, winograd: terms[0].isWinograd && combined.isWinograd)
        var result = try TransposedProduct.product(terms[0], plan: plan, inputShape: x.shape, cotangent: s, multipliedBy: x)
        RelevanceKernels.addScaled(&result, try TransposedProduct.product(combined, plan: plan, inputShape: x.shape, cotangent: s), sign: -1)
        return [result]
    }

    /// Per-channel bounds (C,) laid out along dimension 1 of the input.
    private func fit(_ t: Tensor, to x: Tensor) throws -> Tensor {
        guard t.count > 1, t.rank == 1, x.rank >= 2 else { return t }
        guard t.count == x.shape[1] else {
            throw ExplainError.argument("zbox bounds have \(t.count) values but the layer input \(Shape.format(x.shape)) has "
                                        + "\(x.shape[1]) channels: give a scalar or one value per channel")
        }
        return try t.reshaped([t.count] + [Int](repeating: 1, count: x.rank - 2))
    }

    /// `W⁺low` and `W⁻high` for one sample of `sampleShape`, made once per shape.
    private func boundProducts(_ state: State, terms: [ModifiedTerm], sampleShape: [Int]) throws -> (low: Tensor, high: Tensor) {
        if let done = state.made.withLock({ $0.products[sampleShape] }) { return done }
        let one = Tensor(shape: [1] + sampleShape)
        let made = (low: try terms[1].layer.forward([try terms[1].input.apply(one)]),
                    high: try terms[2].layer.forward([try terms[2].input.apply(one)]))
        state.made.withLock { $0.products[sampleShape] = made }
        return made
    }

    /// The term of `W_lh = low_c·W⁺ + high_c·W⁻` for a Conv2D or a Dense layer (input `(N, in)`) with
    /// scalar or per-channel bounds; nil otherwise. Made once per binding (and input rank).
    private func combinedTerm(_ state: State, low: Tensor, high: Tensor, inputRank: Int) throws -> ModifiedTerm? {
        if let done = state.made.withLock({ $0.combined[inputRank] }) { return done }
        let layer = state.terms[0].layer
        let made = try Self.combinedWeight(layer, low: low, high: high, inputRank: inputRank).map { w in
            ModifiedTerm(.identity, try layer.with(weight: w, bias: nil))
        }
        state.made.withLock { $0.combined[inputRank] = .some(made) }
        return made
    }

    /// `low_c·W⁺ + high_c·W⁻`, or nil where the bounds vary other than by input channel or the
    /// layer's input channel of a weight is not known here.
    static func combinedWeight(_ layer: any AffineLayer, low: Tensor, high: Tensor, inputRank: Int) -> Tensor? {
        let w = layer.weight
        // (output, input channels per group, taps), and the input channel of a weight's row.
        let (outputs, perGroup, taps, channelOf): (Int, Int, Int, (Int, Int) -> Int)
        if let conv = layer as? Conv2D, w.rank == 4 {
            let outPerGroup = max(1, conv.outChannels / conv.groups)
            (outputs, perGroup, taps) = (w.shape[0], w.shape[1], w.shape[2] * w.shape[3])
            channelOf = { o, i in o / outPerGroup * perGroup + i }
            guard [low, high].allSatisfy({ $0.count == 1 || $0.count == conv.inChannels }) else { return nil }
        } else if let dense = layer as? Dense, !dense.transposeInput, w.rank == 2, inputRank == 2 {
            // (N, in) only: for (N, T, in) a (T,)-shaped bound is laid out along tokens, not features.
            (outputs, perGroup, taps) = (w.shape[0], w.shape[1], 1)
            channelOf = { _, i in i }
            guard [low, high].allSatisfy({ $0.count == 1 || $0.count == dense.inFeatures }) else { return nil }
        } else {
            return nil
        }
        // A per-channel bound has the shape (C, 1, …) of the input's rank − 1 after `fit` (aligned with
        // dimension 1 when broadcast); anything else varies over space.
        guard [low, high].allSatisfy({ $0.count == 1 || ($0.rank == inputRank - 1 && $0.shape.dropFirst().allSatisfy { $0 == 1 }) }) else {
            return nil
        }
        let (l, h) = (low.scalars, high.scalars)
        return Tensor(shape: w.shape) { out in
            w.withUnsafeBufferPointer { pw in
                for o in 0..<outputs {
                    for i in 0..<perGroup {
                        let c = channelOf(o, i)
                        let (lc, hc) = (l.count == 1 ? l[0] : l[c], h.count == 1 ? h[0] : h[c])
                        let base = (o * perGroup + i) * taps
                        for t in base..<(base + taps) { out[t] = pw[t] > 0 ? lc * pw[t] : pw[t] < 0 ? hc * pw[t] : 0 }
                    }
                }
            }
        }
    }

    /// `z ← (z − low) − high` with `low` and `high` one sample's worth, for every sample of `z`.
    static func subtractFromEachSample(_ z: inout Tensor, _ low: Tensor, _ high: Tensor) {
        let per = low.count
        let total = z.count
        guard per > 0, total % per == 0, high.count == per else { return }
        z.withUnsafeMutableBufferPointer { pz in
            low.withUnsafeBufferPointer { pl in
                high.withUnsafeBufferPointer { ph in
                    nonisolated(unsafe) let (pz, pl, ph) = (pz.baseAddress!, pl.baseAddress!, ph.baseAddress!)
                    Parallel.forEachRange(total, grain: 1 << 16) { r in
                        var i = r.lowerBound
                        while i < r.upperBound {
                            let j = i % per, n = min(per - j, r.upperBound - i)
                            let (d, a, b) = (pz + i, pl + j, ph + j)
                            for k in 0..<n { d[k] = (d[k] - a[k]) - b[k] }
                            i += n
                        }
                    }
                }
            }
        }
    }
}
