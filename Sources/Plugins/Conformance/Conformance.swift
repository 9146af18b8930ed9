import ExplainArrays
import ExplainCore
import ExplainONNX
import Foundation

/// Runs every case of a reference fixture set (folders with `manifest.json`, `model.onnx`,
/// `input.npy`, `targets.npy` and reference arrays) whose method a registered translator handles,
/// writes each result, then compares it with the stored reference under the case's tolerance.
///
/// The runner never reads a reference array before its own result for that case is written.
/// A case whose params name `neuron_node` and `neuron_index` explains that value of an inner node
/// (the flat index within one sample) instead of the target logit, unless its translator already
/// chose a neuron method (`neuron` option; Captum's `Neuron*` methods).
public struct ConformanceRunner {
    /// One case's outcome.
    public enum Outcome: Equatable, Sendable {
        case passed(relL2: Double, maxAbs: Double)
        case failed(String)
        case skipped(String)
    }

    /// One case: its model folder, id, outcome and time.
    public struct CaseResult: Sendable {
        public var model: String
        public var id: String
        public var outcome: Outcome
        public var seconds: Double
    }

    /// Every case's result, and the closing `N passed, M failed, K skipped` line.
    public struct Summary: Sendable {
        public var results: [CaseResult] = []
        public var passed: Int { results.filter { if case .passed = $0.outcome { true } else { false } }.count }
        public var failed: Int { results.filter { if case .failed = $0.outcome { true } else { false } }.count }
        public var skipped: [String] { results.compactMap { if case .skipped = $0.outcome { "\($0.model)/\($0.id)" } else { nil } } }
        /// `N passed, M failed, K skipped`.
        public var line: String { "\(passed) passed, \(failed) failed, \(skipped.count) skipped" }
    }

    public let registry: Registry
    /// Only cases whose id matches one of these glob patterns (all when empty).
    public var only: [String] = []
    /// The convolution algorithm the models are run with (`automatic` as imported).
    public var convAlgorithm: ConvAlgorithm = .automatic

    public init(registry: Registry, only: [String] = [], convAlgorithm: ConvAlgorithm = .automatic) {
        self.registry = registry
        self.only = only
        self.convAlgorithm = convAlgorithm
    }

    /// Runs every model folder under `fixtures`, writing results to `out/<model>/<case id>.npy`.
    public func run(fixtures: String, out: String, log: (String) -> Void = { print($0) }) throws -> Summary {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: fixtures, isDirectory: &isDir), isDir.boolValue else {
            throw ExplainError(.io, "fixture folder not found", file: fixtures)
        }
        let folders = try fm.contentsOfDirectory(atPath: fixtures).sorted().filter {
            fm.fileExists(atPath: "\(fixtures)/\($0)/manifest.json")
        }
        guard !folders.isEmpty else { throw ExplainError(.io, "no model folder with a manifest.json", file: fixtures) }
        var summary = Summary()
        for folder in folders {
            // A folder that cannot be set up (bad manifest, missing model or input) fails as a whole
            // and the run goes on with the next one.
            let results: [CaseResult]
            do {
                results = try runModel(at: "\(fixtures)/\(folder)", name: folder, out: "\(out)/\(folder)")
            } catch {
                results = [CaseResult(model: folder, id: "(model)", outcome: .failed("cannot run this model folder: \(Self.describe(error))"), seconds: 0)]
            }
            for r in results {
                summary.results.append(r)
                log(Self.format(r))
            }
        }
        return summary
    }

    static func format(_ r: CaseResult) -> String {
        let id = "\(r.model)/\(r.id)"
        let name = id.padding(toLength: max(52, id.count + 1), withPad: " ", startingAt: 0)   // never cut
        switch r.outcome {
        case .passed(let rel, let mx): return String(format: "PASS  %@ rel L2 %.2e  max|Δ| %.2e  %.3f s", name, rel, mx, r.seconds)
        case .failed(let why): return "FAIL  \(name) \(why)"
        case .skipped(let why): return "SKIP  \(name) \(why)"
        }
    }

    /// An error as one line: an `ExplainError`'s own text, else the system's description.
    static func describe(_ error: any Error) -> String {
        (error as? ExplainError).map { "\($0)" } ?? error.localizedDescription
    }

    func runModel(at dir: String, name: String, out: String) throws -> [CaseResult] {
        guard let manifestData = FileManager.default.contents(atPath: dir + "/manifest.json") else {
            throw ExplainError(.io, "cannot read the manifest", file: dir + "/manifest.json")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: manifestData) } catch {
            throw ExplainError(.malformedFile, "the manifest is not valid JSON (\(error.localizedDescription))", file: dir + "/manifest.json")
        }
        guard let manifest = json as? [String: Any], let cases = manifest["cases"] as? [[String: Any]] else {
            throw ExplainError(.malformedFile, "manifest has no 'cases' list", file: dir + "/manifest.json")
        }
        // Further model inputs held at fixed values (manifest "bind": input name → file of the folder).
        var bind: [String: Tensor] = [:]
        for (name, file) in manifest["bind"] as? [String: String] ?? [:] {
            guard Self.isPlainName(file) else { throw ExplainError(.malformedFile, "bind \(name): '\(file)' is not a file of the model's folder", file: dir + "/manifest.json") }
            bind[name] = try Numpy.readTensor(path: "\(dir)/\(file)")
        }
        let input = try Numpy.readTensor(path: dir + "/input.npy")
        // Bound arrays with one row per sample: each case runs in runs of samples, one import each.
        let bindings = SampleBindings(bind, batch: input.shape.first ?? 0)
        func explainable(_ imported: ImportedModel) throws -> ExplainableModel {
            ExplainableModel(graph: try imported.graph.withConvAlgorithm(convAlgorithm), output: imported.logits)
        }
        let model = bindings.isPerSample ? nil : try explainable(try ONNXImporter.load(path: dir + "/model.onnx", options: ImportOptions(bind: bind)))
        let targets = try Numpy.read(path: dir + "/targets.npy").integers()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        var results: [CaseResult] = []
        for c in cases {
            let id = c["id"] as? String ?? "?"
            if !only.isEmpty && !only.contains(where: { Matcher.glob($0, id) }) { continue }
            let file = c["output"] as? String ?? "\(id).npy"
            // Ids and reference names become file names: they must stay inside their folders.
            guard Self.isPlainName(id), Self.isPlainName(file) else {
                results.append(CaseResult(model: name, id: id, outcome: .failed("case id and output must be plain file names (no '/', not starting with '.')"), seconds: 0))
                continue
            }
            let start = DispatchTime.now().uptimeNanoseconds
            func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            let method = c["method"] as? String ?? ""
            let fixture = FixtureCase(id: id, method: method, family: c["family"] as? String ?? "",
                                      params: (c["params"] as? [String: Any] ?? [:]).mapValues(JSONValue.init))
            guard let translator = registry.translators[method] else {
                results.append(CaseResult(model: name, id: id, outcome: .skipped("method '\(method)' not implemented"), seconds: 0))
                continue
            }
            do {
                guard let (analyzerID, translated) = try translator.translate(fixture) else {
                    results.append(CaseResult(model: name, id: id, outcome: .skipped("this variant of \(method) is not supported"), seconds: 0))
                    continue
                }
                // Arrays the case names (groups, samples, masks) are files of the model's folder.
                var options = translated
                for (key, path) in options.files {
                    guard Self.isPlainName(path) else { throw ExplainError(.invalidArgument, "\(key): '\(path)' is not a file of the model's folder") }
                    options.tensors[key] = try Numpy.readTensor(path: "\(dir)/\(path)")
                }
                // A neuron case (Captum's Neuron* methods) explains one value of an inner node for every sample.
                var node: String? = nil, target = Target.indices(targets)
                if let n = fixture.params["neuron_node"]?.string, options.values["neuron"] == nil {
                    guard let index = fixture.params["neuron_index"]?.number, index >= 0, index == index.rounded(), index < 9_007_199_254_740_992 else {
                        throw ExplainError(.malformedFile, "a case with neuron_node needs neuron_index (the flat index of the neuron in one sample)")
                    }
                    node = n
                    target = .index(Int(index))
                }
                let o = options
                func run(_ model: ExplainableModel, _ x: Tensor, _ t: Target) throws -> Attribution {
                    try registry.makeAnalyzer(analyzerID, model: try node.map { try model.explaining(node: $0) } ?? model, options: o).analyze(x, target: t)
                }
                let attribution = try model.map { try run($0, input, target) }
                    ?? bindings.attribute(path: dir + "/model.onnx", input: input, target: target) { try run(try explainable($0), $1, $2) }
                // Our results are written before the references are read.
                try Numpy.write(attribution.values, path: "\(out)/\(id).npy")
                for (key, t) in attribution.extras where Self.isPlainName(key) { try Numpy.write(t, path: "\(out)/\(id).\(key).npy") }
                let reference = try Numpy.readTensor(path: "\(dir)/\(file)")
                let tolerance = c["tolerance"] as? [String: Double] ?? [:]
                var outcome = Self.compare(attribution.values, reference, rtol: tolerance["rtol"] ?? 1e-5, atol: tolerance["atol"] ?? 1e-5)
                // A secondary reference: params[K] names a file and params[K_tolerance] its tolerance.
                for (key, value) in fixture.params.sorted(by: { $0.key < $1.key }) {
                    guard case .passed = outcome, let ref = value.string, ref.hasSuffix(".npy"), Self.isPlainName(ref),
                          case .object(let tol)? = fixture.params[key + "_tolerance"] else { continue }
                    guard let mine = attribution.extras[key] else {
                        outcome = .failed("the case also checks '\(key)' (\(ref)), which \(analyzerID) did not return"); break
                    }
                    let secondary = Self.compare(mine, try Numpy.readTensor(path: "\(dir)/\(ref)"),
                                                 rtol: tol["rtol"]?.number ?? 1e-5, atol: tol["atol"]?.number ?? 1e-5)
                    if case .failed(let why) = secondary { outcome = .failed("\(key): \(why)") }
                }
                results.append(CaseResult(model: name, id: id, outcome: outcome, seconds: elapsed()))
            } catch let e as ExplainError {
                results.append(CaseResult(model: name, id: id, outcome: .failed("error: \(e)"), seconds: elapsed()))
            }
        }
        return results
    }

    /// A name without path separators that does not start with '.'.
    static func isPlainName(_ s: String) -> Bool { !s.isEmpty && !s.contains("/") && !s.contains("\\") && !s.hasPrefix(".") }

    /// The fixtures' comparison: max over samples of the relative L2 error, and the max absolute error.
    /// A sample whose reference is all zero passes when every |candidate| ≤ atol.
    public static func compare(_ candidate: Tensor, _ reference: Tensor, rtol: Double, atol: Double) -> Outcome {
        guard candidate.shape == reference.shape else {
            return .failed("shape \(Shape.format(candidate.shape)), reference \(Shape.format(reference.shape))")
        }
        let n = max(reference.shape.first ?? 1, 1), per = reference.count / n
        var rel = 0.0, maxAbs = 0.0
        for s in 0..<n {
            var num = 0.0, den = 0.0
            for i in (s * per)..<((s + 1) * per) {
                let d = Double(candidate.scalars[i]) - Double(reference.scalars[i])
                num += d * d
                den += Double(reference.scalars[i]) * Double(reference.scalars[i])
                maxAbs = max(maxAbs, abs(d))
            }
            if den > 0 { rel = max(rel, (num / den).squareRoot()) } else if num > 0 { rel = max(rel, 0) }
        }
        if !(rel.isFinite && maxAbs.isFinite) { return .failed("non-finite result") }
        guard rel <= rtol && maxAbs <= atol else {
            return .failed(String(format: "rel L2 %.3e (rtol %.1e), max|Δ| %.3e (atol %.1e)", rel, rtol, maxAbs, atol))
        }
        return .passed(relL2: rel, maxAbs: maxAbs)
    }
}
