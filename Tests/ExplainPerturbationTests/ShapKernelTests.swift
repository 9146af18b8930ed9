import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Testing

/// `kernel_shap --set rng=numpy`, shap KernelExplainer's draws and solve (equality with shap itself
/// is in the fixture run of `PerturbationTests.backgroundSetsMatchShap`, `Tests/Fixtures/shap/cancer-mlp`).
struct ShapKernelTests {
    static let registry = FixtureModels.registry

    static func run(_ values: [String: String]) throws -> Attribution {
        let (model, x, dir) = try FixtureModels.load(folder: TestPaths.fixtures + "/shap/cancer-mlp")
        var options = Options(values)
        options.tensors["background"] = try Numpy.readTensor(path: dir + "/background.npy")
        return try registry.makeAnalyzer("kernel_shap", model: model, options: options).analyze(x, target: .max)
    }

    /// With l1_reg num_features(r) at most r features per sample get values, and efficiency holds
    /// for any selection: Σ φ = f_t(x) − mean over the background.
    @Test func leastAngleSelectionKeepsEfficiency() throws {
        let (model, _, dir) = try FixtureModels.load(folder: TestPaths.fixtures + "/shap/cancer-mlp")
        let background = try Numpy.readTensor(path: dir + "/background.npy")
        let outputs = try model.graph.predict(background, output: model.output), c = outputs.shape[1]
        for r in [1, 4] {
            let a = try Self.run(["rng": "numpy", "seed": "2", "samples": "200", "l1_reg": "num_features(\(r))"])
            let f = a.values.shape[1]
            for s in 0..<a.values.shape[0] {
                let row = a.values.scalars[(s * f)..<((s + 1) * f)]
                #expect(row.count { $0 != 0 } <= r)
                let t = try #require(a.targets?[s])
                let mean = (0..<background.shape[0]).reduce(0.0) { $0 + Double(outputs.scalars[$1 * c + t]) } / Double(background.shape[0])
                #expect(abs(a.sums[s] - (Double(a.output.scalars[s * c + t]) - mean)) < 1e-4)
            }
        }
        // The same seed, the same draws; bad options are named errors.
        #expect(try Self.run(["rng": "numpy", "seed": "9", "samples": "150"]).values == (try Self.run(["rng": "numpy", "seed": "9", "samples": "150"]).values))
        for bad in [["l1_reg": "aic"], ["l1_reg": "num_features(0)"], ["rng": "torch"], ["rng": "numpy", "seed": "-1"]] {
            #expect(throws: ExplainError.self) { try Self.run(bad) }
        }
    }
}
