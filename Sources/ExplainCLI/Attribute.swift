import ArgumentParser
import ExplainKit
import Foundation

struct Attribute: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Explain a model's outputs on an input batch with one method.")

    @Argument(help: "The ONNX model file.") var model: String
    @Option(help: "Input batch as a .npy file (float32, batch first).") var input: String
    @Option(help: "Method id (see `explain list`; default lrp when --rule or --preset is given).") var method: String?
    @Option(name: .customLong("rule"), help: "LRP rule for matching layers, selector=rule[:args], tried first (repeatable), e.g. conv=gamma:0.25, first=zbox:-1,1, 'name:layer4.*=alpha_beta:2,1'.") var rules: [String] = []
    @Option(help: "LRP preset the --rule entries fall through to (e.g. lrp.epsilon_plus).") var preset: String?
    @Option(name: .customLong("keep"), help: "Also write the relevance/gradient arriving at this node (repeatable; saved next to --output).") var keep: [String] = []
    @Option(name: .customLong("set"), help: "Method parameter key=value (repeatable; see `explain describe ID`); a value file:A.npy passes an array (groups, samples, masks, baseline).") var settings: [String] = []
    @Option(parsing: .unconditional, help: "max (default), all, an output index, or file:T.npy (int64 indices per sample, or a float seed).") var target: String = "max"
    @Option(name: .customLong("output-node"), help: "Explain this node's output instead of the logits.") var outputNode: String?
    @Option(name: .customLong("bind"), help: "NAME=file:X.npy: hold a further model input at fixed values (repeatable; e.g. attention_mask): one row for the batch, or one row per sample.") var bindings: [String] = []
    @Option(help: "Write the attribution to this .npy file.") var output: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object (shapes, targets, per-sample sums and deltas, kept nodes, notes, files, seconds) instead of text.") var json = false
    @Option(name: .customLong("conv-algorithm"), help: "Convolution algorithm: automatic (Winograd for wide 3×3 layers), im2col, winograd.")
    var convAlgorithm: String = ConvAlgorithm.automatic.rawValue

    func run() throws {
        try reportingErrors {
            if let threads { try BLAS.setThreads(threads) }
            let registry = try registry()
            var options = try parseOptions(settings)
            let method = self.method ?? (rules.isEmpty && preset == nil ? nil : "lrp")
            guard let method else { throw ExplainError(.invalidArgument, "give --method (see `explain list`)") }
            if !rules.isEmpty { options.values["rules"] = ([options.values["rules"]].compactMap { $0 } + rules).joined(separator: ";") }
            if let preset {
                guard method == "lrp" else { throw ExplainError(.invalidArgument, "--preset goes with --method lrp (the lrp.* methods are presets already)") }
                options.values["preset"] = preset
            }
            if !keep.isEmpty { options.values["keep"] = keep.joined(separator: ",") }
            let selection = try parseTarget(target)
            let x = try Numpy.readTensor(path: input)
            // Bound inputs with one row per sample run in runs of samples, one import each.
            let bound = SampleBindings(try parseBindings(bindings), batch: x.shape.first ?? 0)
            var seconds = 0.0
            let a = try bound.attribute(path: model, input: x, target: selection) { imported, xs, t in
                let analyzer = try registry.makeAnalyzer(method, model: try explainable(imported, outputNode: outputNode, convAlgorithm: convAlgorithm),
                                                         options: options)
                let start = DispatchTime.now().uptimeNanoseconds
                defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
                return try analyzer.analyze(xs, target: t)
            }
            let kept = a.captured.sorted(by: { $0.key < $1.key })
            var written: [String: String] = [:]
            if let output {
                try Numpy.write(a.values, path: output)
                written["attribution"] = output
                let stem = output.hasSuffix(".npy") ? String(output.dropLast(4)) : output
                for (name, t) in kept {
                    let safe = name.map { $0.isLetter || $0.isNumber ? $0 : "_" }
                    let path = stem + ".\(String(safe)).npy"
                    try Numpy.write(t, path: path)
                    written[name] = path
                    if !json { print("wrote \(path) (relevance at \(name))") }
                }
                // Further results of the method (e.g. XRAI's region ranks).
                for (name, t) in a.extras.sorted(by: { $0.key < $1.key }) where !name.isEmpty && name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    let path = stem + ".\(name).npy"
                    try Numpy.write(t, path: path)
                    written[name] = path
                    if !json { print("wrote \(path) (\(name))") }
                }
            }
            // Reference and layer methods promise completeness (except the relevance at a layer).
            let family = try registry.analyzer(method).family
            let deltaKind = family == "reference" || (family == "layer" && method != "layer_lrp") ? "completeness" : "conservation"
            if json {
                var object: [String: Any] = [
                    "method": method, "input_shape": x.shape, "shape": a.values.shape, "seconds": seconds,
                    "sums": a.sums, "notes": a.diagnostics, "files": written,
                    "kept": Dictionary(uniqueKeysWithValues: kept.map { ($0.key, ["shape": $0.value.shape, "sums": $0.value.sampleSums] as [String: Any]) }),
                ]
                if let targets = a.targets { object["targets"] = targets }
                if let delta = a.delta { object[deltaKind] = delta }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("\(method) on \(Shape.format(x.shape)) → \(Shape.format(a.values.shape)) in \(String(format: "%.4f", seconds)) s")
            for (s, sum) in a.sums.enumerated() {
                let t = a.targets.map { " target \($0[s])" } ?? ""
                print(String(format: "sample %d:%@  Σ attribution %.6g", s, t, sum))
            }
            if let delta = a.delta {
                let what = deltaKind == "completeness"
                    ? "completeness: Σ attribution − (f(x) − f(x0)) per sample: " : "conservation: Σ relevance − Σ seed per sample: "
                print(what + delta.map { String(format: "%.4g", $0) }.joined(separator: ", "))
            }
            for (name, t) in kept {
                let sums = t.sampleSums.map { String(format: "%.6g", $0) }.joined(separator: ", ")
                print("kept \(name) \(Shape.format(t.shape)): Σ per sample \(sums)")
            }
            for note in a.diagnostics { print("note: \(note)") }
            if let output { print("wrote \(output)") }
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the registered analyzers, rules, presets and canonizers.")

    func run() throws {
        try reportingErrors {
            let r = try registry()
            // One column for every id: the longest one and a space (ids are never cut).
            let ids = Array(r.analyzers.keys) + Array(r.rules.keys) + Array(r.presets.keys) + Array(r.canonizers.keys)
            let width = (ids.map(\.count).max() ?? 0) + 1
            func line(_ id: String, _ rest: String) -> String { "  " + id.padding(toLength: width, withPad: " ", startingAt: 0) + rest }
            print("analyzers:")
            let familyWidth = (r.analyzers.values.map(\.family.count).max() ?? 0) + 2
            for e in r.analyzers.values.sorted(by: { ($0.family, $0.id) < ($1.family, $1.id) }) {
                let also = r.aliases(of: e.id)
                print(line(e.id, e.family.padding(toLength: familyWidth, withPad: " ", startingAt: 0) + e.summary
                           + (also.isEmpty ? "" : " (also: \(also.joined(separator: ", ")))")))
            }
            print("rules:")
            for e in r.rules.values.sorted(by: { $0.id < $1.id }) { print(line(e.id, e.summary)) }
            print("presets:")
            for e in r.presets.values.sorted(by: { $0.id < $1.id }) { print(line(e.id, e.summary)) }
            print("canonizers:")
            if r.canonizers.isEmpty { print("  (none yet)") }
            for e in r.canonizers.values.sorted(by: { $0.id < $1.id }) { print(line(e.id, e.summary)) }
        }
    }
}

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a method, rule or preset: formula, reference, parameters and defaults.")

    @Argument(help: "An analyzer, rule or preset id.") var id: String

    func run() throws {
        try reportingErrors {
            let r = try registry()
            var found = false
            if let e = try? r.analyzer(id) {
                found = true
                print("\(e.id) (\(e.family)): \(e.summary)")
                print("formula:   \(e.formula)")
                print("reference: \(e.reference)")
                if e.parameters.isEmpty { print("parameters: none") }
                // Literal defaults stand in the option; described ones ("(required)", "2M + 2048") follow the summary.
                let rows = e.parameters.map { p -> (String, String) in
                    let literal = !p.defaultValue.contains(" ") && !p.defaultValue.hasPrefix("(")
                    let described = p.defaultValue.hasPrefix("(") && p.defaultValue.hasSuffix(")") ? String(p.defaultValue.dropFirst().dropLast()) : p.defaultValue
                    return (literal ? "  --set \(p.name)=\(p.defaultValue)" : "  --set \(p.name)=…",
                            literal ? p.summary : "\(p.summary) (default: \(described))")
                }
                let width = (rows.map(\.0.count).max() ?? 0) + 2
                for (option, summary) in rows { print(option.padding(toLength: width, withPad: " ", startingAt: 0) + summary) }
                print("usage: explain attribute MODEL.onnx --input X.npy --method \(e.id)")
            }
            if let e = r.rules[id] { found = true; print("rule \(e.id): \(e.summary)") }
            if let e = r.presets[id] { found = true; print((try? e.make(Options()))?.description ?? "preset \(e.id): \(e.summary)") }
            if !found {
                throw ExplainError(.unknownName, "'\(id)' is not a registered analyzer, rule or preset"
                    + (Registry.closest(id, in: Array(r.analyzers.keys) + Array(r.rules.keys) + Array(r.presets.keys)).map { "; did you mean '\($0)'?" } ?? ""))
            }
        }
    }
}

struct Conformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every implemented method against a reference fixture set (folders with manifest.json).")

    @Argument(help: "The fixture folder (e.g. Tests/Fixtures/reference).") var fixtures: String
    @Option(help: "Folder for the computed results (DIR/<model>/<case id>.npy).") var out: String
    @Option(help: "Only cases whose id matches these glob patterns (comma-separated).") var only: String?
    @Option(name: .customLong("conv-algorithm"), help: "Convolution algorithm: \(ConvAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).")
    var convAlgorithm: String = ConvAlgorithm.automatic.rawValue

    func run() throws {
        var failed = false
        try reportingErrors {
            let algorithm = try ConvAlgorithm.parse(convAlgorithm)
            let runner = ConformanceRunner(registry: try registry(), only: only.map { $0.split(separator: ",").map(String.init) } ?? [],
                                           convAlgorithm: algorithm)
            let summary = try runner.run(fixtures: fixtures, out: out)
            let skippedIDs = Set(summary.results.compactMap { r -> String? in if case .skipped = r.outcome { r.id } else { nil } })
            if !skippedIDs.isEmpty { print("skipped (not implemented yet): \(skippedIDs.sorted().joined(separator: ", "))") }
            print(summary.line)
            failed = summary.failed > 0
        }
        if failed { throw ExitCode(1) }
    }
}
