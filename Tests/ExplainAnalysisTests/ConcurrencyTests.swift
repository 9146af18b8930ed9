import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// Analyzers are `Sendable` values: one analyzer (and its prepared rule state and Winograd filter
/// cache) used from many tasks at once gives the same results as sequential calls.
@Suite struct ConcurrencyTests {
    @Test func concurrentAnalysesEqualSequentialOnes() async throws {
        var registry = Registry()
        for p in defaultPlugins() { try p.register(into: &registry) }
        let dir = TestPaths.reference + "/digits-resnet"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: try imported.graph.withConvAlgorithm(.winograd), output: imported.logits)
        let x = try Numpy.readTensor(path: dir + "/input.npy")
        // deeplift: its cached reference pass is made on first use, under contention too.
        let ids = ["gradient", "lrp.epsilon_plus_flat", "lrp.epsilon_gamma_box", "smoothgrad", "deeplift", "gradcam", "kernel_shap"]
        var analyzers: [String: any Analyzer] = [:]
        var sequential: [String: Tensor] = [:]
        for id in ids {
            let options = id.hasSuffix("box") ? Options(["low": "-1.05", "high": "2.27"]) : Options()
            analyzers[id] = try registry.makeAnalyzer(id, model: model, options: options)
        }
        // Concurrent first (the Winograd filter transforms are made on first use, under contention).
        let shared = analyzers
        let concurrent = try await withThrowingTaskGroup(of: (String, Tensor).self) { group in
            for k in 0..<21 {
                let id = ids[k % ids.count]
                group.addTask { (id, try shared[id]!.analyze(x, target: .max).values) }
            }
            var all: [(String, Tensor)] = []
            for try await result in group { all.append(result) }
            return all
        }
        for id in ids { sequential[id] = try analyzers[id]!.analyze(x, target: .max).values }
        #expect(concurrent.count == 21)
        for (id, values) in concurrent {
            let reference = try #require(sequential[id])
            #expect(Deviation(values, reference).relL2 < 1e-6, "\(id)")
        }
    }
}
