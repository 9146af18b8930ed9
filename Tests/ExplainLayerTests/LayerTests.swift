import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// The layer family: Captum's numbers (Tests/Fixtures/layer), the identities that tie the methods
/// together, completeness, the default layer, and bad input.
@Suite struct LayerTests {
    static var registry: Registry { FixtureModels.registry }

    func analyze(_ id: String, _ model: ExplainableModel, _ x: Tensor, _ options: [String: String] = [:]) throws -> Attribution {
        try Self.registry.makeAnalyzer(id, model: model, options: Options(options)).analyze(x, target: .max)
    }

    /// Every case of the Captum layer and neuron fixtures passes under its manifest tolerance (the
    /// neuron cases run the `neuron_*` methods with Captum's neuron tuple).
    @Test func captumFixturesPass() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.layer, registry: Self.registry)
        #expect(summary.passed == 92 && summary.failed == 0 && summary.skipped.isEmpty)
        #expect(summary.results.filter { $0.id.hasPrefix("neuron_") }.count == 32)
    }

    /// A neuron case must say which neuron: the case fails with a message, the others still run.
    @Test func neuronCaseWithoutIndexFails() throws {
        let dir = NSTemporaryDirectory() + "explainkit-neuron-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = dir + "/mlp"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for f in ["model.onnx", "input.npy", "targets.npy", "layer_gradient_relu1_relu.npy"] {
            try FileManager.default.copyItem(atPath: TestPaths.layer + "/cancer-mlp/" + f, toPath: model + "/" + f)
        }
        let manifest = #"{"cases": [{"id": "n", "method": "NeuronGradient", "params": {"neuron_node": "/relu1/Relu"}}, "#
            + #"{"id": "layer_gradient_relu1_relu", "method": "LayerGradientXActivation", "params": {"onnx_node": "/relu1/Relu", "multiply_by_inputs": false}}]}"#
        try manifest.write(toFile: model + "/manifest.json", atomically: true, encoding: .utf8)
        let summary = try ConformanceRunner(registry: Self.registry).run(fixtures: dir, out: dir + "/out") { _ in }
        #expect(summary.passed == 1 && summary.failed == 1)
        guard case .failed(let why) = summary.results.first(where: { $0.id == "n" })?.outcome else { Issue.record("not failed"); return }
        #expect(why.contains("neuron_index"))
    }

    /// On a ReLU network LRP-0 at a layer equals the layer's output times the gradient there
    /// (the layer-wise form of "LRP-0 = Input × Gradient").
    @Test func lrpZeroAtALayerIsGradientTimesActivation() throws {
        for (name, layer) in [("digits-cnn", "/conv3/Conv_output_0"), ("digits-cnn", "/relu4/Relu_output_0"), ("cancer-mlp", "/relu1/Relu_output_0")] {
            let f = try FixtureModels.load(name)
            let lrp = try analyze("layer_lrp", f.model, f.input, ["layer": layer, "base": "lrp.z"])
            let gxa = try analyze("layer_gradient_x_activation", f.model, f.input, ["layer": layer])
            #expect(lrp.values.shape == gxa.values.shape)
            #expect(relativeL2(lrp.values, gxa.values) < 1e-5, "\(name) \(layer)")
            // Conservation is reported against the seed (the target logit).
            #expect(lrp.delta?.count == f.input.shape[0])
        }
    }

    /// DeepLIFT at a layer that every path to the output crosses is complete: Σ R = f_t(x) − f_t(x0).
    /// Inside a residual block it is not (part of the change flows around the layer), and the delta shows it.
    @Test func layerDeepLiftIsComplete() throws {
        for (name, layer) in [("digits-cnn", "/conv3/Conv"), ("digits-resnet", "/block1/relu2/Relu")] {
            let f = try FixtureModels.load(name)
            let delta = try #require(try analyze("layer_deeplift", f.model, f.input, ["layer": layer]).delta)
            #expect(delta.count == 4)
            for (s, d) in delta.enumerated() { #expect(abs(d) < 1e-4, "\(name) sample \(s): \(d)") }
        }
        let f = try FixtureModels.load("digits-resnet")
        let inside = try #require(try analyze("layer_deeplift", f.model, f.input, ["layer": "/block1/relu1/Relu"]).delta)
        #expect(inside.map(abs).max()! > 0.1)
    }

    /// Where only a linear head follows the layer, Layer IG (any steps) and conductance with both end
    /// points are exactly complete; in general Layer IG converges to completeness along its path.
    @Test func pathMethodsAreComplete() throws {
        let f = try FixtureModels.load("digits-cnn")
        for (id, options) in [("layer_integrated_gradients", ["steps": "4"]), ("layer_conductance", ["steps": "16", "method": "riemann_trapezoid"])] {
            let delta = try #require(try analyze(id, f.model, f.input, options.merging(["layer": "/relu4/Relu"]) { $1 }).delta)
            for d in delta { #expect(abs(d) < 1e-4, "\(id): \(d)") }
        }
        let r = try FixtureModels.load("digits-resnet")
        func worst(_ steps: Int) throws -> Double {
            let a = try analyze("layer_integrated_gradients", r.model, r.input, ["layer": "/block1/relu1/Relu", "steps": "\(steps)"])
            return try #require(a.delta).map(abs).max() ?? 0
        }
        let coarse = try worst(8), fine = try worst(256)
        #expect(fine < 0.02 && fine < coarse / 4, "delta \(coarse) at 8 steps, \(fine) at 256")
    }

    /// Internal influence with one point at α = 1 is the gradient at the layer.
    @Test func internalInfluenceWithOnePointIsTheLayerGradient() throws {
        let f = try FixtureModels.load("digits-cnn")
        let influence = try analyze("internal_influence", f.model, f.input, ["layer": "/conv3/Conv", "steps": "1", "method": "riemann_right"])
        let gradient = try analyze("layer_gradient_x_activation", f.model, f.input, ["layer": "/conv3/Conv", "multiply": "false"])
        #expect(relativeL2(influence.values, gradient.values) < 1e-6)
    }

    /// Summed over every neuron of a layer that all paths cross, neuron conductance is Integrated
    /// Gradients with the same quadrature (the chain rule through the layer).
    @Test func neuronConductanceSumsToIntegratedGradients() throws {
        let f = try FixtureModels.load("cancer-mlp")
        let options = ["steps": "8", "method": "gausslegendre"]
        let ig = try analyze("integrated_gradients", f.model, f.input, options)
        var sum = [Double](repeating: 0, count: ig.values.count)
        for neuron in 0..<16 {
            let a = try analyze("neuron_conductance", f.model, f.input, options.merging(["layer": "/relu1/Relu", "neuron": "\(neuron)"]) { $1 })
            for (i, v) in a.values.scalars.enumerated() { sum[i] += Double(v) }
        }
        let summed = try Tensor(shape: ig.values.shape, scalars: sum.map(Float.init))
        #expect(relativeL2(summed, ig.values) < 1e-5)
    }

    /// With torch's draws (`rng=torch`), Shapley value sampling and feature and layer permutation equal Captum's own runs after
    /// `torch.manual_seed` (Tests/Fixtures/permutation): `torch.randperm` reproduced bit for bit.
    @Test func captumPermutationsWithTorchsDraws() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/permutation")
        // 2 × ShapleyValueSampling, 3 × FeaturePermutation, 3 × LayerFeaturePermutation.
        #expect(summary.passed == 8 && summary.failed == 0 && summary.skipped.isEmpty)
        var rng = MersenneTwister(seed: 3)
        let perm = rng.torchPermutation(10)
        #expect(perm.sorted() == Array(0..<10) && perm != Array(0..<10))
        #expect(throws: ExplainError.self) { try BatchPermutation.draw(units: 1, batch: 2, seed: 1 << 33, torch: true) }
    }

    /// Before a linear head `f_t = Σ_j w_j a_j + b`, permuting neuron j across the batch gives
    /// `R_j(s) = w_j (a_j(s) − a_j(π(s)))`: with ablation to 0 giving `R0_j(s) = w_j a_j(s)`, the values
    /// `R0_j − R_j` are a permutation of `R0_j` and `R_j` sums to 0 over the batch. Seeded, and a
    /// batch of one is a named error.
    @Test func layerPermutationBeforeALinearHeadSwapsSamples() throws {
        let f = try FixtureModels.load("cancer-mlp")
        func run(_ id: String, _ options: [String: String], _ x: Tensor) throws -> [Float] {
            try Self.registry.makeAnalyzer(id, model: f.model, options: Options(options)).analyze(x, target: .index(1)).values.scalars
        }
        let permuted = try run("layer_feature_permutation", ["layer": "/relu2/Relu", "seed": "5"], f.input)
        let ablated = try run("layer_feature_ablation", ["layer": "/relu2/Relu"], f.input)
        let n = f.input.shape[0], units = permuted.count / n
        for j in 0..<units {
            let r = (0..<n).map { Double(permuted[$0 * units + j]) }, r0 = (0..<n).map { Double(ablated[$0 * units + j]) }
            #expect(abs(r.reduce(0, +)) < 1e-5)
            for (a, b) in zip(zip(r0, r).map { $0 - $1 }.sorted(), r0.sorted()) { #expect(abs(a - b) < 1e-5) }
        }
        #expect(try run("layer_feature_permutation", ["layer": "/relu2/Relu", "seed": "5"], f.input) == permuted)
        #expect(throws: ExplainError.self) { try run("layer_feature_permutation", ["layer": "/relu2/Relu"], try f.input.sample(0)) }
    }

    /// Before a linear head, removing a neuron changes the logit by exactly its share:
    /// feature ablation at the layer equals gradient × activation there.
    @Test func layerAblationBeforeALinearHeadIsGradientTimesActivation() throws {
        let f = try FixtureModels.load("digits-cnn")
        let ablation = try analyze("layer_feature_ablation", f.model, f.input, ["layer": "/relu4/Relu"])
        let gxa = try analyze("layer_gradient_x_activation", f.model, f.input, ["layer": "/relu4/Relu"])
        #expect(relativeL2(ablation.values, gxa.values) < 1e-4)
        // Per channel, every element of a channel holds the channel's value.
        let channels = try analyze("layer_feature_ablation", f.model, f.input, ["layer": "/conv3/Conv", "per": "channel"])
        let v = channels.values.scalars
        #expect(channels.values.shape == [4, 16, 8, 8])
        #expect((0..<(4 * 16)).allSatisfy { c in Set(v[(c * 64)..<(c * 64 + 64)]).count == 1 })
    }

    /// Before a linear head the gradient at the layer is constant, so Layer GradientSHAP without
    /// noise and with one baseline is Layer DeepLIFT against it, whatever the draws; Layer
    /// DeepLIFT-SHAP is complete against the mean baseline output where every path crosses the layer.
    @Test func layerShapVariants() throws {
        let f = try FixtureModels.load("digits-cnn")
        let shap = try analyze("layer_gradient_shap", f.model, f.input, ["layer": "/relu4/Relu", "samples": "7", "baselines": "-0.5"])
        let deeplift = try analyze("layer_deeplift", f.model, f.input, ["layer": "/relu4/Relu", "baseline": "-0.5"])
        #expect(relativeL2(shap.values, deeplift.values) < 1e-5)
        let noisy = ["layer": "/conv3/Conv", "samples": "4", "stdev": "0.1", "seed": "3"]
        #expect(try analyze("layer_gradient_shap", f.model, f.input, noisy).values == (try analyze("layer_gradient_shap", f.model, f.input, noisy).values))
        var options = Options(["layer": "/conv3/Conv", "baselines": "file:baselines.npy"])
        options.tensors["baselines"] = try Numpy.readTensor(path: TestPaths.layer + "/digits-cnn/baselines.npy")
        let a = try Self.registry.makeAnalyzer("layer_deeplift_shap", model: f.model, options: options).analyze(f.input, target: .max)
        for d in try #require(a.delta) { #expect(abs(d) < 1e-4) }
    }

    /// A sample gives the same result alone and inside a batch; every target kind works.
    @Test func batchesAndTargets() throws {
        let f = try FixtureModels.load("digits-resnet")
        for (id, options) in [("layer_integrated_gradients", ["steps": "5", "batch_size": "2"]), ("layer_conductance", ["steps": "4", "batch_size": "3"]),
                              ("layer_feature_ablation", ["per": "channel", "batch_size": "5"]),
                              ("neuron_conductance", ["steps": "4", "neuron": "10", "layer": "/block1/relu1/Relu"])] {
            let analyzer = try Self.registry.makeAnalyzer(id, model: f.model, options: Options(options))
            let batch = try analyzer.analyze(f.input, target: .max)
            let alone = try analyzer.analyze(try f.input.sample(2), target: .index(try #require(batch.targets)[2]))
            #expect(relativeL2(alone.values, try batch.values.sample(2)) < 1e-5, "\(id)")
            let all = try analyzer.analyze(f.input, target: .all)
            #expect(all.values.shape == batch.values.shape && all.targets == nil, "\(id)")
        }
    }

    /// Without a layer: the last feature map of an image model, the input of the last Dense of an MLP.
    @Test func defaultLayer() throws {
        let cnn = try FixtureModels.load("digits-cnn")
        let a = try analyze("layer_activation", cnn.model, cnn.input)
        #expect(a.values.shape == [4, 16, 8, 8])
        #expect(a.diagnostics.contains("layer: '/relu3/Relu_output_0'"))
        let mlp = try FixtureModels.load("cancer-mlp")
        let b = try analyze("layer_gradient_x_activation", mlp.model, mlp.input)
        #expect(b.values.shape == [4, 8])
        #expect(b.diagnostics.contains("layer: '/relu2/Relu_output_0'"))
        // A pooled value turned channels-last, (N, 1, 1, C) as in ConvNeXt's head, is no feature map.
        var rng = TestRandom(seed: 12)
        var g = GraphBuilder()
        let x = g.addInput(name: "x", shape: [nil, 2, 4, 4])
        let conv = try g.add(try Conv2D(weight: rng.tensor([3, 2, 3, 3]), pads: (1, 1, 1, 1)), inputs: [x], name: "conv")
        var v = try g.add(GlobalAveragePool(), inputs: [conv], name: "gap")
        v = try g.add(Transpose(perm: [0, 2, 3, 1]), inputs: [v], name: "channels_last")
        v = try g.add(Flatten(axis: 1), inputs: [v], name: "flat")
        v = try g.add(try Dense(weight: rng.tensor([2, 3])), inputs: [v], name: "fc")
        let model = ExplainableModel(graph: try g.build(outputs: [v]))
        #expect(try model.lastFeatureMap(inputShape: [1, 2, 4, 4]) == conv)
    }

    @Test func badInputGetsNamedErrors() throws {
        let f = try FixtureModels.load("digits-cnn")
        let unknown = #expect(throws: ExplainError.self) { try analyze("layer_conductance", f.model, f.input, ["layer": "/conv9/Conv"]) }
        #expect(unknown?.message.contains("/conv9/Conv") == true)
        let input = #expect(throws: ExplainError.self) { try analyze("layer_deeplift", f.model, f.input, ["layer": "input"]) }
        #expect(input?.message.contains("input") == true)
        let wrapped = #expect(throws: ExplainError.self) { try analyze("layer_lrp", f.model, f.input, ["base": "smoothgrad"]) }
        #expect(wrapped?.message.contains("single backward pass") == true)
        let flag = #expect(throws: ExplainError.self) { try analyze("layer_gradient_x_activation", f.model, f.input, ["multiply": "maybe"]) }
        #expect(flag?.message.contains("multiply") == true)
        #expect(throws: ExplainError.self) { try analyze("layer_integrated_gradients", f.model, f.input, ["method": "simpson"]) }
        let badNeuron = #expect(throws: ExplainError.self) { try analyze("neuron_conductance", f.model, f.input, ["layer": "/conv3/Conv", "neuron": "first"]) }
        #expect(badNeuron?.message.contains("neuron") == true)
        // Without a neuron: the most active one of each sample, named in the diagnostics, equal to naming it.
        let auto = try analyze("neuron_conductance", f.model, f.input, ["layer": "/relu4/Relu", "steps": "4"])
        let note = try #require(auto.diagnostics.first { $0.hasPrefix("neurons (most active per sample): ") })
        let first = try #require(Int(note.split(separator: "[")[1].split(separator: ",")[0]))
        let named = try analyze("neuron_conductance", f.model, try f.input.sample(0), ["layer": "/relu4/Relu", "steps": "4", "neuron": "\(first)"])
        #expect(relativeL2(named.values, try auto.values.sample(0)) < 1e-6)
        let outside = #expect(throws: ExplainError.self) { try analyze("neuron_conductance", f.model, f.input, ["layer": "/conv3/Conv", "neuron": "1024"]) }
        #expect(outside?.message.contains("1024 values") == true)
        #expect(throws: ExplainError.self) { try analyze("layer_feature_ablation", f.model, f.input, ["per": "pixel"]) }
        // A layer after the explained node.
        let inner = try f.model.explaining(node: "/relu3/Relu")
        for id in ["layer_integrated_gradients", "layer_feature_ablation", "layer_conductance", "layer_deeplift"] {
            let after = #expect(throws: ExplainError.self) { try analyze(id, inner, f.input, ["layer": "/fc1/Gemm"]) }
            #expect(after?.message.contains("does not depend") == true, "\(id)")
        }
    }

    func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
        var num = 0.0, den = 0.0
        a.withUnsafeBufferPointer { p in b.withUnsafeBufferPointer { q in
            for i in 0..<min(p.count, q.count) { num += Double(p[i] - q[i]) * Double(p[i] - q[i]); den += Double(q[i]) * Double(q[i]) }
        } }
        return (num / max(den, 1e-30)).squareRoot()
    }

    /// A text CNN with int64 token ids (Embedding, Conv1d, max over time): Captum's Layer IG and
    /// gradient × activation at the embedding and feature ablation over tokens, and a tiny BERT with
    /// its attention mask and token types bound — one row for the batch, or (bert-tiny-padded,
    /// sentences of different lengths) one row per sample: Layer IG at the word embeddings
    /// (Tests/Fixtures/text); input-gradient methods say that ids have no gradient; an id outside
    /// the vocabulary is named.
    @Test func textModelsAreExplainedAtTheEmbedding() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/text")
        #expect(summary.passed == 5 && summary.failed == 0 && summary.skipped.isEmpty)
        // BERT's three inputs: without the other two bound the import says how to bind them; a wrong name is named.
        let bert = TestPaths.fixtures + "/text/bert-tiny/model.onnx"
        let unbound = #expect(throws: ExplainError.self) { try ONNXImporter.load(path: bert) }
        #expect(unbound?.message.contains("--bind") == true)
        let wrong = #expect(throws: ExplainError.self) { try ONNXImporter.load(path: bert, options: ImportOptions(bind: ["mask": Tensor(shape: [1, 8])])) }
        #expect(wrong?.message.contains("attention_mask") == true)
        // Per-sample rows: runs of consecutive samples with equal rows share one import, and each
        // run equals explaining its samples alone with their row.
        let padded = TestPaths.fixtures + "/text/bert-tiny-padded"
        let mask = try Numpy.readTensor(path: padded + "/attention_mask.npy"), types = try Numpy.readTensor(path: padded + "/token_type_ids.npy")
        let x = try Numpy.readTensor(path: padded + "/input.npy")
        let repeated = try Tensor.concatenateBatches([try mask.sample(1), try mask.sample(1), try mask.sample(2)])
        let runs = SampleBindings(["attention_mask": repeated, "token_type_ids": try types.sample(1)], batch: 3)
        #expect(try runs.groups() == [0..<2, 2..<3] && runs.shared.keys.sorted() == ["token_type_ids"])
        #expect(!SampleBindings(["attention_mask": try mask.sample(0)], batch: 3).isPerSample)
        let options = Options(["layer": "/m/bert/embeddings/word_embeddings/Gather_output_0", "steps": "8"])
        let together = try runs.attribute(path: bert, input: x, target: .index(1)) { imported, xs, t in
            try Self.registry.makeAnalyzer("layer_integrated_gradients", model: ExplainableModel(graph: imported.graph, output: imported.logits), options: options)
                .analyze(xs, target: t)
        }
        #expect(together.diagnostics.contains { $0.contains("2 runs") })
        for s in 0..<3 {
            let alone = try ONNXImporter.load(path: bert, options: ImportOptions(bind: ["attention_mask": try repeated.sample(s), "token_type_ids": try types.sample(1)]))
            let one = try Self.registry.makeAnalyzer("layer_integrated_gradients", model: ExplainableModel(graph: alone.graph, output: alone.logits), options: options)
                .analyze(try x.sample(s), target: .index(1))
            #expect(Deviation(one.values, try together.values.sample(s)).maxAbs == 0, "sample \(s)")
        }
        var (model, ids, _) = try FixtureModels.load(folder: TestPaths.fixtures + "/text/text-cnn")
        let error = #expect(throws: ExplainError.self) { try analyze("gradient", model, ids) }
        #expect(error?.message.contains("layer_integrated_gradients") == true)
        ids.withUnsafeMutableBufferPointer { $0[3] = 40 }
        let bad = #expect(throws: ExplainError.self) { try model.graph.predict(ids) }
        #expect(bad?.message.contains("0..<40") == true)
    }
}
