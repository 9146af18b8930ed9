import ExplainArrays
import ExplainCore
import ExplainONNX
import ExplainTestSupport
import Foundation
import Testing

/// Models exported without `dynamic_axes`, so that the file fixes the batch size
/// (`Tools/make_fixed_batch_models.py`; each input has 3 samples, another size than the exported one).
@Suite struct FixedBatchTests {
    static let root = TestPaths.fixedBatch + "/"

    func load(_ name: String) throws -> (ImportedModel, Tensor, Tensor, Tensor) {
        let dir = Self.root + name
        return (try ONNXImporter.load(path: dir + "/model.onnx"), try Numpy.readTensor(path: dir + "/input.npy"),
                try Numpy.readTensor(path: dir + "/expected.npy"), try Numpy.readTensor(path: dir + "/gradient.npy"))
    }

    func gradient(_ m: ImportedModel, _ x: Tensor) throws -> Attribution {
        try BackpropAnalyzer(id: "gradient", model: ExplainableModel(graph: m.graph, output: m.logits)).analyze(x, target: .max)
    }

    /// `view(x.size(0), -1)` became `Reshape(·, [b, 64])`: the graph is opened to any batch size and
    /// equals PyTorch on 3 samples, logits and input gradients.
    @Test(arguments: ["view-b1", "view-b2"])
    func constantBatchShapesAreOpened(_ name: String) throws {
        let (m, x, expected, grad) = try load(name)
        #expect(m.graph.fixedBatch == nil)
        #expect(m.batchNote?.contains("runs at any batch size") == true, "\(m.batchNote ?? "no note")")
        #expect(Deviation(try m.graph.predict(x), expected).relL2 < 1e-5)
        let g = try gradient(m, x)
        #expect(Deviation(g.values, grad).relL2 < 1e-5)
        #expect(!g.diagnostics.contains { $0.contains("one sample at a time") })
    }

    /// Sequence-first attention at batch 1 folds the batch into constant shapes that do not say
    /// where it belongs (`(17, 16)` may be `(17·N, 16)` or `(17, 16·N)`): the graph stays at batch 1,
    /// and batches run one sample at a time — still PyTorch's numbers.
    @Test func ambiguousGraphRunsOneSampleAtATime() throws {
        let (m, x, expected, grad) = try load("vit-b1")
        #expect(m.graph.fixedBatch == 1 && m.graph.runsOneSampleAtATime)
        #expect(m.batchNote?.contains("runs at that size only") == true, "\(m.batchNote ?? "no note")")
        #expect(Deviation(try BatchChunks.predict(m.graph, x), expected).relL2 < 1e-5)
        let g = try gradient(m, x)
        #expect(Deviation(g.values, grad).relL2 < 1e-5)
        #expect(g.diagnostics.contains { $0.contains("one sample at a time") })
    }

    /// Centring over the batch makes samples depend on each other: opening the batch would change
    /// the numbers, so the check keeps the file's batch size of 2 and another size is a named error.
    @Test func graphThatMixesSamplesKeepsItsBatchSize() throws {
        let (m, x, expected, _) = try load("mixing-b2")
        #expect(m.graph.fixedBatch == 2)
        #expect(m.batchNote?.contains("mixes samples") == true, "\(m.batchNote ?? "no note")")
        #expect(Deviation(try m.graph.predict(try x.samples(0..<2)), try expected.samples(0..<2)).relL2 > 1e-3)
        let error = #expect(throws: ExplainError.self) { try m.graph.predict(x) }
        #expect(error?.message.contains("fixed batch size of 2") == true && error?.message.contains("dynamic_axes") == true)
    }

    /// A dynamic-batch file gets no note and is imported once as before.
    @Test func dynamicBatchFileHasNoNote() throws {
        let m = try ONNXImporter.load(path: TestPaths.models + "/vit/model.onnx")
        #expect(m.batchNote == nil && m.graph.fixedBatch == nil)
    }

    /// A text model (int64 ids, Embedding, Conv1d) exported at batch 1 opens: the check draws token
    /// ids, not Gaussian values; PyTorch's logits on 3 sequences.
    @Test func textModelWithFixedBatchOpens() throws {
        let dir = Self.root + "text-b1"
        let m = try ONNXImporter.load(path: dir + "/model.onnx")
        #expect(m.graph.fixedBatch == nil, "\(m.batchNote ?? "")")
        let x = try Numpy.readTensor(path: dir + "/input.npy"), expected = try Numpy.readTensor(path: dir + "/expected.npy")
        #expect(Deviation(try m.graph.predict(x), expected).relL2 < 1e-5)
    }
}
