import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// `explain conformance` semantics on the reference fixtures: every implemented case passes.
@Suite struct ConformanceTests {
    static let registry: Registry = {
        var r = Registry()
        for p in defaultPlugins() { try? p.register(into: &r) }
        return r
    }()

    @Test func gradientAndSignalCasesPassOnAllModels() throws {
        let out = NSTemporaryDirectory() + "explainkit-conformance-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let runner = ConformanceRunner(registry: Self.registry)
        var lines: [String] = []
        let summary = try runner.run(fixtures: TestPaths.reference, out: out) { lines.append($0) }
        for r in summary.results {
            if case .failed(let why) = r.outcome { Issue.record("\(r.model)/\(r.id): \(why)") }
        }
        // Every gradient, saliency, input_x_gradient, guided_backprop and deconvnet case of all three models ran and passed.
        for model in ["digits-cnn", "digits-resnet", "cancer-mlp"] {
            for id in ["gradient", "saliency", "input_x_gradient", "guided_backprop", "deconvnet"] {
                let result = summary.results.first { $0.model == model && $0.id == id }
                guard case .passed? = result?.outcome else {
                    Issue.record("\(model)/\(id) did not pass: \(String(describing: result?.outcome))")
                    continue
                }
                #expect(FileManager.default.fileExists(atPath: "\(out)/\(model)/\(id).npy"))
            }
        }
        // Every LRP case of every model is implemented and passes.
        let lrp = summary.results.filter { $0.id.hasPrefix("lrp_") }
        #expect(lrp.count == 42)
        for r in lrp {
            guard case .passed = r.outcome else { Issue.record("\(r.model)/\(r.id): \(r.outcome)"); continue }
        }
        // Every Integrated Gradients and DeepLIFT case of every model is implemented and passes.
        let reference = summary.results.filter { $0.id.hasPrefix("integrated_gradients_") || $0.id.hasPrefix("deeplift_") }
        #expect(reference.count == 11)
        for r in reference {
            guard case .passed = r.outcome else { Issue.record("\(r.model)/\(r.id): \(r.outcome)"); continue }
        }
        // Every CAM case of both image models is implemented and passes.
        let cams = summary.results.filter { r in ["gradcam", "gradcampp", "layercam", "xgradcam", "hirescam", "scorecam", "ablationcam", "eigencam"]
            .contains { r.id.hasPrefix($0 + "_") } }
        #expect(cams.count == 36)
        for r in cams {
            guard case .passed = r.outcome else { Issue.record("\(r.model)/\(r.id): \(r.outcome)"); continue }
        }
        // Every model-agnostic case of every model is implemented and passes (LIME also its intercepts).
        let agnostic = summary.results.filter { r in ["occlusion", "feature_ablation", "shapley_exact", "kernelshap", "lime", "rise"]
            .contains { r.id.hasPrefix($0) } }
        #expect(agnostic.count == 20)
        for r in agnostic {
            guard case .passed = r.outcome else { Issue.record("\(r.model)/\(r.id): \(r.outcome)"); continue }
        }
        #expect(FileManager.default.fileExists(atPath: "\(out)/digits-cnn/lime_given_samples.intercepts.npy"))
        #expect(summary.passed == 124 && summary.skipped.isEmpty)
        #expect(summary.failed == 0)
        #expect(summary.line == "\(summary.passed) passed, 0 failed, \(summary.skipped.count) skipped")
    }

    /// The fixture models are too narrow for `automatic` to pick Winograd; forced, every 3×3 layer
    /// uses it (LRP's transposed products stay im2col, see `ModifiedTerm`) and every case still passes.
    @Test func everyCasePassesWithWinogradForced() throws {
        let out = NSTemporaryDirectory() + "explainkit-conformance-winograd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let runner = ConformanceRunner(registry: Self.registry, convAlgorithm: .winograd)
        let summary = try runner.run(fixtures: TestPaths.reference, out: out) { _ in }
        for r in summary.results {
            if case .failed(let why) = r.outcome { Issue.record("\(r.model)/\(r.id): \(why)") }
        }
        #expect(summary.passed == 124)
        #expect(summary.failed == 0)
        // And about as precisely as im2col: Winograd's rounding must not turn into a convention-sized
        // error anywhere (the α-β denominators z⁻ are therefore computed per term, see AlphaBetaRule).
        let im2col = try ConformanceRunner(registry: Self.registry, convAlgorithm: .im2col).run(fixtures: TestPaths.reference, out: out) { _ in }
        for (w, i) in zip(summary.results, im2col.results) {
            guard case let .passed(wino, _) = w.outcome, case let .passed(exact, _) = i.outcome, w.id == i.id else { continue }
            #expect(wino <= 3 * exact + 2e-7, "\(w.model)/\(w.id): rel L2 \(wino) with Winograd, \(exact) with im2col")
        }
    }

    @Test func comparisonFollowsTheFixtureRules() throws {
        let ref = try Tensor(shape: [2, 2], scalars: [1, 0, 0, 0])
        let close = try Tensor(shape: [2, 2], scalars: [1.000001, 0, 0, 1e-6])
        #expect(ConformanceRunner.compare(close, ref, rtol: 1e-5, atol: 1e-5) != .failed(""))
        if case .failed = ConformanceRunner.compare(close, ref, rtol: 1e-5, atol: 1e-5) { Issue.record("should pass") }
        // A zero reference sample passes only when every |candidate| <= atol.
        let far = try Tensor(shape: [2, 2], scalars: [1, 0, 0, 1e-3])
        if case .passed = ConformanceRunner.compare(far, ref, rtol: 1e-5, atol: 1e-5) { Issue.record("should fail") }
        let wrongShape = try Tensor(shape: [4], scalars: [1, 0, 0, 0])
        if case .passed = ConformanceRunner.compare(wrongShape, ref, rtol: 1, atol: 1) { Issue.record("should fail") }
    }

    /// A fixture set of the same format with faults: a folder whose manifest is not JSON fails as a
    /// whole and the run goes on; case ids or outputs that are paths fail without writing outside
    /// the output folder; the other cases still pass.
    @Test func faultyFixtureSetsFailPerFolderAndCase() throws {
        let fm = FileManager.default
        let root = NSTemporaryDirectory() + "explainkit-faulty-\(UUID().uuidString)"
        defer { try? fm.removeItem(atPath: root) }
        let fixtures = root + "/fixtures", out = root + "/out/run"
        try fm.createDirectory(atPath: fixtures + "/broken", withIntermediateDirectories: true)
        try Data("{".utf8).write(to: URL(fileURLWithPath: fixtures + "/broken/manifest.json"))
        try fm.copyItem(atPath: TestPaths.reference + "/cancer-mlp", toPath: fixtures + "/mlp")
        let manifestPath = fixtures + "/mlp/manifest.json"
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any])
        var cases = try #require(manifest["cases"] as? [[String: Any]])
        let gradient = try #require(cases.firstIndex { $0["id"] as? String == "gradient" })
        let saliency = try #require(cases.firstIndex { $0["id"] as? String == "saliency" })
        cases[gradient]["id"] = "../escaped"
        cases[saliency]["output"] = "../../gradient.npy"
        // A wrong secondary reference (LIME's intercepts) fails its case.
        try Numpy.write(try Tensor(shape: [4], scalars: [1, 2, 3, 4]), path: fixtures + "/mlp/lime_intercepts.npy")
        manifest["cases"] = cases
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestPath))

        let summary = try ConformanceRunner(registry: Self.registry, only: ["*gradient*", "*escaped", "saliency", "lime*"])
            .run(fixtures: fixtures, out: out) { _ in }
        func outcome(_ model: String, _ id: String) -> ConformanceRunner.Outcome? {
            summary.results.first { $0.model == model && $0.id == id }?.outcome
        }
        guard case .failed(let why)? = outcome("broken", "(model)") else { Issue.record("broken folder: \(summary.results)"); return }
        #expect(why.contains("not valid JSON"))
        guard case .failed? = outcome("mlp", "../escaped"), case .failed? = outcome("mlp", "saliency") else {
            Issue.record("path-like names: \(summary.results)"); return
        }
        guard case .passed? = outcome("mlp", "input_x_gradient") else { Issue.record("\(summary.results)"); return }
        guard case .failed(let limeWhy)? = outcome("mlp", "lime_given_samples") else { Issue.record("lime: \(summary.results)"); return }
        #expect(limeWhy.hasPrefix("intercepts"))
        #expect(!fm.fileExists(atPath: out + "/escaped.npy") && summary.failed == 4)
    }
}
