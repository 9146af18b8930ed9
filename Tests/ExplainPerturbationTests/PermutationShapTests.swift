import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Testing

/// shap's Permutation explainer: numpy's legacy shuffles reproduced, groups that cannot change the
/// output left out, efficiency, and a budget below one order refused. (Equality with shap itself is
/// in the fixture run of `PerturbationTests.backgroundSetsMatchShap`.)
struct PermutationShapTests {
    static let registry = FixtureModels.registry

    /// `MersenneTwister` shuffles exactly as `np.random.seed(S); np.random.shuffle(a)` (repeated on one array).
    @Test func shufflesAreNumpys() throws {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/numpy_shuffle_cases.npz")
        var checked = 0
        for seed in [UInt32(0), 1, 42, 4_294_967_295] {
            for n in [1, 2, 5, 30, 1000] {
                var rng = MersenneTwister(seed: seed)
                var a = Array(0..<n)
                for k in 0..<3 {
                    rng.shuffle(&a)
                    #expect(a == (try #require(archive["s\(seed)_n\(n)_k\(k)"]).integers()), "seed \(seed), n \(n), shuffle \(k)")
                    checked += 1
                }
            }
        }
        #expect(checked == 60)
    }

    /// A feature equal to every background value gets 0 and takes no part in the orders; the values
    /// sum to v(x) − v(∅) (the others present); too small a budget is an error naming the minimum.
    @Test func invariantFeaturesAndEfficiency() throws {
        let (model, x, dir) = try FixtureModels.load(folder: TestPaths.fixtures + "/shap/tabular-mlp")
        var background = try Numpy.readTensor(path: dir + "/background.npy")
        let (k, f) = (background.shape[0], background.shape[1])
        let one = try x.sample(0)
        background = try Tensor(shape: background.shape, scalars: (0..<(k * f)).map { i in i % f == 2 ? one.scalars[2] : background.scalars[i] })
        var options = Options(["max_evals": "120", "seed": "3"])
        options.tensors["background"] = background
        let result = try Self.registry.makeAnalyzer("permutation_shap", model: model, options: options).analyze(one, target: .max)
        #expect(result.values.scalars[2] == 0)
        let outputs = try model.graph.predict(background, output: model.output), c = outputs.shape[1]
        let t = try #require(result.targets?.first)
        // v(∅): the background's mean output; v(all varying): x with feature 2 from the background (equal to x's).
        let mean = (0..<k).reduce(0.0) { $0 + Double(outputs.scalars[$1 * c + t]) } / Double(k)
        #expect(abs(result.sums[0] - (Double(result.output.scalars[t]) - mean)) < 1e-5)
        options.values["max_evals"] = "10"   // 5 varying features need 11
        let error = #expect(throws: ExplainError.self) {
            try Self.registry.makeAnalyzer("permutation_shap", model: model, options: options).analyze(one, target: .max)
        }
        #expect(error?.message.contains("at least 2 · 5 + 1 = 11") == true)
    }
}
