import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// A damaged fixture set gives named errors or failed cases, never a crash: `explain conformance`
/// reads any set of the shared format, so the manifest of a reference model is mutated (values
/// replaced by other types, absurd numbers, missing keys, wrong file names) and run, three cases
/// at a time.
@Suite struct ManifestMutationTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_ITERATIONS"] ?? "") ?? 40

    /// Replaces one value somewhere in the JSON tree.
    static func mutate(_ value: Any, rng: inout TestRandom, depth: Int = 0) -> Any {
        let strange: [Any] = [NSNull(), -1, 0, 1e300, -1e300, 9_223_372_036_854_775_807, "", "x", [Any](), [String: Any](), [1, 2, 3], "../../../etc/passwd", true]
        if var d = value as? [String: Any], !d.isEmpty, depth < 6, Int.random(in: 0..<4, using: &rng) > 0 {
            let keys = d.keys.sorted()
            let k = keys[Int.random(in: 0..<keys.count, using: &rng)]
            if Int.random(in: 0..<8, using: &rng) == 0 { d[k] = nil } else { d[k] = mutate(d[k]!, rng: &rng, depth: depth + 1) }
            return d
        }
        if var a = value as? [Any], !a.isEmpty, depth < 6, Int.random(in: 0..<4, using: &rng) > 0 {
            let i = Int.random(in: 0..<a.count, using: &rng)
            a[i] = mutate(a[i], rng: &rng, depth: depth + 1)
            return a
        }
        return strange[Int.random(in: 0..<strange.count, using: &rng)]
    }

    /// Fixture folders whose translators between them read every kind of numeric parameter.
    static let sources = ["reference/cancer-mlp", "noise/cancer-mlp", "permutation/cancer-mlp", "zennit/cancer-mlp",
                          "layer/cancer-mlp", "shap/cancer-mlp", "cam/digits-cnn"]

    /// Every numeric parameter of the case set to a number no option holds (found: translators
    /// converting `steps`, `seed`, `n_samples` … with `Int(_:)`).
    static func hugeParameters(_ c: Any, _ value: Double) -> Any {
        guard var d = c as? [String: Any], var params = d["params"] as? [String: Any] else { return c }
        for (k, v) in params {
            if v is NSNumber, !(v is Bool) { params[k] = value }
            if let a = v as? [Any] { params[k] = a.map { $0 is NSNumber ? value : $0 } }
        }
        d["params"] = params
        return d
    }

    /// A fixture folder's manifest, as JSON, and its cases.
    static func manifest(_ source: String) throws -> (manifest: [String: Any], cases: [Any]) {
        let m = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/manifest.json"))) as? [String: Any])
        return (m, try #require(m["cases"] as? [Any]))
    }

    /// Runs the conformance runner on a one-model set at `set`: the files of `source` with `manifest`
    /// in place of its own. True when it ran; false on a named error.
    static func run(_ manifest: [String: Any], of source: String, in set: String, _ what: String) throws -> Bool {
        let fm = FileManager.default, folder = set + "/" + (source as NSString).lastPathComponent
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in try fm.contentsOfDirectory(atPath: source) where file != "manifest.json" {
            try fm.createSymbolicLink(atPath: folder + "/" + file, withDestinationPath: source + "/" + file)
        }
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
        return Fuzz.failsCleanly(what) { _ = try ConformanceRunner(registry: FixtureModels.registry).run(fixtures: set, out: set + "-out") { _ in } }
    }

    @Test(arguments: sources)
    func hugeParametersFailCleanly(_ folder: String) throws {
        let source = TestPaths.fixtures + "/" + folder
        let (manifest, cases) = try Self.manifest(source)
        let root = NSTemporaryDirectory() + "explainkit-huge-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (k, value) in [1e300, -1e300, 1e19, -1.5].enumerated() {
            var m = manifest
            m["cases"] = cases.map { Self.hugeParameters($0, value) }
            _ = try Self.run(m, of: source, in: root + "/\(k)", "\(folder) params = \(value)")
        }
    }

    @Test func damagedManifestsFailCleanly() throws {
        let source = TestPaths.reference + "/cancer-mlp"
        let (manifest, cases) = try Self.manifest(source)
        let root = NSTemporaryDirectory() + "explainkit-manifests-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var rng = TestRandom(seed: 77)
        var ran = 0
        for k in 0..<Self.iterations {
            var m = manifest
            m["cases"] = (0..<3).map { _ in cases[Int.random(in: 0..<cases.count, using: &rng)] }
            for _ in 0..<Int.random(in: 1...3, using: &rng) { m = Self.mutate(m, rng: &rng) as? [String: Any] ?? m }
            if try Self.run(m, of: source, in: root + "/\(k)", "mutation \(k)") { ran += 1 }
        }
        #expect(ran > 0)
    }
}
