import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// `sampling_shap`, shap's SamplingExplainer with numpy's draws (equality with shap itself is in
/// `PerturbationTests.backgroundSetsMatchShap`: `Tests/Fixtures/shap/*-sampling`,
/// `Tools/make_shap_sampling_fixtures.py`): its efficiency shift, its closed form on a linear model,
/// seeding, and the named errors.
struct SamplingShapTests {
    static var registry: Registry { FixtureModels.registry }

    static func run(_ values: [String: String], background: Bool = true) throws -> (Attribution, Tensor, ExplainableModel) {
        let (model, x, dir) = try FixtureModels.load(folder: TestPaths.fixtures + "/shap/cancer-mlp-sampling")
        var options = Options(values)
        if background { options.tensors["background"] = try Numpy.readTensor(path: dir + "/background.npy") }
        return (try registry.makeAnalyzer("sampling_shap", model: model, options: options).analyze(x, target: .max), x, model)
    }

    /// The final shift makes the values add up to f(x) − mean over the background of f (to the 1e-6
    /// that shap's 10⁶ scaling leaves); the same seed gives the same values, another seed others.
    @Test func efficiencyAndSeeding() throws {
        let (a, _, model) = try Self.run(["seed": "3", "samples": "300"])
        let (_, _, dir) = try FixtureModels.load(folder: TestPaths.fixtures + "/shap/cancer-mlp-sampling")
        let background = try Numpy.readTensor(path: dir + "/background.npy")
        let outputs = try model.graph.predict(background, output: model.output), c = outputs.shape[1]
        for s in 0..<a.values.shape[0] {
            let t = try #require(a.targets?[s])
            let mean = (0..<background.shape[0]).reduce(0.0) { $0 + Double(outputs.scalars[$1 * c + t]) } / Double(background.shape[0])
            let gap = Double(a.output.scalars[s * c + t]) - mean
            #expect(abs(a.sums[s] - gap) < 1e-4 * max(1, abs(gap)), "sample \(s)")
        }
        #expect(try Self.run(["seed": "3", "samples": "300"]).0.values == a.values)
        #expect(try Self.run(["seed": "4", "samples": "300"]).0.values != a.values)
    }

    /// On f(x) = W x + b with a single background row x0, every difference f(on) − f(off) is
    /// w_j (x_j − x0_j) whatever the order, so the values are exact with any number of samples.
    @Test func linearModelsAreExact() throws {
        let (model, w) = try PerturbationTests.linear(seed: 5)
        var rng = TestRandom(seed: 8)
        let x = rng.tensor([2, 6]), x0 = rng.tensor([1, 6])
        var o = Options(["samples": "12", "seed": "1"])
        o.tensors["background"] = x0
        let a = try Self.registry.makeAnalyzer("sampling_shap", model: model, options: o).analyze(x, target: .index(2))
        for s in 0..<2 {
            for i in 0..<6 {
                let expected = Double(w.scalars[2 * 6 + i]) * Double(x.scalars[s * 6 + i] - x0.scalars[i])
                #expect(abs(Double(a.values.scalars[s * 6 + i]) - expected) < 1e-4, "sample \(s), feature \(i)")
            }
        }
    }

    @Test func badOptionsAreNamedErrors() throws {
        for bad in [["samples": "10"], ["samples": "1"], ["seed": "4294967296"], ["min_samples_per_feature": "0"], ["baseline": "1"]] {
            #expect(throws: ExplainError.self, "\(bad)") { _ = try Self.run(bad) }
        }
        // Without a background the baseline is the one background row.
        let (a, _, _) = try Self.run(["samples": "120", "baseline": "0.5"], background: false)
        #expect(a.values.scalars.allSatisfy { $0.isFinite })
    }
}
