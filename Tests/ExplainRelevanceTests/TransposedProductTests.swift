import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// The guard that lets LRP's transposed products use Winograd: well-scaled ratios go through
/// Winograd, a few huge ones are scattered exactly, many send the layer to im2col — and the result
/// equals im2col's where unguarded Winograd visibly does not.
@Suite struct TransposedProductTests {
    /// A z⁺-like term on a 32-channel 3×3 layer: input x ≥ 0, weights W⁺, Winograd forced.
    static func term(seed: UInt64) throws -> ModifiedTerm {
        var rng = TestRandom(seed: seed)
        let w = rng.tensor([32, 32, 3, 3], -0.2...0.2)
        let positive = try Tensor(shape: w.shape, scalars: w.scalars.map { max($0, 0) })
        let conv = try Conv2D(weight: positive, pads: (1, 1, 1, 1), algorithm: .winograd)
        #expect(conv.isWinograd)
        return ModifiedTerm(.positive, conv)
    }

    /// Ratios of one scale (0.5–1), with `huge` entries of 10⁶ where a z⁺ denominator vanishes: the
    /// input is zero exactly where the entry's weights are positive, so `zⱼ = Σ W⁺ᵢⱼ xᵢ = 0` and exact
    /// arithmetic gives the entry no relevance anywhere, while the inputs under its zero taps stay positive.
    static func case_(_ term: ModifiedTerm, huge: Int, seed: UInt64) throws -> (x: Tensor, s: Tensor, stats: RatioStats) {
        var rng = TestRandom(seed: seed)
        let (c, h, w) = (32, 16, 16)
        var s = rng.tensor([1, c, h, w], 0.5...1).scalars
        var x = rng.tensor([1, c, h, w], 0...1).scalars
        let weight = term.layer.weight.scalars
        var relevance: Float = 0, denominator: Float = 0
        for v in s { relevance += v; denominator += 1 }   // R = s with denominators of 1
        for k in 0..<huge {
            let (co, y, xx) = (k * 7 % c, 2 + (k * 5) % (h - 4), 2 + (k * 3) % (w - 4))
            s[(co * h + y) * w + xx] = 1e6
            relevance += 1   // R = 1 over a denominator of ε = 10⁻⁶
            for ci in 0..<c {
                for ky in 0..<3 {
                    for kx in 0..<3 where weight[((co * c + ci) * 3 + ky) * 3 + kx] > 0 {
                        x[(ci * h + y + ky - 1) * w + xx + kx - 1] = 0
                    }
                }
            }
        }
        let st = RatioStats(relevance: relevance, denominator: denominator, largest: s.map(abs).max() ?? 0)
        return (try Tensor(shape: [1, c, h, w], scalars: x), try Tensor(shape: [1, c, h, w], scalars: s), st)
    }

    static func relevance(_ term: ModifiedTerm, plan: TransposedProduct.Plan, x: Tensor, s: Tensor) throws -> Tensor {
        let g = try TransposedProduct.product(term, plan: plan, inputShape: x.shape, cotangent: s)
        return try Tensor(shape: g.shape, scalars: zip(g.scalars, x.scalars).map { $0 * $1 })
    }

    /// A case with `huge` vanishing denominators and the plan the guard makes for it (`s` as planned).
    static func planned(huge: Int, seed: UInt64) throws
        -> (term: ModifiedTerm, x: Tensor, original: Tensor, s: Tensor, plan: TransposedProduct.Plan) {
        let term = try Self.term(seed: seed)
        let (x, original, stats) = try Self.case_(term, huge: huge, seed: seed + 1)
        var s = original
        let plan = TransposedProduct.plan(&s, stats: stats, winograd: true)
        return (term, x, original, s, plan)
    }

    @Test func wellScaledRatiosUseWinograd() throws {
        let (term, x, original, s, plan) = try Self.planned(huge: 0, seed: 1)
        guard case let .fast(outliers) = plan else { Issue.record("expected Winograd, got \(plan)"); return }
        #expect(outliers.isEmpty)
        let exact = try Self.relevance(term, plan: .exact, x: x, s: original)
        #expect(Deviation(try Self.relevance(term, plan: plan, x: x, s: s), exact).relL2 < 1e-6)
    }

    @Test func aFewHugeRatiosAreScatteredExactly() throws {
        let (term, x, original, s, plan) = try Self.planned(huge: 4, seed: 3)
        guard case let .fast(outliers) = plan else { Issue.record("expected Winograd with outliers, got \(plan)"); return }
        #expect(outliers.count == 4)
        let exact = try Self.relevance(term, plan: .exact, x: x, s: original)
        let guarded = try Self.relevance(term, plan: plan, x: x, s: s)
        let unguarded = try Self.relevance(term, plan: .fast(outliers: []), x: x, s: original)
        #expect(Deviation(guarded, exact).relL2 < 1e-6, "\(Deviation(guarded, exact))")
        // What the guard prevents: the huge entries' rounding noise on live inputs.
        #expect(Deviation(unguarded, exact).relL2 > 1e-4, "\(Deviation(unguarded, exact))")
    }

    @Test func manyHugeRatiosUseIm2col() throws {
        let (term, x, original, s, plan) = try Self.planned(huge: 40, seed: 5)
        guard case .exact = plan else { Issue.record("expected im2col, got \(plan)"); return }
        #expect(s.scalars == original.scalars)
        let im2col = try term.backwardLayer.inputGradient(inputShape: x.shape, cotangent: original, weight: nil)
        #expect(try TransposedProduct.product(term, plan: plan, inputShape: x.shape, cotangent: s).scalars == im2col.scalars)
        // Non-finite statistics, or a layer that is not Winograd, also mean im2col.
        var t = original
        guard case .exact = TransposedProduct.plan(&t, stats: RatioStats(relevance: .nan, denominator: 1, largest: 1), winograd: true),
              case .exact = TransposedProduct.plan(&t, stats: RatioStats(relevance: 1, denominator: 1, largest: 1), winograd: false)
        else { Issue.record("expected im2col"); return }
    }

    /// The exact scatter equals the im2col transposed product on strided, dilated, grouped, padded layers.
    @Test(arguments: [(1, 1, 1), (2, 1, 2), (1, 2, 4), (2, 2, 1)])
    func scatterEqualsIm2col(stride: Int, dilation: Int, groups: Int) throws {
        var rng = TestRandom(seed: UInt64(stride * 100 + dilation * 10 + groups))
        let conv = try Conv2D(weight: rng.tensor([8, 8 / groups, 3, 3]), strides: (stride, stride), pads: (1, 2, 0, 1),
                              dilations: (dilation, dilation), groups: groups, algorithm: .im2col)
        let inputShape = [2, 8, 11, 10]
        let out = try conv.forward([Tensor(shape: inputShape)])
        let s = rng.tensor(out.shape)
        var g = Tensor(shape: inputShape)
        try TransposedProduct.scatter(s.scalars.enumerated().map { ($0.offset, $0.element) }, conv: conv, cotangentShape: s.shape, into: &g)
        #expect(throws: ExplainError.self) { try TransposedProduct.scatter([(s.count, 1)], conv: conv, cotangentShape: s.shape, into: &g) }
        #expect(throws: ExplainError.self) { try TransposedProduct.scatter([(0, 1)], conv: conv, cotangentShape: [1, 2, 3], into: &g) }
        let d = Deviation(g, try conv.inputGradient(inputShape: inputShape, cotangent: s))
        #expect(d.relL2 < 1e-6, "\(d)")
    }
}
