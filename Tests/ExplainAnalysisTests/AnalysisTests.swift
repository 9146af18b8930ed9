import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

@Suite struct TargetTests {
    let output = try! Tensor(shape: [3, 4], scalars: [0, 5, 1, 5,   -1, -2, -3, -4,   9, 0, 0, 0])

    @Test func selections() throws {
        #expect(try Target.max.indices(for: output) == [1, 0, 0])   // ties: first maximum
        #expect(try Target.index(2).indices(for: output) == [2, 2, 2])
        #expect(try Target.indices([3, 1, 0]).indices(for: output) == [3, 1, 0])
        #expect(try Target.all.indices(for: output) == nil)
        let (seed, _) = try Target.indices([3, 1, 0]).seed(for: output)
        #expect(seed.scalars == [0, 0, 0, 1,  0, 1, 0, 0,  1, 0, 0, 0])
        let (valueSeed, _) = try Target.max.seed(for: output, value: .outputValue)
        #expect(valueSeed.scalars == [0, 5, 0, 0,  -1, 0, 0, 0,  9, 0, 0, 0])
        #expect(try Target.all.seed(for: output).seed.scalars == [Float](repeating: 1, count: 12))
        let explicit = Tensor(shape: [3, 4], repeating: 0.5)
        #expect(try Target.seed(explicit).seed(for: output).seed == explicit)
    }

    @Test func badSelectionsThrow() {
        #expect(throws: ExplainError.self) { try Target.index(4).indices(for: output) }
        #expect(throws: ExplainError.self) { try Target.indices([0, 1]).indices(for: output) }
        #expect(throws: ExplainError.self) { try Target.indices([0, 1, -1]).indices(for: output) }
        #expect(throws: ExplainError.self) { try Target.seed(Tensor(shape: [3, 3])).seed(for: output) }
        #expect(throws: ExplainError.self) { try Target.seed(Tensor(shape: [3, 4], repeating: .nan)).seed(for: output) }
    }

    /// Gradient of each target equals the gradient with an explicit one-hot seed, per sample,
    /// and `.all` equals the sum over all output neurons.
    @Test func targetsOnABatchAndAnInnerNode() throws {
        let dir = TestPaths.reference + "/digits-cnn"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let g = try BackpropAnalyzer(id: "gradient", model: model)
        let byIndex = try g.analyze(x, target: .indices([1, 2, 3, 4]))
        for s in 0..<4 {
            let single = try g.analyze(try x.sample(s), target: .index(s + 1))
            #expect(Deviation(single.values, try byIndex.values.sample(s)).maxAbs < 1e-6)
        }
        let all = try g.analyze(x, target: .all)
        var sum = Tensor(shape: x.shape)
        for k in 0..<10 { sum = sum.adding(try g.analyze(x, target: .index(k)).values) }
        #expect(Deviation(all.values, sum).maxAbs < 1e-5)
        // An inner node: the gradient of relu3's channel 0 sum equals a seed of ones on that channel.
        let inner = try model.explaining(node: "/relu3/Relu")
        let gi = try BackpropAnalyzer(id: "gradient", model: inner)
        let out = try inner.graph.predict(x, output: inner.output)
        let seed = Tensor(shape: out.shape) { p in
            let per = out.count / 4, plane = per / out.shape[1]
            for i in 0..<p.count { p[i] = (i % per) < plane ? 1 : 0 }
        }
        let a = try gi.analyze(x, target: .seed(seed))
        #expect(a.values.shape == x.shape)
        #expect(a.output.shape == out.shape)
        #expect(a.values.scalars.contains { $0 != 0 })
    }
}

/// A rule from a test-only plugin, registered and used by id without touching Core.
struct DoubleGradientRule: Rule {
    var description: String { "double" }
    func accepts(_ layer: any Layer) -> Bool { layer.kind == .relu }
    func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let g = try site.node.layer.pullback(inputs: site.inputs, output: site.output, cotangent: incoming)[0]
        return [try Tensor.broadcasting(g, Tensor(scalar: 2), MultiplyFunction.self)]
    }
}

enum TestPlugin: Plugin {
    static func register(into registry: inout Registry) throws {
        try registry.register(RuleEntry(id: "double", summary: "2 × the Relu gradient") { _ in DoubleGradientRule() })
        try registry.register(AnalyzerEntry(id: "test.double", family: "test", summary: "gradient × 2 per Relu",
                                            formula: "-", reference: "-") { model, _, _ in
            try BackpropAnalyzer(id: "test.double", model: model, preset: Preset("double") { when(.kind(.relu), use: DoubleGradientRule()) })
        })
    }
}

/// `forwardTail` reruns only what follows a value: from the graph input it is the whole forward
/// pass; from an inner value, unchanged copies give the original output, a changed one its own.
@Suite struct ForwardTailTests {
    @Test func tailsAgreeWithWholePasses() throws {
        let dir = TestPaths.reference + "/digits-resnet"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let g = imported.graph
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let one = try x.sample(0)
        let base = try g.forward([one], outputs: [imported.logits], retain: .all)
        let whole = try g.forwardTail(from: g.inputs[0], replacement: x, base: base, outputs: [imported.logits])[0]
        #expect(Deviation(whole, try g.predict(x, output: imported.logits)).maxAbs < 1e-5)
        // From the first block's output (a residual Add reads a value from before it).
        let inner = try g.value(named: "/block1/relu1/Relu")
        let a = try base.value(inner)
        var copies = try Tensor.concatenateBatches([a, a])
        copies.withUnsafeMutableBufferPointer { p in for i in (p.count / 2)..<p.count { p[i] *= 0.5 } }
        let out = try g.forwardTail(from: inner, replacement: copies, base: base, outputs: [imported.logits])[0]
        let original = try base.value(imported.logits)
        #expect(Deviation(try out.sample(0), original).maxAbs < 1e-5)
        #expect(Deviation(try out.sample(1), original).maxAbs > 1e-3)
    }
}

@Suite struct RegistryTests {
    func registry() throws -> Registry {
        var r = Registry()
        for p in defaultPlugins() { try p.register(into: &r) }
        return r
    }

    /// Other libraries' names resolve to the same analyzer; an alias must be new and name a
    /// registered analyzer; unknown names are suggested from ids and aliases. `saliency` is the
    /// absolute gradient.
    @Test func aliasesAndSaliency() throws {
        var r = try registry()
        #expect(try r.analyzer("input_x_gradient").id == "input_t_gradient")
        #expect(try r.analyzer("deconvolution").id == "deconvnet" && r.aliases(of: "gradcam") == ["layer_gradcam"])
        #expect(throws: ExplainError.self) { try r.register(alias: "gradient", for: "saliency") }
        #expect(throws: ExplainError.self) { try r.register(alias: "input_x_gradient", for: "gradient") }
        #expect(throws: ExplainError.self) { try r.register(alias: "x", for: "nosuch") }
        #expect(throws: ExplainError.self) {
            try r.register(AnalyzerEntry(id: "kernelshap", family: "x", summary: "", formula: "", reference: "") { _, _, _ in throw ExplainError.argument("") })
        }
        do { _ = try r.analyzer("input_x_gradiant"); Issue.record("typo accepted") } catch let e as ExplainError {
            #expect(e.message.contains("input_x_gradient"))
        }
        let dir = TestPaths.reference + "/digits-cnn"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let gradient = try r.makeAnalyzer("gradient", model: model).analyze(x, target: .max).values
        let saliency = try r.makeAnalyzer("saliency", model: model).analyze(x, target: .max).values
        #expect(saliency.scalars == gradient.scalars.map(abs))
        #expect(try r.makeAnalyzer("input_x_gradient", model: model).analyze(x, target: .max).values
                == r.makeAnalyzer("input_t_gradient", model: model).analyze(x, target: .max).values)
    }

    @Test func duplicateIdsThrow() throws {
        var r = try registry()
        #expect(throws: ExplainError.self) { try GradientPlugin.register(into: &r) }
        #expect(throws: ExplainError.self) {
            try r.register(AnalyzerEntry(id: "gradient", family: "x", summary: "", formula: "", reference: "") { _, _, _ in
                throw ExplainError(.invalidArgument, "unused")
            })
        }
    }

    @Test func unknownIdsListKnownOnesAndTheClosest() throws {
        let r = try registry()
        do {
            _ = try r.analyzer("guided_backprob")
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.code == .unknownName)
            #expect(e.message.contains("did you mean 'guided_backprop'?"))
            #expect(e.message.contains("input_t_gradient"))
        }
        #expect(Registry.closest("smothgrad", in: ["smoothgrad", "vargrad"]) == "smoothgrad")
        #expect(Registry.closest("zzzzzzzz", in: ["smoothgrad", "vargrad"]) == nil)
        // A family prefix left out; a name that is close for its length beats a nearer-scored short one.
        let lrp = ["epsilon", "epsilon_ib", "lrp.epsilon", "lrp.epsilon_plus", "lrp.epsilon_plus_flat"]
        #expect(Registry.closest("epsilon_plus", in: lrp) == "lrp.epsilon_plus")
        #expect(Registry.closest("EPSILON_PLUS_FLAT", in: lrp) == "lrp.epsilon_plus_flat")
        #expect(Registry.closest("epsilonplus", in: lrp) == "lrp.epsilon_plus")
        #expect(Registry.closest("epsilon", in: lrp) == "epsilon")
    }

    @Test func testPluginIsUsedById() throws {
        var r = try registry()
        try TestPlugin.register(into: &r)
        let dir = TestPaths.reference + "/cancer-mlp"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let doubled = try r.makeAnalyzer("test.double", model: model).analyze(x, target: .max)
        let plain = try r.makeAnalyzer("gradient", model: model).analyze(x, target: .max)
        // Two Relus on every path: each doubles the gradient.
        let four = try Tensor.broadcasting(plain.values, Tensor(scalar: 4), MultiplyFunction.self)
        #expect(Deviation(doubled.values, four).maxAbs < 1e-5)
        #expect(try r.rule("double").make([]).description == "double")
    }

    /// A NaN or infinite input value is a named error (a Relu would otherwise hide a NaN from the gradient).
    @Test func nonFiniteInputsAreRejected() throws {
        let r = try registry()
        let dir = TestPaths.reference + "/digits-cnn"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        var x = try Numpy.readTensor(path: dir + "/input.npy").scalars
        x[256 + 7] = .infinity
        let bad = try Tensor(shape: [4, 1, 16, 16], scalars: x)
        for id in ["gradient", "smoothgrad", "lrp.epsilon_plus"] {
            do {
                _ = try r.makeAnalyzer(id, model: model).analyze(bad, target: .max)
                Issue.record("expected an error from \(id)")
            } catch let e as ExplainError {
                #expect(e.code == .nonFinite && e.message.contains("sample 1, element 7"), "\(id): \(e.message)")
            }
        }
    }

    @Test func badOptionsAreNamed() throws {
        let r = try registry()
        let dir = TestPaths.reference + "/cancer-mlp"
        let model = ExplainableModel(graph: try ONNXImporter.load(path: dir + "/model.onnx").graph)
        #expect(throws: ExplainError.self) { try r.makeAnalyzer("gradient", model: model, options: Options(["noise_level": "1"])) }
        #expect(throws: ExplainError.self) { try r.makeAnalyzer("smoothgrad", model: model, options: Options(["noise_level": "abc"])) }
        #expect(throws: ExplainError.self) { try r.makeAnalyzer("smoothgrad", model: model, options: Options(["samples": "0"])) }
        #expect(throws: ExplainError.self) { try r.makeAnalyzer("smoothgrad", model: model, options: Options(["base": "nope"])) }
        #expect(throws: ExplainError.self) { try Options(parsing: ["novalue"]) }
        do {
            _ = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["nosie_level": "0.2"]))
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.message.contains("'nosie_level'; did you mean 'noise_level'? its parameters are base, noise_level"), "\(e.message)")
        }
        #expect(throws: ExplainError.self) { try BackpropAnalyzer(id: "g", model: model).analyze(Tensor(shape: [1, 29]), target: .max) }
    }
}

@Suite struct SmoothGradTests {
    @Test func gaussianNoiseHasUnitMoments() {
        var rng = SeededGenerator(seed: 3)
        var samples = [Float](repeating: 0, count: 200_001)   // odd: the last pair is cut
        samples.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
        let mean = samples.reduce(0.0) { $0 + Double($1) } / Double(samples.count)
        let variance = samples.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(samples.count)
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.02, "mean \(mean), variance \(variance)")
        #expect(samples.allSatisfy(\.isFinite) && samples.last != 0)
    }

    let dir = TestPaths.reference + "/digits-cnn"

    func setup() throws -> (Registry, ExplainableModel, Tensor) {
        var r = Registry()
        for p in defaultPlugins() { try p.register(into: &r) }
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        return (r, ExplainableModel(graph: imported.graph, output: imported.logits), try Numpy.readTensor(path: dir + "/input.npy"))
    }

    @Test func sameSeedSameResult() throws {
        let (r, model, x) = try setup()
        let a = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["seed": "7", "samples": "8"])).analyze(x, target: .max)
        let again = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["seed": "7", "samples": "8"])).analyze(x, target: .max)
        #expect(a.values == again.values)
        // Other batches of noisy copies: the same noise; the products may round differently (BLAS
        // kernels block odd and even batches differently on some CPUs), so equal to float precision.
        let b = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["seed": "7", "samples": "8", "batch_size": "3"])).analyze(x, target: .max)
        let scale = a.values.scalars.map(abs).max() ?? 0
        #expect(zip(a.values.scalars, b.values.scalars).allSatisfy { abs($0 - $1) <= 1e-6 * scale })
        let c = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["seed": "8", "samples": "8"])).analyze(x, target: .max)
        #expect(a.values != c.values)
        // An odd number of features per sample (Box–Muller pairs cut per copy) and a non-linear net.
        var rng = TestRandom(seed: 2)
        var builder = GraphBuilder()
        var v = builder.addInput(name: "x", shape: [nil, 5])
        v = try builder.add(try Dense(weight: rng.tensor([4, 5]), bias: rng.tensor([4])), inputs: [v], name: "fc1")
        v = try builder.add(Relu(), inputs: [v], name: "relu")
        v = try builder.add(try Dense(weight: rng.tensor([3, 4])), inputs: [v], name: "fc2")
        let small = ExplainableModel(graph: try builder.build(outputs: [v]))
        let input = rng.tensor([2, 5])
        let d = try r.makeAnalyzer("smoothgrad", model: small, options: Options(["samples": "7", "batch_size": "7"])).analyze(input, target: .max)
        let e = try r.makeAnalyzer("smoothgrad", model: small, options: Options(["samples": "7", "batch_size": "2"])).analyze(input, target: .max)
        #expect(d.values == e.values)
    }

    @Test func tendsToTheGradientAsNoiseVanishes() throws {
        let (r, model, x) = try setup()
        let gradient = try r.makeAnalyzer("gradient", model: model).analyze(x, target: .max).values
        var previous = Double.infinity
        for level in ["0.1", "0.01", "0.0001"] {
            let s = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["noise_level": level, "samples": "8"])).analyze(x, target: .max)
            let d = Deviation(s.values, gradient).relL2
            #expect(d < previous)
            previous = d
        }
        // Piecewise-linear nets: tiny noise can still flip a few Relu/MaxPool states, so not exact.
        #expect(previous < 1e-2)
        let zero = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["noise_level": "0", "samples": "2"])).analyze(x, target: .max)
        #expect(Deviation(zero.values, gradient).maxAbs < 1e-6)
        let squared = try r.makeAnalyzer("smoothgrad.squared", model: model, options: Options(["noise_level": "0", "samples": "2"])).analyze(x, target: .max)
        #expect(Deviation(squared.values, try Tensor.broadcasting(gradient, gradient, MultiplyFunction.self)).maxAbs < 1e-6)
        let variance = try r.makeAnalyzer("vargrad", model: model, options: Options(["noise_level": "0", "samples": "2"])).analyze(x, target: .max)
        #expect(variance.values.scalars.allSatisfy { abs($0) < 1e-6 })
    }

    @Test func wrapsAnyBaseAnalyzer() throws {
        let (r, model, x) = try setup()
        let guided = try r.makeAnalyzer("smoothgrad", model: model, options: Options(["base": "guided_backprop", "noise_level": "0", "samples": "1"]))
        let plain = try r.makeAnalyzer("guided_backprop", model: model)
        #expect(Deviation(try guided.analyze(x, target: .max).values, try plain.analyze(x, target: .max).values).maxAbs < 1e-6)
        // The base's own parameters pass through the wrapper (EpsilonGammaBox needs its bounds);
        // a key neither takes is still an error.
        let bounds = ["low": "-1.05", "high": "2.27"]
        let box = try r.makeAnalyzer("smoothgrad", model: model, options: Options(bounds.merging(
            ["base": "lrp.epsilon_gamma_box", "noise_level": "0", "samples": "1", "gamma": "0.5"]) { a, _ in a }))
        let direct = try r.makeAnalyzer("lrp.epsilon_gamma_box", model: model, options: Options(bounds.merging(["gamma": "0.5"]) { a, _ in a }))
        let boxed = try box.analyze(x, target: .max).values, reference = try direct.analyze(x, target: .max).values
        #expect(Deviation(boxed, reference).maxAbs < 1e-6 && reference.scalars.contains { $0 != 0 })
        #expect(throws: ExplainError.self) {
            try r.makeAnalyzer("smoothgrad", model: model, options: Options(["base": "lrp.epsilon_plus", "low": "0"]))
        }
    }
}
