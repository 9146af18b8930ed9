import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// β-smoothing of the Relu gradient against its closed form, the evaluation controls, and the
/// `excitation_backprop` alias.
@Suite struct ControlTests {
    static let registry: Registry = {
        var r = Registry()
        for p in defaultPlugins() { try? p.register(into: &r) }
        return r
    }()

    /// x → Dense(W1, b1) → Relu → Dense(w2): the β-smoothed gradient is W1ᵀ(σ(β z) ⊙ w2_t).
    @Test func betaSmoothMatchesItsClosedForm() throws {
        var rng = TestRandom(seed: 8)
        let w1 = rng.tensor([4, 3]), b1 = rng.tensor([4]), w2 = rng.tensor([2, 4])
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 3])
        var v = try b.add(try Dense(weight: w1, bias: b1), inputs: [x], name: "fc1")
        v = try b.add(Relu(), inputs: [v], name: "relu")
        v = try b.add(try Dense(weight: w2), inputs: [v], name: "fc2")
        let model = ExplainableModel(graph: try b.build(outputs: [v]))
        let input = rng.tensor([2, 3])
        let beta = 3.0
        let a = try Self.registry.makeAnalyzer("beta_smooth", model: model, options: Options(["beta": "\(beta)"])).analyze(input, target: .index(1))
        for s in 0..<2 {
            for i in 0..<3 {
                var expected = 0.0
                for j in 0..<4 {
                    let z = Double(b1.scalars[j]) + (0..<3).reduce(0.0) { $0 + Double(w1.scalars[j * 3 + $1]) * Double(input.scalars[s * 3 + $1]) }
                    expected += Double(w1.scalars[j * 3 + i]) * Double(w2.scalars[4 + j]) / (1 + exp(-beta * z))
                }
                #expect(abs(Double(a.values.scalars[s * 3 + i]) - expected) < 1e-5)
            }
        }
        // A very sharp softplus is the Relu: the gradient of the fixture CNN.
        let dir = TestPaths.reference + "/digits-cnn"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let cnn = ExplainableModel(graph: imported.graph, output: imported.logits)
        let xc = try Numpy.readTensor(path: dir + "/input.npy")
        let sharp = try Self.registry.makeAnalyzer("beta_smooth", model: cnn, options: Options(["beta": "1e5"])).analyze(xc, target: .max)
        let gradient = try Self.registry.makeAnalyzer("gradient", model: cnn).analyze(xc, target: .max)
        #expect(Deviation(sharp.values, gradient.values).relL2 < 1e-3)
        #expect(throws: ExplainError.self) { try Self.registry.makeAnalyzer("beta_smooth", model: cnn, options: Options(["beta": "0"])) }
    }

    @Test func controlsAndAliases() throws {
        let dir = TestPaths.reference + "/digits-cnn"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let cnn = ExplainableModel(graph: imported.graph, output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        #expect(try Self.registry.makeAnalyzer("input", model: cnn).analyze(x, target: .max).values == x)
        let random = try Self.registry.makeAnalyzer("random", model: cnn, options: Options(["stddev": "2", "seed": "5"]))
        let r = try random.analyze(x, target: .max)
        let again = try random.analyze(x, target: .max)
        #expect(r.values.shape == x.shape && r.values == again.values && r.targets?.count == 4)
        let values = r.values.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
        #expect(abs(mean) < 0.15 && abs(sd - 2) < 0.15)
        // zennit's ExcitationBackprop is lrp.z_plus.
        let eb = try Self.registry.makeAnalyzer("excitation_backprop", model: cnn).analyze(x, target: .max)
        let zPlus = try Self.registry.makeAnalyzer("lrp.z_plus", model: cnn).analyze(x, target: .max)
        #expect(eb.values == zPlus.values)
    }
}
