import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// A model exported at batch size 1 whose batch cannot be opened (torchvision's ViT: sequence-first
/// attention folds the batch into constant shapes) runs batches one sample at a time. Every
/// registered method must give on it, for a batch of 3, the numbers it gives on the same model
/// exported with a dynamic batch (`Tests/Fixtures/fixed-batch/vit-b1`, `Tools/make_fixed_batch_models.py`):
/// seeded draws included, whichever way the method reaches the graph (backward passes, layer
/// passes, copies of a sample, reruns after a layer).
@Suite struct FixedBatchMethodsTests {
    static let dir = TestPaths.fixedBatch + "/vit-b1"

    /// Options for the methods that need some.
    static let options: [String: [String: String]] = [
        "pattern_net": ["data": "file:input.npy"], "pattern_attribution": ["data": "file:input.npy"],
        "deep_taylor.bounded": ["low": "-3", "high": "3"], "lrp.epsilon_gamma_box": ["low": "-3", "high": "3"],
    ]

    @Test func everyMethodGivesTheDynamicModelsNumbers() throws {
        var registry = Registry()
        for p in defaultPlugins() { try p.register(into: &registry) }
        let fixed = try ONNXImporter.load(path: Self.dir + "/model.onnx"), open = try ONNXImporter.load(path: Self.dir + "/dynamic.onnx")
        try #require(fixed.graph.runsOneSampleAtATime && open.graph.fixedBatch == nil)
        let x = try Numpy.readTensor(path: Self.dir + "/input.npy")
        var compared = 0
        for id in registry.analyzers.keys.sorted() {
            var options = Options(Self.options[id] ?? [:])
            if options.values["data"] != nil { options.tensors["data"] = x }
            func run(_ m: ImportedModel) -> Result<Attribution, ExplainError> {
                Result { try registry.makeAnalyzer(id, model: ExplainableModel(graph: m.graph, output: m.logits), options: options)
                    .analyze(x, target: .max) }.mapError { $0 as? ExplainError ?? ExplainError.argument("\($0)") }
            }
            // A method that does not apply to this model (e.g. Ablation-CAM on tokens) fails alike on both.
            let (a, b): (Attribution, Attribution)
            switch (run(fixed), run(open)) {
            case (.success(let x), .success(let y)): (a, b) = (x, y)
            case (.failure(let e), .failure(let f)):
                #expect(e.message == f.message, "\(id)")
                continue
            case (let x, let y):
                Issue.record("\(id): fixed batch \(x), dynamic batch \(y)")
                continue
            }
            #expect(a.values.shape == b.values.shape, "\(id)")
            let d = Deviation(a.values, b.values)
            // LRP-0 and LRP-ε with ε = 1e-6 divide by pre-activations near zero, which magnifies the
            // rounding of products blocked differently for one sample and for three.
            let ill = ["lrp.z", "lrp.z_IB", "lrp.epsilon", "lrp.epsilon_IB"].contains(id)
            #expect(d.relL2 < (ill ? 1e-3 : 1e-4) || d.maxAbs < 1e-6, "\(id): \(d)")
            #expect(a.targets == b.targets, "\(id)")
            compared += 1
        }
        #expect(compared >= registry.analyzers.count - 5)
    }

    /// A value that does not lead with the batch cannot be joined across samples: the layer
    /// methods name it and what to do instead of returning a wrongly stacked result.
    @Test func layerInsideSequenceFirstAttentionIsANamedError() throws {
        var registry = Registry()
        for p in defaultPlugins() { try p.register(into: &registry) }
        let fixed = try ONNXImporter.load(path: Self.dir + "/model.onnx")
        let x = try Numpy.readTensor(path: Self.dir + "/input.npy")
        let shapes = try fixed.graph.inferShapes([[1] + x.shape.dropFirst()])
        let model = ExplainableModel(graph: fixed.graph, output: fixed.logits)
        // A value before the output whose first axis is longer than 1 (the tokens, sequence first).
        let needed = fixed.graph.nodesNeeded(for: [fixed.logits]).map { fixed.graph.nodes[$0].output }
        let v = try #require(needed.first { (shapes[$0]?.count ?? 0) == 3 && (shapes[$0]?.first ?? 1) > 1 })
        let name = fixed.graph.valueNames[v]
        let error = #expect(throws: ExplainError.self) {
            try registry.makeAnalyzer("layer_gradient_x_activation", model: model, options: Options(["layer": name])).analyze(x, target: .max)
        }
        #expect(error?.message.contains("does not lead with the batch") == true && error?.message.contains("dynamic_axes") == true,
                "\(error?.message ?? "")")
    }
}
