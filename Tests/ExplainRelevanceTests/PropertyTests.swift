import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

@Suite struct RelevancePropertyTests {
    static func registry() throws -> Registry {
        var r = Registry()
        for p in defaultPlugins() { try p.register(into: &r) }
        return r
    }

    /// A shared reference model (logits as output) and its input batch.
    static func reference(_ name: String) throws -> (ExplainableModel, Tensor) {
        let dir = TestPaths.reference + "/" + name
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        return (ExplainableModel(graph: imported.graph, output: imported.logits), try Numpy.readTensor(path: dir + "/input.npy"))
    }

    @Test func lrpZeroEqualsInputTimesGradientOnReluNetworks() throws {
        let r = try Self.registry()
        for name in ["digits-cnn", "cancer-mlp"] {
            let (model, x) = try Self.reference(name)
            let lrp = try r.makeAnalyzer("lrp.z", model: model).analyze(x, target: .max).values
            let ixg = try r.makeAnalyzer("input_t_gradient", model: model).analyze(x, target: .max).values
            #expect(Deviation(lrp, ixg).relL2 < 1e-4, "\(name)")
        }
    }

    /// iNNvestigate's `LRPSequentialPresetBFlatUntilIdx`: index k puts Flat on the Conv/Dense layers
    /// 0…k counted from the input (digits-cnn: conv1, conv2, conv3, fc1, fc2), so k = 0 is preset B
    /// flat, k = 2 equals preset B flat with Flat named on the three convolutions, and k = 3 also
    /// flattens fc1; the `positions` matcher's per-node answer equals its whole-graph mask.
    @Test func sequentialPresetBFlatUntilIndexCountsAffineLayers() throws {
        let r = try Self.registry()
        let (model, x) = try Self.reference("digits-cnn")
        func run(_ id: String, _ values: [String: String] = [:]) throws -> Tensor {
            try r.makeAnalyzer(id, model: model, options: Options(values)).analyze(x, target: .max).values
        }
        let until = "lrp.sequential_preset_b_flat_until_idx"
        #expect(try run(until) == (try run("lrp.sequential_preset_b_flat")))
        let convs = ["/conv1/Conv", "/conv2/Conv", "/conv3/Conv"].map { "name:\($0)=flat" }.joined(separator: ";")
        let named = try run("lrp.sequential_preset_b_flat", ["rules": convs])
        #expect(try run(until, ["until_layer_idx": "2"]) == named)
        let three = try run(until, ["until_layer_idx": "3"])
        #expect(Deviation(three, named).relL2 > 1e-3)
        #expect(try run("lrp.sequential_preset_b_flat", ["rules": convs + ";name:/fc1/Gemm=flat"]) == three)
        #expect(throws: ExplainError.self) { try run(until, ["until_layer_idx": "-1"]) }
        let matcher = Matcher.positions(.affine, 1...3)
        let mask = matcher.mask(in: model.graph)
        #expect(mask == model.graph.nodes.indices.map { matcher.matches($0, in: model.graph) })
        #expect(model.graph.nodes.indices.filter { mask[$0] }.map { model.graph.nodes[$0].name } == ["/conv2/Conv", "/conv3/Conv", "/fc1/Gemm"])
    }

    /// A random bias-free ReLU network: relevance is conserved layer by layer (up to ε).
    @Test func conservationOnBiasFreeNetworks() throws {
        var rng = TestRandom(seed: 3)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2, 6, 6])
        var v = try b.add(try Conv2D(weight: rng.tensor([4, 2, 3, 3]), pads: (1, 1, 1, 1)), inputs: [x], name: "conv")
        v = try b.add(Relu(), inputs: [v], name: "relu")
        v = try b.add(try MaxPool2D(kernel: (2, 2)), inputs: [v], name: "pool")
        v = try b.add(Flatten(), inputs: [v], name: "flat")
        v = try b.add(try Dense(weight: rng.tensor([3, 36])), inputs: [v], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [v]))
        let input = rng.tensor([2, 2, 6, 6])
        let r = try Self.registry()
        for id in ["lrp.z", "lrp.epsilon"] {
            let a = try r.makeAnalyzer(id, model: model, options: id == "lrp.epsilon" ? Options(["epsilon": "1e-9"]) : Options())
                .analyze(input, target: .max)
            let delta = try #require(a.delta)
            for (s, d) in delta.enumerated() {
                let logit = Double(a.output.scalars[s * 3 + a.targets![s]])
                #expect(abs(d) <= 1e-4 * max(1, abs(logit)), "\(id) sample \(s): Σ R − f = \(d)")
            }
        }
        // With biases, relevance absorbed by them is reported as a non-zero delta.
        let dir = TestPaths.reference + "/cancer-mlp"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let a = try r.makeAnalyzer("lrp.epsilon_plus", model: ExplainableModel(graph: imported.graph)).analyze(try Numpy.readTensor(path: dir + "/input.npy"), target: .max)
        #expect(a.delta?.contains { abs($0) > 1e-3 } == true)
    }

    /// Tensors large enough for the element-wise passes to be split over the cores, through a
    /// residual block (norm rule on Add, γ with its non-negative-input shortcut, z⁺, zbox): bias-free,
    /// so Σ input relevance equals the target logit.
    @Test func conservationOnLargeResidualBlock() throws {
        var rng = TestRandom(seed: 21)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 16, 96, 96])
        var v = try b.add(try Conv2D(weight: rng.tensor([16, 16, 3, 3], -0.2...0.2), pads: (1, 1, 1, 1)), inputs: [x], name: "conv1")
        let skip = try b.add(Relu(), inputs: [v], name: "relu1")
        v = try b.add(try Conv2D(weight: rng.tensor([16, 16, 3, 3], -0.2...0.2), pads: (1, 1, 1, 1)), inputs: [skip], name: "conv2")
        v = try b.add(Binary(.add), inputs: [skip, v], name: "add")
        v = try b.add(Relu(), inputs: [v], name: "relu2")
        v = try b.add(GlobalAveragePool(), inputs: [v], name: "gap")
        v = try b.add(Flatten(), inputs: [v], name: "flat")
        v = try b.add(try Dense(weight: rng.tensor([3, 16])), inputs: [v], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [v]))
        let input = rng.tensor([1, 16, 96, 96])
        let r = try Self.registry()
        for id in ["lrp.epsilon_gamma_box", "lrp.epsilon_plus", "lrp.epsilon_alpha2_beta1"] {
            let a = try r.makeAnalyzer(id, model: model, options: Options(id == "lrp.epsilon_gamma_box" ? ["low": "-1", "high": "1"] : [:]))
                .analyze(input, target: .max)
            let delta = try #require(a.delta)
            let logit = Double(a.output.scalars[a.targets![0]])
            #expect(abs(delta[0]) <= 1e-3 * max(1, abs(logit)), "\(id): Σ R − f = \(delta[0]) for f = \(logit)")
        }
    }

    /// The norm rule forms a sum again from its summands (bit for bit the forward's), so it does not
    /// keep an Add's output and a Relu after a residual Add runs in place; for pooling it keeps it.
    @Test func normRuleKeepsTheOutputOnlyWhereItCannotFormItAgain() throws {
        #expect(NormRule().reads(Binary(.add)).output == false && NormRule().reads(Binary(.add)).inputs)
        #expect(NormRule().reads(GlobalAveragePool()).output)
        var rng = TestRandom(seed: 22)
        let a = rng.tensor([2, 3, 5, 5]), b = rng.tensor([2, 3, 5, 5]), r = rng.tensor([2, 3, 5, 5])
        var g = GraphBuilder()
        let x = g.addInput(name: "x", shape: [nil, 3, 5, 5])
        let y = g.addInput(name: "y", shape: [nil, 3, 5, 5])
        let sumValue = try g.add(Binary(.add), inputs: [x, y], name: "add")
        let graph = try g.build(outputs: [sumValue])
        let node = graph.nodes[0]
        let sum = try node.layer.forward([a, b])
        // The output handed to the rule is all zero: the shares must not depend on it.
        let shares = try NormRule().propagate(r, at: Site(node: node, index: 0, inputs: [a, b], output: Tensor(shape: sum.shape),
                                                          state: nil, inputsNonNegative: [false, false], reference: nil))
        for (summand, share) in zip([a, b], shares) {
            let expected = zip(zip(summand.scalars, r.scalars), sum.scalars).map { ($0.0 * ($0.1 / stabilized($1))) }
            #expect(share.scalars == expected)
        }
        func stabilized(_ z: Float) -> Float { z >= 0 ? z + 1e-6 : z - 1e-6 }
    }

    /// ε = 0 on a layer whose output is exactly 0 gives 0/0: the attribution names the node where
    /// the first non-finite value appeared (found by repeating the pass with per-node checks).
    @Test func firstNonFiniteNodeIsReported() throws {
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 4])
        var v = try b.add(try Dense(weight: Tensor(shape: [3, 4], repeating: 0.5)), inputs: [x], name: "fc1")
        v = try b.add(Relu(), inputs: [v], name: "relu")
        v = try b.add(try Dense(weight: Tensor(shape: [2, 3])), inputs: [v], name: "fc2")
        let model = ExplainableModel(graph: try b.build(outputs: [v]))
        let a = try Self.registry().makeAnalyzer("lrp.epsilon", model: model, options: Options(["epsilon": "0"]))
            .analyze(try Tensor(shape: [1, 4], scalars: [1, 2, 3, 4]), target: .index(0))
        #expect(!a.values.isFinite)
        #expect(a.diagnostics.contains { $0.contains("'fc2'") }, "\(a.diagnostics)")
        // A finite run reports nothing.
        let ok = try Self.registry().makeAnalyzer("lrp.epsilon", model: model).analyze(try Tensor(shape: [1, 4], scalars: [1, 2, 3, 4]), target: .index(0))
        #expect(ok.diagnostics.isEmpty)
    }

    @Test func flatAndWSquareIgnoreInputValues() throws {
        var rng = TestRandom(seed: 8)
        let layer = try Conv2D(weight: rng.tensor([3, 2, 3, 3]), bias: rng.tensor([3]), pads: (1, 1, 1, 1))
        let (graph, out) = try ReplicaTests.oneLayer(layer)
        for rule in [FlatRule(), WSquareRule()] as [any Rule] {
            let bound = try BoundGraph(graph, preset: Preset("p") { when(.affine, use: rule) })
            let relevance = rng.tensor([1, 3, 4, 4])
            var results: [Tensor] = []
            for _ in 0..<2 {
                var acts = try graph.forward([rng.tensor([1, 2, 4, 4], -3...3)], retain: .all)
                results.append(try bound.backward(&acts, seeds: [out: relevance]).inputs[0])
            }
            #expect(results[0] == results[1], "\(rule)")
        }
    }

    @Test func badRulesAndPresetsAreNamed() throws {
        #expect(throws: ExplainError.self) { try AlphaBetaRule(alpha: 2, beta: 2) }
        #expect(throws: ExplainError.self) { try GammaRule(gamma: -1) }
        let r = try Self.registry()
        let imported = try ONNXImporter.load(path: TestPaths.reference + "/digits-cnn/model.onnx")
        let model = ExplainableModel(graph: imported.graph)
        // Gamma on a layer without weights: a bind-time error naming the node.
        do {
            _ = try r.makeAnalyzer("lrp", model: model, options: Options(["rules": "relu=gamma:0.25"]))
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.node == "/relu1/Relu")
            #expect(e.message.contains("gamma"))
        }
        do {
            _ = try RuleSpec.entries("conv=gama:0.25", registry: r)
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.message.contains("did you mean 'gamma'?"))
            #expect(e.message.contains("alpha_beta") && e.message.contains("zbox"))
        }
        // Too many or missing rule arguments: errors naming the rule and its arguments.
        for (spec, words) in [("conv=gamma:0.25,1", ["rule gamma takes at most 1 argument (gamma), got 2"]),
                              ("first=zbox:-1", ["rule zbox", "argument 2 (high)"]),
                              ("relu=guided_backprop:1", ["rule guided_backprop takes no arguments"])] {
            do {
                _ = try RuleSpec.entries(spec, registry: r)
                Issue.record("expected an error for \(spec)")
            } catch let e as ExplainError {
                #expect(words.allSatisfy { e.message.contains($0) }, "\(e.message)")
            }
        }
        #expect(throws: ExplainError.self) { try RuleSpec.entries("bogus=epsilon", registry: r) }
        #expect(throws: ExplainError.self) { try RuleSpec.entries("conv=alpha_beta:2,2", registry: r) }
        #expect(throws: ExplainError.self) { try r.makeAnalyzer("lrp.epsilon_gamma_box", model: model) }   // low/high required
        // z^B bounds: low ≤ high per channel and NaN rejected when made; a count that is neither 1
        // nor the channel count is an error naming the node.
        #expect(throws: ExplainError.self) { try ZBoxRule(low: 1, high: 0) }
        #expect(throws: ExplainError.self) { try ZBoxRule(low: Tensor(shape: [2], scalars: [0, 1]), high: Tensor(shape: [2], scalars: [1, 0.5])) }
        #expect(throws: ExplainError.self) { try ZBoxRule(low: Tensor(scalar: .nan), high: Tensor(scalar: 1)) }
        #expect(throws: ExplainError.self) { try ZBoxRule(low: -.infinity, high: 1) }
        _ = try ZBoxRule(low: Tensor(shape: [2], scalars: [0, -1]), high: Tensor(scalar: 0))
        let twoBounds = try r.makeAnalyzer("lrp.epsilon_gamma_box", model: model, options: Options(["low": "0,0", "high": "1"]))
        do {
            _ = try twoBounds.analyze(try Numpy.readTensor(path: TestPaths.reference + "/digits-cnn/input.npy"), target: .max)
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.node == "/conv1/Conv")
            #expect(e.message.contains("2 values") && e.message.contains("1 channels"))
        }
    }

    @Test func userRulesComeFirstAndFallThrough() throws {
        let r = try Self.registry()
        let (model, x) = try Self.reference("digits-cnn")
        // lrp.epsilon_plus_flat spelled as user rules over lrp.epsilon_plus equals the preset itself.
        let composed = try r.makeAnalyzer("lrp", model: model, options: Options(["preset": "lrp.epsilon_plus", "rules": "first=flat"]))
        let preset = try r.makeAnalyzer("lrp.epsilon_plus_flat", model: model)
        #expect(try composed.analyze(x, target: .max).values == (try preset.analyze(x, target: .max).values))
        #expect(try composed.analyze(x, target: .max).diagnostics.isEmpty)
        // A user entry selecting no node is reported (both the generic analyzer and a preset's id).
        for id in ["lrp", "lrp.epsilon_plus"] {
            let typo = try r.makeAnalyzer(id, model: model, options: Options(["rules": "name:/cnv*=epsilon; conv=gamma"]))
            // The bare `lrp` analyzer has only the user's entries: its Dense layers are also reported as unruled.
            let unruled = id == "lrp" ? ["no LRP rule at 2 node(s) (dense ×2): relevance crosses them by their gradient, so conservation is not guaranteed there"] : []
            #expect(try typo.analyze(x, target: .max).diagnostics == ["rule entry 'name:/cnv*=epsilon' matched no node"] + unruled)
        }
        // A name pattern selects single nodes.
        let named = try r.makeAnalyzer("lrp.epsilon_plus", model: model, options: Options(["rules": "name:/conv1/*=flat"]))
        #expect(try named.analyze(x, target: .max).values == (try preset.analyze(x, target: .max).values))
        // Relevance captured at a node.
        let kept = try r.makeAnalyzer("lrp.epsilon_plus", model: model, options: Options(["keep": "/relu3/Relu"])).analyze(x, target: .max)
        #expect(kept.captured["/relu3/Relu"]?.shape == [4, 16, 8, 8])
    }

    @Test func standaloneBatchNormUsesEpsilonOnItsAffineMap() throws {
        var rng = TestRandom(seed: 4)
        let bn = try BatchNorm(scale: rng.tensor([2]), bias: rng.tensor([2]), mean: rng.tensor([2]), variance: rng.tensor([2], 0.5...2))
        var b = GraphBuilder()
        let x = b.addInput(name: "x")
        let out = try b.add(bn, inputs: [x], name: "bn")
        let graph = try b.build(outputs: [out])
        let input = rng.tensor([1, 2, 3, 3]), relevance = rng.tensor([1, 2, 3, 3])
        var acts = try graph.forward([input], retain: .all)
        let y = try acts.value(out)
        let got = try BoundGraph(graph, preset: RelevancePresets.make("p", [])).backward(&acts, seeds: [out: relevance]).inputs[0]
        for i in 0..<input.count {
            let a = Double(bn.multiplier[i / 9]), yi = Double(y.scalars[i])
            let want = Double(input.scalars[i]) * a * Double(relevance.scalars[i]) / (yi >= 0 ? yi + 1e-6 : yi - 1e-6)
            #expect(abs(Double(got.scalars[i]) - want) <= 1e-4 * max(1, abs(want)))
        }
    }

    /// A tf2onnx-style graph (NHWC Transpose, Conv, Reshape, MatMul + Add, Softmax): the MatMul with a
    /// constant weight is imported as a Dense layer, so every LRP preset binds and runs on it.
    @Test func presetsRunOnTf2onnxStyleGraphs() throws {
        let r = try Self.registry()
        let dir = TestPaths.models + "/tf2onnx-style"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        #expect(imported.graph.nodes.contains { $0.layer.kind == .dense })
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        for id in ["lrp.epsilon_plus", "lrp.z", "lrp.epsilon_alpha2_beta1_flat"] {
            let a = try r.makeAnalyzer(id, model: model).analyze(x, target: .max)
            #expect(a.values.shape == x.shape)
            #expect(a.values.isFinite)
        }
        // The Dense node got an LRP rule (binding would have failed for a plain MatMul).
        let bound = try BoundGraph(imported.graph, preset: try RelevancePresets.epsilonPlus())
        let denseIndex = try #require(bound.graph.nodes.firstIndex { $0.layer.kind == .dense })
        #expect(bound.bindings[denseIndex]?.rule.description.hasPrefix("epsilon") == true)
    }
}
