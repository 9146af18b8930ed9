import ExplainCore

/// The transposed products `W'ᵀs` of an LRP rule's terms: Winograd where that is as exact as
/// im2col, im2col where it is not.
///
/// Winograd's rounding error on an input is ≈ 10⁻⁷ × the largest `|sⱼ|` of the surrounding tiles
/// (times the weights), and unlike im2col's it does not vanish where `W'ᵢⱼ = 0`: its filter
/// transform mixes the taps. That is harmless while all `|sⱼ|` are of one scale — the plain gradient
/// is such a case — but an LRP denominator can nearly vanish, and then `sⱼ = Rⱼ / stab(zⱼ)` is
/// orders of magnitude above the rest and its noise lands on inputs which exact arithmetic gives no
/// relevance (the α-β fixtures fail by 0.5 % that way). So a product uses Winograd only when
///
///     max |sⱼ| ≤ spread · typical,   typical = Σ |Rⱼ| / Σ |stab(zⱼ)|   (`RatioStats`),
///
/// which bounds the noise of every input by `spread` × the rounding error of a typical entry. A few
/// larger entries (at most one in `outlierShare`) are taken out of `s` and added exactly by a direct
/// scatter; more send the layer to im2col. Decision record: `Docs/Decisions/0003-winograd-lrp.md`.
public enum TransposedProduct {
    /// How far above the typical ratio an entry may be and still go through Winograd.
    public static let spread: Float = 64
    /// At most one entry in this many is scattered exactly; more make the layer use im2col.
    public static let outlierShare = 1024

    /// How the products of one ratio tensor are computed.
    public enum Plan: Sendable {
        /// im2col for every term.
        case exact
        /// Winograd on `s` with the listed entries set to zero, then those entries scattered exactly.
        case fast(outliers: [(index: Int, value: Float)])
    }

    /// Chooses the plan for ratios `s` with statistics `stats`; with outliers, zeroes them in `s`.
    /// `winograd` says whether the terms' layers run as Winograd at all.
    public static func plan(_ s: inout Tensor, stats: RatioStats, winograd: Bool) -> Plan {
        guard winograd, s.count > 0 else { return .exact }
        let typical = stats.typical, limit = spread * typical
        guard typical.isFinite, stats.largest.isFinite else { return .exact }
        if stats.largest <= limit { return .fast(outliers: []) }
        let allowed = s.count / outlierShare
        var outliers: [(index: Int, value: Float)] = []
        let fits: Bool = s.withUnsafeMutableBufferPointer { p in
            // Eight lanes at a time; only blocks holding an outlier are looked at one by one.
            let bound = SIMD8<Float>(repeating: limit), n = p.count
            var block = 0
            while block < n {
                let end = min(n, block + 8)
                if end - block == 8 {
                    let v = UnsafeRawPointer(p.baseAddress! + block).loadUnaligned(as: SIMD8<Float>.self)
                    guard any((v .> bound) .| (v .< -bound)) else { block = end; continue }
                }
                for i in block..<end where abs(p[i]) > limit {
                    if outliers.count == allowed { return false }
                    outliers.append((i, p[i]))
                }
                block = end
            }
            for o in outliers { p[o.index] = 0 }
            return true
        }
        return fits ? .fast(outliers: outliers) : .exact
    }

    /// `W'ᵀs` for one term: `term.layer` (Winograd) or `term.backwardLayer` (im2col) per `plan`;
    /// with `input`, `input ⊙ W'ᵀs` (a convolution multiplies while its result is in cache).
    public static func product(_ term: ModifiedTerm, plan: Plan, inputShape: [Int], cotangent s: Tensor,
                               multipliedBy input: Tensor? = nil) throws -> Tensor {
        let fast: Conv2D? = if case .fast = plan, let conv = term.layer as? Conv2D, conv.isWinograd { conv } else { nil }
        let outliers: [(index: Int, value: Float)] = if case let .fast(o) = plan, fast != nil { o } else { [] }
        let conv = fast ?? (term.backwardLayer as? Conv2D)
        if let conv, let input, outliers.isEmpty, input.shape == inputShape {
            return try conv.inputGradient(inputShape: inputShape, cotangent: s, then: .multiply(input))
        }
        var g = try fast.map { try $0.inputGradient(inputShape: inputShape, cotangent: s) }
            ?? term.backwardLayer.inputGradient(inputShape: inputShape, cotangent: s, weight: nil)
        if let fast, !outliers.isEmpty { try scatter(outliers, conv: fast, cotangentShape: s.shape, into: &g) }
        if let input { RelevanceKernels.scaleByInput(&g, input, sign: 1) }
        return g
    }

    /// `input ⊙ W'ᵀs` for a single term: plans `ratios` (`s` and its statistics) and takes the product.
    public static func product(_ term: ModifiedTerm, ratios: (Tensor, RatioStats), multipliedBy input: Tensor) throws -> Tensor {
        var (s, stats) = ratios
        let chosen = Self.plan(&s, stats: stats, winograd: term.isWinograd)
        return try product(term, plan: chosen, inputShape: input.shape, cotangent: s, multipliedBy: input)
    }

    /// Adds `Σⱼ W'ᵢⱼ sⱼ` over the listed cotangent entries (flat indices into a cotangent of
    /// `cotangentShape`) to `g` (shaped like the layer input), one product at a time, as im2col would.
    public static func scatter(_ entries: [(index: Int, value: Float)], conv: Conv2D, cotangentShape: [Int], into g: inout Tensor) throws {
        guard g.rank == 4, try conv.outputShape([g.shape]) == cotangentShape else {
            throw ExplainError.shape("scatter: cotangent \(Shape.format(cotangentShape)) is not the output of \(conv) on \(Shape.format(g.shape))")
        }
        let count = cotangentShape.reduce(1, *)
        if let bad = entries.first(where: { $0.index < 0 || $0.index >= count }) {
            throw ExplainError.argument("scatter: entry index \(bad.index) outside a cotangent of \(count) elements")
        }
        let (outC, outH, outW) = (cotangentShape[1], cotangentShape[2], cotangentShape[3])
        let (inC, inH, inW) = (g.shape[1], g.shape[2], g.shape[3])
        let w = conv.window, perGroupIn = inC / conv.groups, perGroupOut = outC / conv.groups
        let (kh, kw) = (w.kernel.h, w.kernel.w)
        conv.weight.withUnsafeBufferPointer { pw in
            g.withUnsafeMutableBufferPointer { pg in
                for (index, v) in entries {
                    let n = index / (outC * outH * outW), co = index / (outH * outW) % outC
                    let oy = index / outW % outH, ox = index % outW
                    let firstIn = co / perGroupOut * perGroupIn
                    for ci in 0..<perGroupIn {
                        for ky in 0..<kh {
                            let iy = oy * w.strides.h - w.pads.top + ky * w.dilations.h
                            guard iy >= 0, iy < inH else { continue }
                            for kx in 0..<kw {
                                let ix = ox * w.strides.w - w.pads.left + kx * w.dilations.w
                                guard ix >= 0, ix < inW else { continue }
                                pg[((n * inC + firstIn + ci) * inH + iy) * inW + ix] += pw[((co * perGroupIn + ci) * kh + ky) * kw + kx] * v
                            }
                        }
                    }
                }
            }
        }
    }
}
