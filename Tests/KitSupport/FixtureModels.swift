import ExplainKit
import Foundation
import Testing
import ExplainTestSupport

/// The registry with every shipped plugin, and the reference fixtures' models, for the test
/// targets that exercise whole method families.
public enum FixtureModels {
    /// A registry with `defaultPlugins()` (built once).
    public static let registry: Registry = {
        var r = Registry()
        for p in defaultPlugins() { try? p.register(into: &r) }
        return r
    }()

    /// A fixture model of the reference set (explaining its logits), its input batch and its folder.
    public static func load(_ name: String) throws -> (model: ExplainableModel, input: Tensor, folder: String) {
        try load(folder: TestPaths.reference + "/" + name)
    }

    /// The model (explaining its logits) and input batch of any fixture folder (`model.onnx`, `input.npy`).
    public static func load(folder dir: String) throws -> (model: ExplainableModel, input: Tensor, folder: String) {
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        return (ExplainableModel(graph: imported.graph, output: imported.logits), try Numpy.readTensor(path: dir + "/input.npy"), dir)
    }
}

extension FixtureModels {
    /// Runs every case of a fixture set (into a temporary folder, removed afterwards) and records an
    /// issue naming each case that does not pass; returns the summary for the counts.
    public static func runFixtureSet(_ path: String, registry: Registry = registry,
                                     sourceLocation: SourceLocation = #_sourceLocation) throws -> ConformanceRunner.Summary {
        let out = NSTemporaryDirectory() + "explainkit-fixtures-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try ConformanceRunner(registry: registry).run(fixtures: path, out: out) { _ in }
        for r in summary.results {
            guard case .passed = r.outcome else { Issue.record("\(r.model)/\(r.id): \(r.outcome)", sourceLocation: sourceLocation); continue }
        }
        return summary
    }
}
