import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Testing

/// ROAD equals pytorch-grad-cam 1.5.7 (with its imputer's noise at 0) on the digits CNN, per
/// percentile and averaged, for a random and a smooth map (Tools/make_road_fixture.py); the linear
/// imputation equals its sparse solve and keeps the kept pixels; bad input is a named error.
@Suite struct ROADTests {
    static let archive: [String: NumpyArray] = (try? NumpyArchive.read(path: TestPaths.arrays + "/road_cases.npz")) ?? [:]

    static func values(_ name: String) throws -> [Double] { try #require(archive[name]).tensor().scalars.map(Double.init) }

    @Test func imputationIsThePeersSolve() throws {
        let image = try #require(Self.archive["impute_image"]).tensor(), mask = try #require(Self.archive["impute_mask"]).tensor()
        var rng = SeededGenerator(seed: 0)
        let keep = mask.scalars.map { $0 > 0.5 }
        let out = try LinearImputation.impute(image.scalars, channels: 3, height: 12, width: 10, keep: keep, noise: 0, rng: &rng)
        let want = try Self.values("impute_out")
        #expect(zip(out, want).allSatisfy { abs(Double($0) - $1) < 1e-6 })
        for ch in 0..<3 { for p in 0..<120 where keep[p] { #expect(out[ch * 120 + p] == image.scalars[ch * 120 + p]) } }
        #expect(throws: ExplainError.self) {
            try LinearImputation.impute(image.scalars, channels: 3, height: 12, width: 10, keep: [Bool](repeating: false, count: 120), noise: 0, rng: &rng)
        }
    }

    @Test(arguments: ["random", "blob"]) func scoresArePytorchGradCams(kind: String) throws {
        let f = try FixtureModels.load("digits-cnn")
        let cams = try #require(Self.archive["cams_\(kind)"]).tensor()
        let map = try cams.reshaped([cams.shape[0], 1, cams.shape[1], cams.shape[2]])
        let targets = try #require(Self.archive["targets"]).integers()
        let r = try ROAD(noise: 0).evaluate(model: f.model, input: f.input, attribution: map, target: .indices(targets))
        func close(_ got: [Double], _ name: String) throws {
            let want = try Self.values(name)
            #expect(got.count == want.count)
            for (g, w) in zip(got, want) { #expect(abs(g - w) < 1e-4 * max(1, abs(w)), "\(name): \(g) vs \(w)") }
        }
        for (j, p) in [10, 20, 30, 40, 50, 60, 70, 80, 90].enumerated() {
            try close(r.morf[j], "morf_\(kind)_p\(p)")
            try close(r.lerf[j], "lerf_\(kind)_p\(p)")
        }
        try close(r.morfMean, "morf_\(kind)_mean")
        try close(r.lerfMean, "lerf_\(kind)_mean")
        try close(r.combined, "combined_\(kind)")
        // Noise is seeded: the same seed, the same scores.
        let noisy = try ROAD(percentiles: [50], noise: 0.05, seed: 4)
        #expect(try noisy.evaluate(model: f.model, input: f.input, attribution: map, target: .indices(targets)).combined
                == (try noisy.evaluate(model: f.model, input: f.input, attribution: map, target: .indices(targets)).combined))
    }

    /// The confidence metrics equal pytorch-grad-cam's CamMultImageConfidenceChange with the logit
    /// and with the softmax probability as the target (maps given as they are); Average Drop and
    /// Increase in Confidence follow from the probabilities.
    @Test(arguments: ["random", "blob"]) func confidenceIsPytorchGradCams(kind: String) throws {
        let f = try FixtureModels.load("digits-cnn")
        let cams = try #require(Self.archive["cams_\(kind)"]).tensor()
        let map = try cams.reshaped([cams.shape[0], 1, cams.shape[1], cams.shape[2]])
        let targets = try #require(Self.archive["targets"]).integers()
        let r = try ConfidenceChange(minMaxScale: false).evaluate(model: f.model, input: f.input, attribution: map, target: .indices(targets))
        let logit = try Self.values("confidence_logit_\(kind)"), probability = try Self.values("confidence_prob_\(kind)")
        for (g, w) in zip(r.change, logit) { #expect(abs(g - w) < 1e-4 * max(1, abs(w)), "\(g) vs \(w)") }
        let y = try #require(r.probabilityBefore), o = try #require(r.probabilityAfter)
        for s in 0..<y.count { #expect(abs((o[s] - y[s]) - probability[s]) < 1e-5, "\(o[s] - y[s]) vs \(probability[s])") }
        let drop = zip(y, o).reduce(0.0) { $0 + max(0, $1.0 - $1.1) / $1.0 } / Double(y.count) * 100
        #expect(abs((r.averageDrop ?? .nan) - drop) < 1e-9)
    }

    @Test func badInputIsANamedError() throws {
        let f = try FixtureModels.load("digits-cnn")
        #expect(throws: ExplainError.self) { try ROAD(percentiles: [120]) }
        #expect(throws: ExplainError.self) { try ROAD(noise: -1) }
        let wrong = Tensor(shape: [f.input.shape[0], 1, 8, 8], repeating: 0)
        #expect(throws: ExplainError.self) { try ROAD().evaluate(model: f.model, input: f.input, attribution: wrong, target: .max) }
    }
}
