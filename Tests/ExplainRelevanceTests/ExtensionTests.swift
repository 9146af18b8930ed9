import ExampleRulePlugin
import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// The extension path: a rule from a separate plugin module, registered, used in a Swift preset
/// and through the CLI rule parser, without any Core change.
@Suite struct ExtensionTests {
    @Test func pluginRuleWorksInPresetsAndRuleSpecs() throws {
        var registry = Registry()
        for p in defaultPlugins() + [ExampleRulePlugin.self] { try p.register(into: &registry) }
        let dir = TestPaths.reference + "/cancer-mlp"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")

        // From the command-line form …
        let viaSpec = try registry.makeAnalyzer("lrp", model: model, options: Options(["rules": "dense=epsilon_positive:0.01"]))
            .analyze(x, target: .max)
        // … and from a Swift preset.
        let preset = RelevancePresets.make("mine", [Preset.Entry(.kind(.dense), try PositiveEpsilonRule(epsilon: 0.01))])
        let viaSwift = try BackpropAnalyzer(id: "mine", model: model, preset: preset, seedValue: .outputValue).analyze(x, target: .max)
        #expect(viaSpec.values == viaSwift.values)
        #expect(viaSpec.values.scalars.allSatisfy { $0 >= 0 })

        // Replica: the same as LRP-ε(0.01) except that every Gemm keeps only positive relevance; on the
        // first layer alone it is max(0, ε-result) given the same incoming relevance.
        let firstOnly = try registry.makeAnalyzer("lrp", model: model, options: Options(["rules": "first=epsilon_positive:0.01;dense=epsilon:0.01"]))
            .analyze(x, target: .max)
        let plain = try registry.makeAnalyzer("lrp.epsilon", model: model, options: Options(["epsilon": "0.01"])).analyze(x, target: .max)
        #expect(Deviation(firstOnly.values, try Tensor(shape: plain.values.shape, scalars: plain.values.scalars.map { max(0, $0) })).maxAbs < 1e-6)
        #expect(try registry.rule("epsilon_positive").make([0.5]).description == "epsilon_positive(0.5)")
    }

    /// Docs/HowTo/WriteAnAnalyzer.md: an analyzer from a separate module, registered, made by id
    /// (with the registry's option checks), equal to its definition; bad input is a named error.
    @Test func pluginAnalyzerWorksById() throws {
        var registry = Registry()
        for p in defaultPlugins() + [ExampleAnalyzerPlugin.self] { try p.register(into: &registry) }
        let dir = TestPaths.reference + "/digits-cnn"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let a = try registry.makeAnalyzer("example.saliency_max", model: model).analyze(x, target: .max)
        let g = try registry.makeAnalyzer("gradient", model: model).analyze(x, target: .max).values
        #expect(a.values.shape == [4, 1, 16, 16] && a.delta == nil)
        // One input channel: the map is |gradient|.
        #expect(a.values.scalars == g.scalars.map(abs))
        #expect(throws: ExplainError.self) { try registry.makeAnalyzer("example.saliency_max", model: model, options: Options(["steps": "3"])) }
        let mlp = try ONNXImporter.load(path: TestPaths.reference + "/cancer-mlp/model.onnx")
        let wrong = #expect(throws: ExplainError.self) {
            try registry.makeAnalyzer("example.saliency_max", model: ExplainableModel(graph: mlp.graph, output: mlp.logits))
                .analyze(try Numpy.readTensor(path: TestPaths.reference + "/cancer-mlp/input.npy"), target: .max)
        }
        #expect(wrong?.message.contains("(N, C, H, W)") == true)
    }

    /// The HowTo's reference-reading rule, bound by a user preset with a baseline, gives DeepLIFT's
    /// numbers (they differ only where an input equals its reference exactly).
    @Test func aRuleReadingTheReferencePass() throws {
        var r = Registry()
        for p in defaultPlugins() { try p.register(into: &r) }
        let dir = TestPaths.reference + "/cancer-mlp"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        var analyzer = try BackpropAnalyzer(id: "mine", model: model, preset: Preset("mine") { when(.kind(.relu), use: DifferenceRatioRule()) },
                                            timesInput: true)
        analyzer.baseline = .value(0.1)
        let mine = try analyzer.analyze(x, target: .max)
        let deeplift = try r.makeAnalyzer("deeplift", model: model, options: Options(["baseline": "0.1"])).analyze(x, target: .max)
        #expect(Deviation(mine.values, deeplift.values).relL2 < 1e-5)
        #expect(mine.delta?.allSatisfy { abs($0) < 1e-4 } == true)
    }
}
