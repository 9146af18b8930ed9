import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// `lime --set rng=lime`: lime_image's `LimeImageExplainer.explain_instance` with its defaults and
/// its own draws (Tests/Fixtures/lime, Tools/make_lime_image_fixtures.py), the mean-colour fill
/// against a closed form, and the named errors.
struct LimeImageTests {
    static var registry: Registry { FixtureModels.registry }

    /// Equal to lime 0.2.0.1 on an RGB ResNet (96 × 96 images cut into 12 and 13 quick shift
    /// superpixels; lime's 1 000 samples and 300; and SLIC with `n_segments=20`, where lime's
    /// feature j hides segment label j from 1 on) and on the grey digits CNN (segmented as grey RGB).
    @Test func equalToLimeImage() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/lime")
        #expect(summary.passed == 4 && summary.failed == 0 && summary.skipped.isEmpty)
    }

    /// With mean colours (`hide_color=mean`) an absent group takes the mean of its own elements, so
    /// on f(x) = W x + b a least-squares fit (`ridge=0`) gives each group Σ_{i∈g} w_i (x_i − mean_g x).
    @Test func meanFillOnALinearModel() throws {
        let (model, w) = try PerturbationTests.linear(seed: 6)
        var rng = TestRandom(seed: 3)
        let x = rng.tensor([2, 6])
        var o = Options(["rng": "lime", "seed": "2", "samples": "200", "ridge": "0", "groups": "file:g.npy"])
        o.tensors["groups"] = try Tensor(shape: [6], scalars: [0, 0, 1, 1, 2, 2])
        let a = try Self.registry.makeAnalyzer("lime", model: model, options: o).analyze(x, target: .index(1))
        for s in 0..<2 {
            for g in 0..<3 {
                let (i, j) = (2 * g, 2 * g + 1)
                let mean = (x.scalars[s * 6 + i] + x.scalars[s * 6 + j]) / 2
                let expected = Double(w.scalars[6 + i] * (x.scalars[s * 6 + i] - mean) + w.scalars[6 + j] * (x.scalars[s * 6 + j] - mean))
                #expect(abs(Double(a.values.scalars[s * 6 + i]) - expected) < 1e-4, "sample \(s), group \(g)")
            }
        }
    }

    @Test func badOptionsAreNamedErrors() throws {
        let (model, _) = try PerturbationTests.linear(seed: 6)
        var rng = TestRandom(seed: 3)
        let x = rng.tensor([2, 6])
        // No image to segment; a bad fill; lime's draws with a file of samples.
        for bad in [["rng": "lime"], ["rng": "lime", "groups": "file:g.npy", "hide_color": "grey"], ["rng": "lime", "samples": "file:z.npy"]] {
            var o = Options(bad)
            if bad["groups"] != nil { o.tensors["groups"] = try Tensor(shape: [6], scalars: [0, 0, 1, 1, 2, 2]) }
            o.tensors["samples"] = try Tensor(shape: [2, 3, 3], scalars: [Float](repeating: 1, count: 18))
            #expect(throws: ExplainError.self, "\(bad)") { _ = try Self.registry.makeAnalyzer("lime", model: model, options: o).analyze(x, target: .index(0)) }
        }
    }
}
