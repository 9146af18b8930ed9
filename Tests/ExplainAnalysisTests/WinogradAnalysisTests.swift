import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// Every backprop method on a small VGG-like network (3×3 layers wide enough for `automatic` to
/// pick Winograd) gives the same explanation as with im2col everywhere, to float32 precision.
@Suite struct WinogradAnalysisTests {
    static func network() throws -> Graph {
        var rng = TestRandom(seed: 21)
        var b = GraphBuilder()
        var x = b.addInput(name: "input", shape: [nil, 3, 24, 24])
        var cin = 3
        for (i, (width, pool)) in [(32, false), (48, true), (64, false), (64, true)].enumerated() {
            let bound = (6 / Float(cin * 9)).squareRoot()
            x = try b.add(try Conv2D(weight: rng.tensor([width, cin, 3, 3], -bound...bound), bias: rng.tensor([width], -0.05...0.05),
                                     pads: (1, 1, 1, 1)), inputs: [x], name: "conv\(i)")
            x = try b.add(Relu(), inputs: [x], name: "relu\(i)")
            if pool { x = try b.add(try MaxPool2D(kernel: (2, 2)), inputs: [x], name: "pool\(i)") }
            cin = width
        }
        x = try b.add(Flatten(), inputs: [x], name: "flatten")
        x = try b.add(try Dense(weight: rng.tensor([10, 64 * 36], -0.05...0.05), bias: rng.tensor([10], -0.05...0.05)), inputs: [x], name: "fc")
        return try b.build(outputs: [x])
    }

    @Test func explanationsMatchIm2col() throws {
        let graph = try Self.network()
        let winograd = graph.nodes.compactMap { $0.layer as? Conv2D }.filter(\.isWinograd).count
        #expect(winograd == 3)   // all but the 3-channel first layer
        let im2col = try graph.withConvAlgorithm(.im2col)
        #expect(im2col.nodes.compactMap { $0.layer as? Conv2D }.allSatisfy { !$0.isWinograd })
        var rng = TestRandom(seed: 4)
        let input = rng.tensor([2, 3, 24, 24], 0...1)
        let registry = ConformanceTests.registry
        let methods = ["gradient", "input_t_gradient", "guided_backprop", "deconvnet", "lrp.epsilon", "lrp.z_plus",
                       "lrp.epsilon_plus_flat", "lrp.epsilon_gamma_box", "lrp.epsilon_alpha2_beta1", "lrp.alpha_2_beta_1"]
        for id in methods {
            let options = try Options(parsing: id == "lrp.epsilon_gamma_box" ? ["low=0", "high=1"] : [])
            let a = try registry.makeAnalyzer(id, model: ExplainableModel(graph: graph), options: options).analyze(input, target: .max)
            let b = try registry.makeAnalyzer(id, model: ExplainableModel(graph: im2col), options: options).analyze(input, target: .max)
            let d = Deviation(a.values, b.values)
            #expect(d.relL2 < 1e-5, "\(id): \(d)")
        }
    }
}
