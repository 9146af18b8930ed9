import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// `kernel_shap --set rng=captum` and `lime --set rng=captum`: Captum 0.9.0's KernelShap and Lime
/// with their own draws (Tests/Fixtures/surrogate, Tools/make_surrogate_fixtures.py), closed forms
/// on a linear model, and the named errors of the options that do not combine with them.
@Suite struct CaptumSurrogateTests {
    static var registry: Registry { FixtureModels.registry }

    /// Every case equals Captum's run within its tolerance, and, since the draws are Captum's and the
    /// fits run in Double to convergence, within 1e-5 of the float64 replay — far inside the manifest's
    /// tolerances, which Captum's float32 least squares (and its Lasso stopping at a duality gap of
    /// 1e-4 · |y|²) make as loose as 0.19 for the Lasso on 25 samples of 30 features.
    @Test func equalToCaptumsOwnRuns() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/surrogate")
        // 5 × KernelShap, 4 × Lime over the three shared models.
        #expect(summary.passed == 9 && summary.failed == 0 && summary.skipped.isEmpty)
        for r in summary.results {
            guard case .passed(let rel, _) = r.outcome else { continue }
            #expect(rel < 1e-5, "\(r.model)/\(r.id): rel L2 \(rel)")
        }
    }

    /// On f(x) = W x + b the target output is linear in the presence vector, so with enough samples
    /// both least squares (KernelShap) and a Lasso without penalty (`alpha=0`) recover each group's
    /// `w ⊙ (x − x0)` sum exactly, whatever the draws; the same seed gives the same result.
    @Test func linearModelsAreExplainedExactly() throws {
        let (model, w) = try PerturbationTests.linear(seed: 11)
        var rng = TestRandom(seed: 2)
        let x = rng.tensor([3, 6])
        let expected = (0..<3).flatMap { s in (0..<6).map { i in Double(w.scalars[0 * 6 + i] * x.scalars[s * 6 + i]) } }
        for (id, options) in [("kernel_shap", ["rng": "captum", "samples": "80", "seed": "4"]),
                              ("lime", ["rng": "captum", "samples": "80", "seed": "4", "alpha": "0"])] {
            let analyzer = try Self.registry.makeAnalyzer(id, model: model, options: Options(options))
            let a = try analyzer.analyze(x, target: .index(0))
            for (i, e) in expected.enumerated() { #expect(abs(Double(a.values.scalars[i]) - e) < 1e-4, "\(id) element \(i)") }
            #expect(try analyzer.analyze(x, target: .index(0)).values == a.values)
        }
        // A penalty shrinks the Lasso's coefficients towards 0.
        let shrunk = try Self.registry.makeAnalyzer("lime", model: model, options: Options(["rng": "captum", "samples": "80", "alpha": "0.5"]))
            .analyze(x, target: .index(0))
        let total = expected.reduce(0) { $0 + abs($1) }, shrunkTotal = shrunk.values.scalars.reduce(0.0) { $0 + abs(Double($1)) }
        #expect(shrunkTotal < total)
    }

    /// Options that Captum's methods do not have, and groups it cannot number, are named errors.
    @Test func badCombinationsAreNamedErrors() throws {
        let (model, _) = try PerturbationTests.linear(seed: 11)
        var rng = TestRandom(seed: 2)
        let x = rng.tensor([2, 6])
        let cases: [(String, [String: String])] = [
            ("kernel_shap", ["rng": "captum", "l1_reg": "num_features(3)"]),
            ("kernel_shap", ["rng": "captum", "seed": "4294967296"]),
            ("lime", ["rng": "captum", "ridge": "1"]),
            ("lime", ["alpha": "0.1"]),
            ("lime", ["rng": "captum", "alpha": "-1"]),
            ("lime", ["rng": "numpy"]),
        ]
        for (id, values) in cases {
            #expect(throws: ExplainError.self, "\(id) \(values)") {
                _ = try Self.registry.makeAnalyzer(id, model: model, options: Options(values)).analyze(x, target: .index(0))
            }
        }
        // One group, and groups that differ from sample to sample.
        let one = try Tensor(shape: [6], scalars: [Float](repeating: 0, count: 6))
        let uneven = try Tensor(shape: [2, 6], scalars: [0, 1, 2, 0, 1, 2, 0, 0, 1, 1, 0, 0])
        for id in ["kernel_shap", "lime"] {
            for groups in [one, uneven] where !(id == "lime" && groups.count == 6) {
                var o = Options(["rng": "captum", "groups": "file:g.npy"])
                o.tensors["groups"] = groups
                #expect(throws: ExplainError.self, "\(id)") { _ = try Self.registry.makeAnalyzer(id, model: model, options: o).analyze(x, target: .index(0)) }
            }
        }
    }
}
