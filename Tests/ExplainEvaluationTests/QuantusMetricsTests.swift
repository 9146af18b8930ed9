import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// Quantus's random and batch metrics: FaithfulnessCorrelation, MonotonicityCorrelation,
/// NonSensitivity and Sufficiency equal Quantus 0.6.0 on the digits CNN, the random ones on the same
/// numpy seed (Tools/make_quantus_fixture.py); closed forms on a linear model.
@Suite struct QuantusMetricsTests {
    struct Fixture {
        var model: ExplainableModel, input: Tensor, target: Target, archive: [String: NumpyArray]
        func tensor(_ key: String) throws -> Tensor { try #require(archive[key]).tensor() }
        func expected(_ key: String) throws -> [Double] { try #require(archive[key]).doubles() }
    }

    static func fixture() throws -> Fixture {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/quantus_cases.npz")
        let f = try FixtureModels.load("digits-cnn")
        let x = try #require(archive["input"]).tensor()
        let targets = try #require(archive["targets"]).tensor().scalars.map { Int($0) }
        return Fixture(model: f.model, input: x, target: .indices(targets), archive: archive)
    }

    static func close(_ got: [Double], _ want: [Double], _ name: String, tolerance: Double) {
        #expect(got.count == want.count, "\(name): \(got.count) scores for \(want.count) samples")
        for (s, (g, w)) in zip(got, want).enumerated() {
            #expect(abs(g - w) <= tolerance, "\(name) sample \(s): \(g), Quantus \(w)")
        }
    }

    @Test(arguments: [("faithfulness_correlation_r40_s60_black_seed3", 40, 60, "black", 3),
                      ("faithfulness_correlation_r25_s100_zero_seed7", 25, 100, "0", 7)])
    func faithfulnessCorrelationMatchesQuantus(_ name: String, _ runs: Int, _ subset: Int, _ fill: String, _ seed: UInt64) throws {
        let f = try Self.fixture()
        let metric = try FaithfulnessCorrelation(runs: runs, subsetSize: subset, fill: try PerturbationFill(fill), seed: seed)
        let got = try metric.evaluate(model: f.model, input: f.input, attribution: try f.tensor("attributions"), target: f.target)
        Self.close(got, try f.expected(name), name, tolerance: 1e-5)
    }

    @Test(arguments: [("monotonicity_correlation_k16_n8_uniform_seed5", 16, 8, "uniform", 5),
                      ("monotonicity_correlation_k8_n4_black_seed1", 8, 4, "black", 1)])
    func monotonicityCorrelationMatchesQuantus(_ name: String, _ k: Int, _ samples: Int, _ fill: String, _ seed: UInt64) throws {
        let f = try Self.fixture()
        let metric = try MonotonicityCorrelation(samples: samples, featuresInStep: k, fill: try PerturbationFill(fill), seed: seed)
        let got = try metric.evaluate(model: f.model, input: f.input, attribution: try f.tensor("attributions"), target: f.target)
        Self.close(got, try f.expected(name), name, tolerance: 1e-12)
    }

    @Test(arguments: [("non_sensitivity_k1_black", "black", 1e-5), ("non_sensitivity_k1_white_eps1e-3", "white", 1e-3)])
    func nonSensitivityMatchesQuantus(_ name: String, _ fill: String, _ eps: Double) throws {
        let f = try Self.fixture()
        let got = try NonSensitivity(eps: eps, fill: try FillValue(fill))
            .evaluate(model: f.model, input: f.input, attribution: try f.tensor("silent_attributions"), target: f.target)
        Self.close(got.map(Double.init), try f.expected(name), name, tolerance: 0)
    }

    @Test(arguments: [("sufficiency_default", 0.6), ("sufficiency_t0.9", 0.9)])
    func sufficiencyMatchesQuantus(_ name: String, _ threshold: Double) throws {
        let f = try Self.fixture()
        let got = try Sufficiency(threshold: threshold).evaluate(model: f.model, input: f.input, attribution: try f.tensor("attributions"))
        Self.close(got, try f.expected(name), name, tolerance: 1e-12)
    }

    static func gradient(_ model: ExplainableModel) throws -> any Analyzer {
        try FixtureModels.registry.makeAnalyzer("gradient", model: model, options: Options())
    }

    @Test(arguments: [("local_lipschitz_estimate_n5_seed3", 5, 0.1, 3), ("local_lipschitz_estimate_n4_std0.3_seed8", 4, 0.3, 8)])
    func localLipschitzEstimateMatchesQuantus(_ name: String, _ samples: Int, _ std: Double, _ seed: UInt64) throws {
        let f = try Self.fixture()
        let got = try LocalLipschitzEstimate(samples: samples, std: std, seed: seed).evaluate(try Self.gradient(f.model), input: f.input, target: f.target)
        Self.close(got, try f.expected(name), name, tolerance: 1e-5)
    }

    @Test(arguments: [("relative_input_stability_n5_seed4", RelativeStability.Kind.input, 4),
                      ("relative_output_stability_n5_seed5", .output, 5),
                      ("relative_representation_stability_relu3_n5_seed6", .representation("/relu3/Relu"), 6)])
    func relativeStabilityMatchesQuantus(_ name: String, _ kind: RelativeStability.Kind, _ seed: UInt64) throws {
        let f = try Self.fixture()
        let got = try RelativeStability(kind: kind, samples: 5, seed: seed).evaluate(try Self.gradient(f.model), model: f.model, input: f.input, target: f.target)
        let want = try f.expected(name)
        // Relative: the ratios divide by the gradient element by element, which magnifies float32 rounding.
        Self.close(got.enumerated().map { $1 / want[$0] }, want.map { _ in 1 }, name + " (ratio)", tolerance: 2e-4)
    }

    @Test(arguments: [("continuity_s8", 8, "black"), ("continuity_s28", 28, "black")])
    func continuityMatchesQuantus(_ name: String, _ steps: Int, _ fill: String) throws {
        let f = try Self.fixture()
        let got = try Continuity(steps: steps, fill: try FillValue(fill)).evaluate(try Self.gradient(f.model), input: f.input, target: f.target)
        Self.close(got, try f.expected(name), name, tolerance: 1e-5)
    }

    @Test(arguments: [("random_logit_seed42", 42), ("random_logit_seed7", 7)])
    func randomLogitMatchesQuantus(_ name: String, _ seed: UInt64) throws {
        let f = try Self.fixture()
        let r = try RandomLogit(seed: seed).evaluate(try Self.gradient(f.model), input: f.input, target: f.target, classes: 10)
        Self.close(r.similarity, try f.expected(name), name, tolerance: 1e-5)
        #expect(zip(r.targets, r.others).allSatisfy { $0 != $1 && (0..<10).contains($1) })
    }

    /// IROF on scikit-image's default SLIC superpixels (Quantus: each sample alone).
    @Test(arguments: [("irof_mean", "mean"), ("irof_black", "black")])
    func irofMatchesQuantus(_ name: String, _ fill: String) throws {
        let f = try Self.fixture()
        let segments = try Superpixels.labels(Superpixels.Parameters(), input: f.input).labels
        let r = try IROF(fill: try FillValue(fill)).evaluate(model: f.model, input: f.input, attribution: try f.tensor("attributions"), target: f.target,
                                                            segments: segments)
        let want = try f.expected(name)
        Self.close(r.aoc.enumerated().map { $1 / want[$0] }, want.map { _ in 1 }, name + " (ratio)", tolerance: 1e-5)
    }

    /// On f = w · x with fill 0 the drop of any subset is the sum of its w ⊙ x: the exact
    /// attribution has faithfulness correlation 1 (−1 negated); features with w = 0 are exactly the
    /// silent ones that change nothing (non-sensitivity 0); the gradient w does not move with the
    /// input (Lipschitz estimate, relative input stability and continuity 0).
    @Test func linearModelClosedForms() throws {
        var rng = TestRandom(seed: 7)
        var weights = rng.tensor([1, 16]).scalars
        for i in [2, 5, 11] { weights[i] = 0 }
        var b = GraphBuilder()
        let input = b.addInput(name: "x", shape: [nil, 1, 4, 4])
        let flat = try b.add(Flatten(), inputs: [input], name: "flat")
        let fc = try b.add(try Dense(weight: try Tensor(shape: [1, 16], scalars: weights)), inputs: [flat], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [fc]))
        let x = rng.tensor([3, 1, 4, 4])
        let exact = try Tensor(shape: x.shape, scalars: (0..<48).map { weights[$0 % 16] * x.scalars[$0] })
        let fc1 = try FaithfulnessCorrelation(runs: 12, subsetSize: 5, fill: .fixed(.value(0)), seed: 1)
        #expect(try fc1.evaluate(model: model, input: x, attribution: exact, target: .index(0)).allSatisfy { abs($0 - 1) < 1e-5 })
        let negated = try Tensor(shape: x.shape, scalars: exact.scalars.map { -$0 })
        #expect(try fc1.evaluate(model: model, input: x, attribution: negated, target: .index(0)).allSatisfy { abs($0 + 1) < 1e-5 })
        let silent = try NonSensitivity(eps: 1e-6, fill: .value(0)).evaluate(model: model, input: x, attribution: exact, target: .index(0))
        #expect(silent == [0, 0, 0])
        let wrong = try Tensor(shape: x.shape, scalars: (0..<48).map { _ in 1 })   // no feature silent: the 3 with w = 0 break the rule
        #expect(try NonSensitivity(eps: 1e-6, fill: .value(0)).evaluate(model: model, input: x, attribution: wrong, target: .index(0)) == [3, 3, 3])
        let gradient = try Self.gradient(model)
        #expect(try LocalLipschitzEstimate(samples: 3, seed: 2).evaluate(gradient, input: x, target: .index(0)) == [0, 0, 0])
        #expect(try Continuity(steps: 3).evaluate(gradient, input: x, target: .index(0)) == [0, 0, 0])
        #expect(try RelativeStability(kind: .input, samples: 3, seed: 2).evaluate(gradient, model: model, input: x, target: .index(0)) == [0, 0, 0])
    }

    /// Sufficiency on hand-made explanations: samples 0 and 1 are close and share their class,
    /// 2 is close to 3 with another class, 4 is far from all.
    @Test func sufficiencyCountsCloseExplanationsOfTheSameClass() {
        let rows: [[Double]] = [[0, 0], [0.1, 0], [5, 5], [5.1, 5], [20, -20]]
        let shares = Sufficiency.shares(rows, classes: [1, 1, 2, 3, 1], threshold: 0.1)
        #expect(shares == [1, 1, 0, 0, 0])
    }

    /// numpy's legacy normals (the polar method, its second value cached across other draws) and
    /// `randint`, as Quantus's robustness metrics draw them (Tools/make_numpy_random_fixture.py).
    @Test func numpyLegacyNormalsAndIntegers() throws {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/numpy_normal_cases.npz")
        for seed: UInt32 in [0, 3, 42, 4_294_967_295] {
            let want = try #require(archive["s\(seed)"]).doubles()
            var mt = MersenneTwister(seed: seed)
            let got = (0..<5).map { _ in mt.legacyGauss() } + (0..<2).map { _ in mt.nextDouble() }
                + (0..<4).map { _ in mt.legacyGauss() } + (0..<4).map { _ in Double(mt.interval(8)) }
            #expect(got == want, "seed \(seed)")
        }
    }
}
