import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// TCAV against Captum 0.9.0 (Tools/make_tcav_fixture.py: its TCAV with an exactly solved L2
/// logistic regression as the CAV classifier) and the logistic regression's optimality.
@Suite struct TCAVTests {
    static let cases: [String: NumpyArray]? = try? NumpyArchive.read(path: TestPaths.arrays + "/tcav_cases.npz")

    func array(_ name: String) throws -> Tensor {
        let archive = try #require(Self.cases)
        return try #require(archive[name]).tensor()
    }

    /// Per layer, concept and random set: the CAV equals Captum's, and so do the scores
    /// (sign_count exactly, magnitude — the mean directional derivative — to float precision).
    @Test(arguments: [("conv3", "/conv3/Conv"), ("relu4", "/relu4/Relu")])
    func cavsAndScoresMatchCaptum(_ tag: String, _ layer: String) throws {
        let imported = try ONNXImporter.load(path: TestPaths.reference + "/digits-cnn/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        let inputs = try array("inputs")
        let tcav = try TCAV(model: model, layer: layer, inputShape: inputs.shape)
        for concept in ["bar", "ring"] {
            for random in ["0", "1"] {
                let key = "\(tag)_\(concept)_\(random)"
                let (cav, accuracy) = try tcav.cav(concept: try array("concept_\(concept)"), random: try array("random_\(random)"))
                let expected = try array(key + "_cav")
                let d = Deviation(try cav.reshaped([1, cav.count]), try expected.reshaped([1, expected.count]))   // one sample: relative L2 of the whole vector
                #expect(d.relL2 < 1e-5, "\(key) CAV: \(d)")
                #expect(accuracy == 1)
                let s = try tcav.score(inputs, target: .index(6), concept: try array("concept_\(concept)"), random: try array("random_\(random)"))
                let scores = try array(key + "_scores").scalars
                #expect(Float(s.signCount) == scores[0], "\(key) sign_count \(s.signCount) vs \(scores[0])")
                #expect(abs(Float(s.magnitude) - scores[1]) <= 1e-4 * max(abs(scores[1]), 1e-3), "\(key) magnitude \(s.magnitude) vs \(scores[1])")
            }
        }
    }

    /// At the optimum the gradient of `½‖w‖² + C Σ log(1 + e^(−y(x·w + b)))` vanishes, and
    /// swapping the classes negates the weights and the intercept.
    @Test func logisticRegressionReachesTheOptimum() throws {
        var rng = TestRandom(seed: 5)
        let samples = (0..<30).map { i in (0..<6).map { _ in Double(rng.tensor([1], -1...1).scalars[0]) + (i < 15 ? 0.3 : -0.3) } }
        let labels = (0..<30).map { $0 < 15 }
        let fit = try LogisticRegression(samples: samples, positive: labels, c: 2)
        var gw = fit.weights, gb = 0.0
        for (x, p) in zip(samples, labels) {
            let y = p ? 1.0 : -1.0
            let m = y * (zip(x, fit.weights).reduce(fit.intercept) { $0 + $1.0 * $1.1 })
            let f = 2 * y / (1 + exp(m))          // C y σ(−m)
            for j in 0..<6 { gw[j] -= f * x[j] }
            gb -= f
        }
        #expect(gw.map(abs).max()! < 1e-9 && abs(gb) < 1e-9)
        let flipped = try LogisticRegression(samples: samples, positive: labels.map { !$0 }, c: 2)
        #expect(zip(flipped.weights, fit.weights).allSatisfy { abs($0 + $1) < 1e-9 } && abs(flipped.intercept + fit.intercept) < 1e-9)
        #expect(throws: ExplainError.self) { try LogisticRegression(samples: samples, positive: labels.map { _ in true }) }
    }
}
