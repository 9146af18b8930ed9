import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// AttnLRP and CP-LRP: LXT's numbers on two tiny ViTs (Tests/Fixtures/transformer), and the
/// node-level identities each rule is built on.
@Suite struct TransformerTests {
    static var registry: Registry { FixtureModels.registry }

    func site(_ layer: any Layer, _ inputs: [Tensor]) throws -> Site {
        let node = Node(name: "n", layer: layer, inputs: Array(0..<inputs.count), output: inputs.count)
        return Site(node: node, index: 0, inputs: inputs, output: try layer.forward(inputs), state: nil)
    }

    func dot(_ a: Tensor, _ b: Tensor) -> Double { zip(a.scalars, b.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    /// Every case of the transformer fixtures (LXT's AttnLRP and CP-LRP, pytorch-grad-cam on token
    /// layers and Swin's channels-last maps, zennit's rules on Linear layers over tokens) passes
    /// under its manifest tolerance.
    @Test func lxtFixturesPass() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/transformer")
        #expect(summary.passed == 33 && summary.failed == 0 && summary.skipped.isEmpty)
    }

    /// Identity rule: `x · g_in = f(x) · g_out` — the activation's relevance passes unchanged.
    @Test func identityRuleKeepsRelevance() throws {
        var rng = TestRandom(seed: 11)
        let x = rng.tensor([2, 7], -3...3), g = rng.tensor([2, 7])
        let s = try site(Gelu(), [x])
        let gin = try IdentityGradientRule().propagate(g, at: s)[0]
        for i in 0..<x.count {
            #expect(abs(x.scalars[i] * gin.scalars[i] - s.output.scalars[i] * g.scalars[i]) <= 1e-6)
        }
    }

    /// Uniform rule: a product of two runtime values splits its relevance equally
    /// (`A · g_A = B · g_B = ½ Σ O ⊙ g`); a product with a constant keeps the plain gradient.
    @Test func uniformRuleSplitsProductsInHalves() throws {
        var rng = TestRandom(seed: 12)
        let a = rng.tensor([2, 3, 4]), b = rng.tensor([2, 4, 5]), g = rng.tensor([2, 3, 5])
        let s = try site(try MatMul(), [a, b])
        let r = try UniformProductRule().propagate(g, at: s)
        let total = dot(s.output, g)
        #expect(abs(dot(a, r[0]) - total / 2) < 1e-5 && abs(dot(b, r[1]) - total / 2) < 1e-5)
        let c = try site(Binary(.mul, constant: rng.tensor([4])), [a])
        let plain = try c.node.layer.pullback(inputs: [a], output: c.output, cotangent: c.output)
        #expect(try UniformProductRule().propagate(c.output, at: c)[0].scalars == plain[0].scalars)
    }

    /// σ held constant: the normalisation is affine, so `Σ x ⊙ g_in = Σ (y − β) ⊙ g` (Euler), and
    /// the rule differs from the true gradient.
    @Test func layerNormWithDetachedDeviationIsAffine() throws {
        var rng = TestRandom(seed: 13)
        let x = rng.tensor([3, 6], -2...2), g = rng.tensor([3, 6])
        let beta = rng.tensor([6])
        let norm = try LayerNorm(scale: rng.tensor([6], 0.5...1.5), bias: beta, epsilon: 1e-5)
        let s = try site(norm, [x])
        let gin = try DetachedDeviationRule().propagate(g, at: s)[0]
        var yMinusBeta = s.output
        yMinusBeta.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] -= beta.scalars[i % 6] } }
        #expect(abs(dot(x, gin) - dot(yMinusBeta, g)) < 1e-4)
        let true_ = try norm.pullback(inputs: [x], output: s.output, cotangent: g)[0]
        #expect(Deviation(gin, true_).relL2 > 1e-2)
    }

    /// CP-LRP holds the attention weights constant: relevance reaches the input only through the
    /// values, so it differs from AttnLRP, and both differ from input × gradient.
    @Test func methodsDifferWhereTheirRulesDiffer() throws {
        let (model, x, _) = try FixtureModels.load(folder: TestPaths.models + "/vit")
        func run(_ id: String) throws -> Tensor { try Self.registry.makeAnalyzer(id, model: model).analyze(x, target: .max).values }
        let cp = try run("cp_lrp"), attn = try run("attnlrp"), ixg = try run("input_t_gradient")
        #expect(Deviation(cp, attn).relL2 > 0.05 && Deviation(attn, ixg).relL2 > 0.05 && Deviation(cp, ixg).relL2 > 0.05)
    }
}
