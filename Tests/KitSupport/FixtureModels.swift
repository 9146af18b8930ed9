import ExplainKit
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

    /// A fixture model (explaining its logits), its input batch and its folder.
    public static func load(_ name: String) throws -> (model: ExplainableModel, input: Tensor, folder: String) {
        let dir = TestPaths.reference + "/" + name
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        return (ExplainableModel(graph: imported.graph, output: imported.logits), try Numpy.readTensor(path: dir + "/input.npy"), dir)
    }
}
