import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// A batch that would not fit into the memory budget runs in chunks with the same result; one
/// sample over the budget is a `tooLarge` error before anything is allocated.
@Suite struct BatchChunkTests {
    static func setup() throws -> (Registry, ExplainableModel, Tensor) {
        var r = Registry()
        for p in defaultPlugins() { try p.register(into: &r) }
        let dir = TestPaths.reference + "/digits-resnet"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        return (r, ExplainableModel(graph: imported.graph, output: imported.logits), try Numpy.readTensor(path: dir + "/input.npy"))
    }

    @Test func chunkSizesFollowTheBudget() throws {
        #expect(try BatchChunks.samplesPerChunk(batch: 10, bytesPerSample: 100, budget: 1_000) == 7)   // 70 % of the budget
        #expect(try BatchChunks.samplesPerChunk(batch: 3, bytesPerSample: 100, budget: 1_000) == 3)
        #expect(try BatchChunks.samplesPerChunk(batch: 4, bytesPerSample: 1 << 20) == 4)   // small: the system is not asked
        #expect(throws: ExplainError.self) { try BatchChunks.samplesPerChunk(batch: 1, bytesPerSample: 800, budget: 1_000) }
        do {
            _ = try BatchChunks.samplesPerChunk(batch: 2, bytesPerSample: Int.max / 2)
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.code == .tooLarge && e.message.contains("one sample needs"))
        }
    }

    @Test(arguments: ["gradient", "lrp.epsilon_plus_flat", "input_t_gradient"])
    func chunkedEqualsWhole(_ id: String) throws {
        let (r, model, x) = try Self.setup()
        let options = id.hasPrefix("lrp") ? Options(["keep": "/block1/conv1/Conv"]) : Options()
        var analyzer = try #require(try r.makeAnalyzer(id, model: model, options: options) as? BackpropAnalyzer)
        let perSample = try BatchChunks.backwardBytesPerSample(analyzer.model.graph, inputShape: x.shape)
        #expect(perSample > 4 * 256)   // at least the input
        let seed = Tensor(shape: [4, 10], repeating: 0.25)
        for target in [Target.max, .indices([3, 1, 4, 1]), .index(2), .all, .seed(seed)] {
            analyzer.memoryBudget = nil
            let whole = try analyzer.analyze(x, target: target)
            analyzer.memoryBudget = Int(Double(perSample) * 1.5 / BatchChunks.share)   // one sample per chunk
            let chunked = try analyzer.analyze(x, target: target)
            #expect(Deviation(chunked.values, whole.values).relL2 < 1e-6, "\(id) \(target)")
            #expect(Deviation(chunked.output, whole.output).relL2 < 1e-6 && chunked.targets == whole.targets)
            #expect(chunked.delta?.count == whole.delta?.count)
            #expect(chunked.captured.keys == whole.captured.keys)
            for (name, t) in whole.captured { #expect(Deviation(try #require(chunked.captured[name]), t).relL2 < 1e-6) }
            #expect(chunked.diagnostics.contains { $0.contains("4 chunks of at most 1 sample ") }, "\(chunked.diagnostics)")
            analyzer.memoryBudget = perSample
            #expect(throws: ExplainError.self) { try analyzer.analyze(x, target: target) }
        }
    }

    /// A forward-only batch is split the same way, with the same outputs.
    @Test func chunkedPredictEqualsWhole() throws {
        let (_, model, x) = try Self.setup()
        let whole = try model.graph.predict(x, output: model.output)
        let perSample = try BatchChunks.forwardBytesPerSample(model.graph, inputShape: x.shape)
        let chunked = try BatchChunks.predict(model.graph, x, output: model.output, budget: Int(Double(perSample) * 2.5 / BatchChunks.share))
        #expect(Deviation(chunked, whole).relL2 < 1e-6 && chunked.shape == whole.shape)
        #expect(throws: ExplainError.self) { try BatchChunks.predict(model.graph, x, output: model.output, budget: perSample) }
    }

    /// Batches of altered copies stay under 2^28 values however large the requested batch.
    @Test func copiesPerBatchIsCapped() {
        #expect(BatchChunks.copiesPerBatch(5, elementsPerCopy: 10) == 5)
        #expect(BatchChunks.copiesPerBatch(100, elementsPerCopy: 1 << 27) == 2)
        #expect(BatchChunks.copiesPerBatch(3, elementsPerCopy: 1 << 30) == 1)
    }
}
