import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// Quantus's faithfulness metrics: FaithfulnessEstimate, Selectivity and RegionPerturbation equal
/// Quantus 0.6.0 on the digits CNN (Tools/make_faithfulness_fixture.py); Monotonicity (the paper's
/// definition; Quantus's always says True) against a linear model, where it is known exactly.
@Suite struct FaithfulnessTests {
    static func fixture() throws -> (ExplainableModel, Tensor, Tensor, Target, [String: NumpyArray]) {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/faithfulness_cases.npz")
        let f = try FixtureModels.load("digits-cnn")
        let targets = try #require(archive["targets"]).tensor().scalars.map { Int($0) }
        return (f.model, f.input, try #require(archive["attributions"]).tensor(), .indices(targets), archive)
    }

    static func expected(_ archive: [String: NumpyArray], _ name: String, rows: Int) throws -> [[Double]] {
        let values: [Float] = try #require(archive[name]).tensor().scalars
        let per = values.count / rows
        var out: [[Double]] = []
        for s in 0..<rows { out.append(values[(s * per)..<((s + 1) * per)].map { Double($0) }) }
        return out
    }

    static func close(_ got: [[Double]], _ want: [[Double]], _ name: String, tolerance: Double) {
        #expect(got.count == want.count && zip(got, want).allSatisfy { $0.count == $1.count }, "\(name): shapes")
        for (s, (g, w)) in zip(got, want).enumerated() {
            let scale = max(1, w.map(abs).max() ?? 0)
            let worst = zip(g, w).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= tolerance * scale, "\(name) sample \(s): off by \(worst)")
        }
    }

    @Test(arguments: [("faithfulness_estimate_k8_black", 8, "black"), ("faithfulness_estimate_k16_zero", 16, "0"),
                      ("faithfulness_estimate_k1_white", 1, "white")])
    func faithfulnessEstimateMatchesQuantus(_ name: String, _ k: Int, _ fill: String) throws {
        let (model, x, a, target, archive) = try Self.fixture()
        let got = try FaithfulnessEstimate(featuresInStep: k, fill: try FillValue(fill)).evaluate(model: model, input: x, attribution: a, target: target)
        Self.close(got.map { [$0] }, try Self.expected(archive, name, rows: 4), name, tolerance: 1e-4)
    }

    @Test(arguments: [("selectivity_p4_black", PatchPerturbation.Kind.selectivity, 4, "morf", nil as Int?, "black"),
                      ("selectivity_p3_zero", .selectivity, 3, "morf", nil, "0"),
                      ("region_perturbation_p4_morf_r10_black", .regionPerturbation, 4, "morf", 10, "black"),
                      ("region_perturbation_p3_lerf_white", .regionPerturbation, 3, "lerf", 100, "white")])
    func patchMetricsMatchQuantus(_ name: String, _ kind: PatchPerturbation.Kind, _ p: Int, _ order: String, _ regions: Int?, _ fill: String) throws {
        let (model, x, a, target, archive) = try Self.fixture()
        let metric = try PatchPerturbation(kind: kind, patchSize: p, order: try #require(PixelFlipping.Order(rawValue: order)), regions: regions,
                                           fill: try FillValue(fill))
        let r = try metric.evaluate(model: model, input: x, attribution: a, target: target)
        let want = try Self.expected(archive, name, rows: 4)
        Self.close(r.curves, want, name, tolerance: 2e-5)
        for (s, curve) in want.enumerated() {
            let trapz = zip(curve, curve.dropFirst()).reduce(0.0) { $0 + ($1.0 + $1.1) / 2 }
            #expect(abs(r.auc[s] - trapz) <= 1e-4 * max(1, abs(trapz)), "\(name) sample \(s) AUC")
        }
    }

    /// Quantus's grid: 16 rows in patches of 3 leave 2 rows of padding, 1 before and 1 after, so the
    /// first and last patch rows hold 2 image rows; 4 divides 16 without padding.
    @Test func patchGridIsCentredLikeQuantus() {
        let three = PatchPerturbation.patches(sampleShape: [1, 16, 16], side: 3)
        #expect(three.count == 36 && three[0] == [0, 1, 16, 17] && three[35] == [238, 239, 254, 255])
        #expect(Set(three.flatMap { $0 }).count == 256 && three.map(\.count).reduce(0, +) == 256)
        let four = PatchPerturbation.patches(sampleShape: [2, 16, 16], side: 4)
        #expect(four.count == 16 && four.allSatisfy { $0.count == 32 } && four[1].first == 4)
    }

    /// On f = w · x with fill 0 the drop of a set of features is the sum of their w ⊙ x: the exact
    /// attribution has faithfulness estimate 1 and, given back in ascending order, its curve is the
    /// running sum of the sorted contributions, monotonic exactly when none is negative.
    @Test func linearModelClosedForms() throws {
        let (model, w) = try EvaluationTests.linearImage(seed: 4)
        var rng = TestRandom(seed: 5)
        let x = rng.tensor([2, 1, 4, 4])
        let contributions = (0..<32).map { Double(w.scalars[$0 % 16]) * Double(x.scalars[$0]) }
        let exact = try Tensor(shape: x.shape, scalars: contributions.map { Float($0) })
        let estimate = try FaithfulnessEstimate(featuresInStep: 3, fill: .value(0)).evaluate(model: model, input: x, attribution: exact, target: .index(0))
        #expect(estimate.allSatisfy { abs($0 - 1) < 1e-5 }, "\(estimate)")
        let reversed = try FaithfulnessEstimate(featuresInStep: 3, fill: .value(0))
            .evaluate(model: model, input: x, attribution: try Tensor(shape: x.shape, scalars: exact.scalars.map { -$0 }), target: .index(0))
        #expect(reversed.allSatisfy { abs($0 + 1) < 1e-5 }, "a negated map predicts every drop with the wrong sign: \(reversed)")

        let signed = try Monotonicity(featuresInStep: 1, fill: .value(0), absolute: false).evaluate(model: model, input: x, attribution: exact, target: .index(0))
        for s in 0..<2 {
            let sorted = contributions[(s * 16)..<((s + 1) * 16)].sorted()
            var running = 0.0
            for (k, c) in sorted.enumerated() {
                running += c
                #expect(abs(signed.curves[s][k] - running) < 1e-5, "sample \(s) step \(k)")
            }
            #expect(signed.monotonic[s] == (sorted.first ?? 0 >= 0))
        }
        // Positive contributions only (x ⊙ sign(w)): monotonic in either ordering.
        let positive = try Tensor(shape: x.shape, scalars: (0..<32).map { abs(x.scalars[$0]) * (w.scalars[$0 % 16] >= 0 ? 1 : -1) })
        let m = try Monotonicity(featuresInStep: 2, fill: .value(0)).evaluate(model: model, input: positive, attribution: exact, target: .index(0))
        #expect(m.monotonic == [true, true] && m.curves[0].count == 8)
        // More features per step than there are (up to Int.max): one step with every feature, as
        // with exactly 16 (found by fuzzing: the step count overflowed).
        for huge in [16, 17, Int.max] {
            let one = try Monotonicity(featuresInStep: huge, fill: .value(0)).evaluate(model: model, input: positive, attribution: exact, target: .index(0))
            #expect(one.curves.map(\.count) == [1, 1], "features_in_step \(huge)")
            #expect(try FaithfulnessEstimate(featuresInStep: huge, fill: .value(0)).evaluate(model: model, input: x, attribution: exact, target: .index(0)).count == 2)
        }
        #expect(throws: ExplainError.self) { try HOG(cell: Int.max) }
    }

    /// A one-channel map of a three-channel image (an upsampled CAM, XRAI) counts as the map
    /// repeated over the channels, for the metrics that rank features; infidelity refuses it.
    @Test func oneChannelMapsAreSpreadOverTheChannels() throws {
        var rng = TestRandom(seed: 12)
        var b = GraphBuilder()
        let input = b.addInput(name: "x", shape: [nil, 3, 4, 4])
        let flat = try b.add(Flatten(), inputs: [input], name: "flat")
        let y = try b.add(try Dense(weight: rng.tensor([2, 48])), inputs: [flat], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [y]))
        let x = rng.tensor([2, 3, 4, 4]), map = rng.tensor([2, 1, 4, 4])
        let repeated = try Tensor.broadcasting(map, Tensor(shape: x.shape, repeating: 1), MultiplyFunction.self)
        let flip = try PixelFlipping(steps: 4, region: 2)
        #expect(try flip.evaluate(model: model, input: x, attribution: map, target: .index(1)).curves
                == flip.evaluate(model: model, input: x, attribution: repeated, target: .index(1)).curves)
        let patches = try PatchPerturbation(kind: .regionPerturbation, patchSize: 2, regions: 3)
        #expect(try patches.evaluate(model: model, input: x, attribution: map, target: .index(1)).curves
                == patches.evaluate(model: model, input: x, attribution: repeated, target: .index(1)).curves)
        let infidelity = #expect(throws: ExplainError.self) { try Infidelity().evaluate(model: model, input: x, attribution: map, target: .index(1)) }
        #expect(infidelity?.message.contains("input-shaped") == true)
    }

    @Test func badArgumentsAreNamedErrors() throws {
        let (model, x, a, target, _) = try Self.fixture()
        #expect(throws: ExplainError.self) { try FillValue("grey") }
        #expect(throws: ExplainError.self) { try FaithfulnessEstimate(featuresInStep: 0) }
        #expect(throws: ExplainError.self) { try PatchPerturbation(kind: .selectivity, order: .lerf) }
        let small = #expect(throws: ExplainError.self) {
            try PatchPerturbation(kind: .selectivity, patchSize: 4).evaluate(model: model, input: x, attribution: Tensor(shape: [4, 1, 2, 2]), target: target)
        }
        #expect(small?.message.contains("input-shaped") == true)
        let tabular = #expect(throws: ExplainError.self) {
            try PatchPerturbation(kind: .regionPerturbation).evaluate(model: model, input: try x.reshaped([4, 256]), attribution: try a.reshaped([4, 256]), target: target)
        }
        #expect(tabular?.message.contains("(N, C, H, W)") == true)
    }
}
