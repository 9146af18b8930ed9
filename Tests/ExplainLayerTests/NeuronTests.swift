import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// Captum's neuron methods (`neuron_*`, `neuron`): the neuron selector, the identity with the
/// base method explaining the inner node, and the fixture translation. Captum's numbers for
/// NeuronGradient, NeuronIntegratedGradients, NeuronDeepLift, NeuronDeepLiftShap,
/// NeuronGuidedBackprop, NeuronDeconvolution and NeuronFeatureAblation are in `LayerTests.captumFixturesPass`.
@Suite struct NeuronTests {
    static var registry: Registry { FixtureModels.registry }

    func analyze(_ id: String, _ model: ExplainableModel, _ x: Tensor, _ options: [String: String], target: Target = .max) throws -> Attribution {
        try Self.registry.makeAnalyzer(id, model: model, options: Options(options)).analyze(x, target: target)
    }

    @Test func selectorParsesFlatTupleAndMax() throws {
        #expect(try NeuronSelector("max") == .max)
        #expect(try NeuronSelector("229") == .flat(229))
        #expect(try NeuronSelector("3,4,5") == .tuple([3, 4, 5]))
        #expect(try NeuronSelector("(3, 4, 5)") == .tuple([3, 4, 5]))
        #expect(try NeuronSelector("[8]") == .tuple([8]))
        #expect(try NeuronSelector("3,4,5").flatIndex(in: [8, 7, 7], layer: "c") == 3 * 49 + 4 * 7 + 5)
        #expect(try NeuronSelector("[8]").flatIndex(in: [64], layer: "d") == 8)
        for bad in ["first", "-1", "3,,5", "3,-4", ""] {
            #expect(throws: ExplainError.self, "\(bad)") { try NeuronSelector(bad) }
        }
        let arity = #expect(throws: ExplainError.self) { try NeuronSelector("3,4").flatIndex(in: [8, 7, 7], layer: "conv") }
        #expect(arity?.message.contains("2 indices") == true && arity?.message.contains("3 axes") == true)
        let outside = #expect(throws: ExplainError.self) { try NeuronSelector("3,7,5").flatIndex(in: [8, 7, 7], layer: "conv") }
        #expect(outside?.message.contains("axis 1") == true)
        #expect(throws: ExplainError.self) { try NeuronSelector("392").flatIndex(in: [8, 7, 7], layer: "conv") }
    }

    /// `neuron_X` with a layer and neuron is X with that node as the explained output and the
    /// neuron as the target, for every sample — seeded draws included (GradientSHAP, SmoothGrad
    /// through `neuron --set base=smoothgrad`); the tuple and the flat index name the same neuron;
    /// `--target` is not read.
    @Test func neuronMethodIsTheBaseMethodAtTheNode() throws {
        let f = try FixtureModels.load("digits-cnn")
        let node = "/conv3/Conv_output_0", inner = try f.model.explaining(node: node)
        let shapes = try f.model.graph.inferShapes([[1] + f.input.shape.dropFirst()])
        let layerShape = Array(try #require(shapes[try f.model.graph.value(named: node)]).dropFirst())
        let flat = try #require(try NeuronSelector("3,4,5").flatIndex(in: layerShape, layer: node))
        for (id, base, extra) in [("neuron_gradient_shap", "gradient_shap", ["samples": "4", "seed": "7"]),
                                  ("neuron_feature_ablation", "feature_ablation", [:]),
                                  ("neuron_integrated_gradients", "integrated_gradients", ["steps": "8"])] {
            let a = try analyze(id, f.model, f.input, extra.merging(["layer": node, "neuron": "3,4,5"]) { $1 }, target: .index(1))
            let b = try analyze(base, inner, f.input, extra, target: .index(flat))
            #expect(Deviation(a.values, b.values).maxAbs == 0, "\(id)")
            #expect(a.targets == [Int](repeating: flat, count: f.input.shape[0]), "\(id)")
            let byIndex = try analyze(id, f.model, f.input, extra.merging(["layer": node, "neuron": "\(flat)"]) { $1 })
            #expect(Deviation(byIndex.values, a.values).maxAbs == 0, "\(id)")
        }
        let smooth = try analyze("neuron", f.model, f.input, ["base": "smoothgrad", "samples": "3", "layer": node, "neuron": "3,4,5"])
        let reference = try analyze("smoothgrad", inner, f.input, ["samples": "3"], target: .index(flat))
        #expect(Deviation(smooth.values, reference.values).maxAbs == 0)
    }

    /// `neuron=max` takes each sample's most active neuron of the layer and names them.
    @Test func mostActiveNeuronByDefault() throws {
        let f = try FixtureModels.load("cancer-mlp")
        let node = "/relu1/Relu_output_0"
        let a = try analyze("neuron_gradient", f.model, f.input, ["layer": node])
        let activations = try f.model.graph.predict(f.input, output: try f.model.graph.value(named: node))
        let expected = try #require(try Target.max.indices(for: activations))
        #expect(a.targets == expected)
        #expect(a.diagnostics.contains { $0.contains("most active") })
        let b = try analyze("gradient", try f.model.explaining(node: node), f.input, [:], target: .indices(expected))
        #expect(Deviation(a.values, b.values).maxAbs == 0)
    }

    @Test func badInputGetsNamedErrors() throws {
        let f = try FixtureModels.load("digits-cnn")
        let arity = #expect(throws: ExplainError.self) { try analyze("neuron_gradient", f.model, f.input, ["layer": "/conv3/Conv", "neuron": "3,4"]) }
        #expect(arity?.message.contains("/conv3/Conv") == true)
        let layerBase = #expect(throws: ExplainError.self) { try analyze("neuron", f.model, f.input, ["base": "layer_conductance"]) }
        #expect(layerBase?.message.contains("input attribution") == true)
        let unknown = #expect(throws: ExplainError.self) { try analyze("neuron", f.model, f.input, ["base": "gradiant"]) }
        #expect(unknown?.message.contains("gradient") == true)
        let option = #expect(throws: ExplainError.self) { try analyze("neuron_deeplift", f.model, f.input, ["steps": "4"]) }
        #expect(option?.message.contains("steps") == true)
        let input = #expect(throws: ExplainError.self) { try analyze("neuron_gradient", f.model, f.input, ["layer": "input"]) }
        #expect(input?.message.contains("input") == true)
    }

    /// Captum's `Neuron*` fixture cases translate to the `neuron_*` ids with the case's tuple.
    @Test func captumCasesTranslateToNeuronMethods() throws {
        let c = FixtureCase(id: "n", method: "NeuronIntegratedGradients", family: "neuron",
                            params: ["neuron_node": .string("/conv3/Conv_output_0"), "neuron_selector": .array([.number(3), .number(4), .number(5)]),
                                     "neuron_index": .number(229), "n_steps": .number(16), "method": .string("gausslegendre"), "baseline": .number(0)])
        let (id, options) = try #require(try Self.registry.translators["NeuronIntegratedGradients"]?.translate(c))
        #expect(id == "neuron_integrated_gradients")
        #expect(options.values["neuron"] == "3,4,5" && options.values["layer"] == "/conv3/Conv_output_0" && options.values["steps"] == "16")
    }
}
