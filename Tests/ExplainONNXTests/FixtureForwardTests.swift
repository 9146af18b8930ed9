import ExplainArrays
import ExplainCore
import ExplainONNX
import ExplainTestSupport
import Foundation
import Testing

/// Forward passes of the reference fixture models (`Tests/Fixtures/reference`) against their logits.
@Suite struct FixtureForwardTests {
    static let modelNames = TestPaths.folders(in: TestPaths.reference)

    @Test func fixturesArePresent() {
        #expect(Self.modelNames.count >= 3)
    }

    @Test(arguments: modelNames)
    func forwardMatchesReferenceLogits(_ name: String) throws {
        let dir = TestPaths.reference + "/" + name
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as? [String: Any]
        let model = try #require(manifest?["model"] as? [String: Any])
        let tolerance = try #require(model["logits_tolerance"] as? [String: Double])
        let softmax = (model["output_kind"] as? String) == "softmax"

        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let logits = try imported.graph.predict(x, output: imported.logits)
        let expected = try Numpy.readTensor(path: dir + "/logits.npy")
        #expect(logits.shape == expected.shape)
        let d = Deviation(logits, expected)
        #expect(d.relL2 <= tolerance["rtol"]! && d.maxAbs <= tolerance["atol"]!, "\(name): \(d)")
        if softmax {
            let probs = try imported.graph.predict(x)
            let d2 = Deviation(probs, try Numpy.readTensor(path: dir + "/probs.npy"))
            #expect(d2.relL2 <= tolerance["rtol"]! && d2.maxAbs <= tolerance["atol"]!, "\(name) probs: \(d2)")
        }
    }
}

/// Import of the small PyTorch / onnx.helper models (`Tests/Fixtures/models`) against onnxruntime.
@Suite struct ModelImportTests {
    static let modelNames = TestPaths.folders(in: TestPaths.models)

    @Test func allPatternsArePresent() {
        for name in ["vgg", "resnet", "mobilenetv2", "densenet", "squeezenet", "efficientnet", "misc-ops", "tf2onnx-style", "activations", "convnext-block", "vit", "slicing", "swin",
                     "gelu-tanh", "gelu-opset20", "vit-dynamo"] {
            #expect(Self.modelNames.contains(name), "missing test model \(name)")
        }
    }

    @Test(arguments: modelNames)
    func outputMatchesOnnxruntime(_ name: String) throws {
        let dir = TestPaths.models + "/" + name
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let y = try BatchChunks.predict(imported.graph, x)   // one sample at a time where the file fixes batch 1
        let expected = try Numpy.readTensor(path: dir + "/expected.npy")
        #expect(y.shape == expected.shape)
        let d = Deviation(y, expected)
        let scale = Double(expected.scalars.map { abs($0) }.max() ?? 1)
        let atol = 1e-5 * max(1.0, scale)
        #expect(d.relL2 <= 1e-5 && d.maxAbs <= atol, "\(name): \(d)")
    }

    /// The activations model (HardSwish, Elu, Selu, Softplus, GELU as Erf, HardSigmoid, LeakyRelu)
    /// a ConvNeXt-style network (LayerNormalization, depthwise 7×7, GELU, layer scale) and a tiny
    /// vision transformer (class token broadcast to the batch, attention, Gather) and strided slices of
    /// activations (patch merging, a reversed slice, `torch.roll`) and a shifted-window transformer
    /// (Swin: its attention mask folded at import): the input gradient
    /// of the arg-max logit equals PyTorch's (`Tools/make_modern_models.py`).
    @Test(arguments: ["activations", "convnext-block", "vit", "slicing", "swin", "gelu-tanh", "gelu-opset20", "vit-dynamo"])
    func gradientsMatchPyTorch(_ name: String) throws {
        let dir = TestPaths.models + "/" + name
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let analyzer = try BackpropAnalyzer(id: "gradient", model: ExplainableModel(graph: imported.graph, output: imported.logits))
        let g = try analyzer.analyze(x, target: .max).values
        let expected = try Numpy.readTensor(path: dir + "/gradient.npy")
        let d = Deviation(g, expected)
        #expect(d.relL2 < 1e-5, "\(name): \(d)")
    }

    /// GELU in all its exports becomes one `Gelu` node: the tanh form as PyTorch writes it at opset 17
    /// (eight nodes) and as Hugging Face's `gelu_new` writes it (a runtime `Pow(x, 3)`), and opset
    /// 20's `Gelu` op, exact and tanh (`Tools/make_gelu_models.py`).
    @Test func everyGeluExportBecomesOneNode() throws {
        for (name, forms) in [("gelu-tanh", [true, true]), ("gelu-opset20", [false, true])] {
            let g = try ONNXImporter.load(path: TestPaths.models + "/" + name + "/model.onnx").graph
            let gelus = g.nodes.compactMap { $0.layer as? Gelu }
            #expect(gelus.map(\.tanh) == forms, "\(name)")
            #expect(!g.nodes.contains { [.tanh, .power, .mul, .add].contains($0.layer.kind) }, "\(name): \(g.nodes.map(\.layer.kind))")
        }
        // The tanh form's derivative against central differences.
        let gelu = Gelu(tanh: true)
        for x: Float in [-3, -0.7, 0, 0.4, 2.5] {
            let h: Float = 1e-2
            let numeric = (gelu.value(x + h) - gelu.value(x - h)) / (2 * h)
            #expect(abs(gelu.derivative(x: x, y: gelu.value(x)) - numeric) < 1e-3, "x = \(x)")
        }
    }

    /// PyTorch's dynamo exporter (opset 18): its aten helpers are model-local functions (with `If`
    /// on shape tests, CastLike, Abs, Size, Greater inside), inlined at import
    /// (`Tools/make_dynamo_models.py`; logits and gradients are checked above).
    @Test func dynamoExportImportsWithItsFunctionsInlined() throws {
        let imported = try ONNXImporter.load(path: TestPaths.models + "/vit-dynamo/model.onnx")
        #expect(imported.opset == 18)
        #expect(imported.graph.nodes.contains { $0.name.contains("aten_") || $0.name.contains("gelu") })
        #expect(imported.graph.nodes.contains { $0.layer is Gelu }, "the exact GELU inside a function is fused too")
    }

    /// The transformers run at other batch sizes than the exported one (ViT's class token is
    /// broadcast to the batch, attention folds the heads and Swin's windows into the batch).
    @Test(arguments: ["vit", "swin"])
    func transformerBatchSizeIsDynamic(_ name: String) throws {
        let dir = TestPaths.models + "/" + name
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let expected = try Numpy.readTensor(path: dir + "/expected.npy")
        let one = try imported.graph.predict(try x.sample(1))
        #expect(Deviation(one, try expected.sample(1)).relL2 < 1e-5)
        let two = try imported.graph.predict(try x.samples(0..<2))
        #expect(Deviation(two, try expected.samples(0..<2)).relL2 < 1e-5)
    }

    @Test func batchSizeIsDynamic() throws {
        // The ResNet-like model folds a Shape → Gather → Unsqueeze → Concat → Reshape chain; it must
        // still run at another batch size than the one exported.
        let dir = TestPaths.models + "/resnet"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        let one = try imported.graph.predict(try x.sample(1))
        let both = try imported.graph.predict(x)
        // Equal up to summation order (a batch of one takes the GEMV path).
        #expect(Deviation(one, try both.sample(1)).maxAbs < 1e-5)
        let three = try imported.graph.predict(try Tensor.concatenateBatches([x, try x.sample(0)]))
        #expect(three.shape == [3, 10])
    }

    @Test func softmaxEndingIsDetected() throws {
        let imported = try ONNXImporter.load(path: TestPaths.models + "/efficientnet/model.onnx")
        let s = try #require(imported.softmaxInput)
        #expect(imported.logits == s)
        let plain = try ONNXImporter.load(path: TestPaths.models + "/vgg/model.onnx")
        #expect(plain.softmaxInput == nil)
    }
}
