import ArgumentParser
import ExplainKit
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time methods on an architecture with random weights or on a model (use a release build).")

    @Option(help: "Built-in architecture with random weights: \(Architectures.ids.joined(separator: ", ")).") var arch: String?
    @Option(help: "An ONNX model instead of --arch.") var model: String?
    @Option(name: .customLong("input-shape"), help: "Input shape C,H,W or N,C,H,W for --model (the batch comes from --batch).") var inputShape: String?
    @Option(help: "Batch size.") var batch: Int = 1
    @Option(help: "Timed rounds; each round runs every method once, in the given order (after one warm-up run each).") var runs: Int = 5
    @Option(help: "OpenBLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Comma-separated method ids: forward and any analyzer id (see `explain list`).") var methods: String = "forward"
    @Option(name: .customLong("set"), help: "Analyzer parameter key=value, given to every method that declares it (repeatable).") var settings: [String] = []
    @Option(name: .customLong("conv-algorithm"), help: "Convolution algorithm: \(ConvAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).")
    var convAlgorithm: String = ConvAlgorithm.automatic.rawValue
    @Flag(help: "Print a JSON array instead of text lines.") var json = false
    @Flag(help: "Also print every node's time in one forward pass and in each analyzer's backward pass, slowest first, with totals per layer kind.") var profile = false

    func run() throws {
        try reportingErrors {
            guard batch >= 1, batch <= 4096 else { throw ExplainError(.invalidArgument, "--batch must be in 1...4096") }
            guard runs >= 1, runs <= 10_000 else { throw ExplainError(.invalidArgument, "--runs must be in 1...10000") }
            if let threads { try BLAS.setThreads(threads) }
            let ids = methods.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            let registry = try registry()
            for id in ids where id != "forward" && (try? registry.analyzer(id)) == nil {
                throw ExplainError(.unknownName, "unknown method '\(id)'"
                    + (Registry.closest(id, in: ["forward"] + registry.analyzers.keys).map { "; did you mean '\($0)'?" } ?? "")
                    + " Bench methods are forward and the analyzers " + registry.analyzers.keys.sorted().joined(separator: ", "))
            }
            let algorithm = try ConvAlgorithm.parse(convAlgorithm)
            let (loaded, shape, label) = try loadTarget()
            let graph = try loaded.withConvAlgorithm(algorithm)
            let flops = try? graph.flops([shape])
            var rng = SeededGenerator(seed: 1)
            let input = rng.uniformTensor(shape, bound: 1)
            var profiled: [(String, BackpropAnalyzer)] = []
            let all = try Options(parsing: settings)
            // Each analyzer is made just before its warm-up run (so the forward's peak memory does not
            // include the analyzers' prepared weights) and gets the --set values it declares.
            let entries = ids.map { id -> BenchEntry in
                BenchEntry(id: id) {
                    if id == "forward" { return { _ = try graph.predict(input) } }
                    let analyzer = try registry.makeAnalyzer(id, model: ExplainableModel(graph: graph, output: outputValue(graph)),
                                                             options: try registry.options(for: id, from: all))
                    if let b = analyzer as? BackpropAnalyzer { profiled.append((id, b)) }
                    return { _ = try analyzer.analyze(input, target: .max) }
                }
            }
            let results = try BenchResult.measureInRounds(entries, batch: batch, runs: runs, forwardFlops: flops)
            if !json { for r in results { print(r.line) } }
            if profile {
                try NodeProfile.run(graph, input)
                for (id, analyzer) in profiled {
                    let p = try analyzer.profile(input, target: .max)
                    NodeProfile.print("\(id): forward \(String(format: "%.4f", p.forwardSeconds)) s; backward per node", p.backwardSeconds)
                }
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: results.map { $0.json(model: label) }, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("model \(label), input \(Shape.format(shape)), \(BLAS.threads) OpenBLAS thread(s), kernel \(BLAS.coreName), convolutions \(algorithm.rawValue)")
            }
        }
    }

    func loadTarget() throws -> (Graph, [Int], String) {
        switch (arch, model) {
        case (let a?, nil):
            return (try Architectures.build(a), Architectures.inputShape(batch: batch), a)
        case (nil, let m?):
            guard let text = inputShape else { throw ExplainError(.invalidArgument, "--model needs --input-shape C,H,W") }
            var dims = try parseShape(text)
            let imported = try ONNXImporter.load(path: m, options: ImportOptions(inputShape: [1] + dims.suffix(from: dims.count == 4 ? 1 : 0)))
            if dims.count == 4 { dims.removeFirst() }
            return (imported.graph, [batch] + dims, m)
        default:
            throw ExplainError(.invalidArgument, "give exactly one of --arch and --model")
        }
    }
}

/// The logits of a benchmark graph: the input of a final Softmax, else the first output.
func outputValue(_ graph: Graph) -> ValueID {
    if let p = graph.producers[graph.outputs[0]], graph.nodes[p].layer.kind == .softmax { return graph.nodes[p].inputs[0] }
    return graph.outputs[0]
}

/// One method to time: its id and how to make its body (called once, before the warm-up run).
struct BenchEntry {
    var id: String
    var make: () throws -> () throws -> Void
}

/// Timing statistics of one method.
struct BenchResult {
    var method: String
    var batch: Int
    var times: [Double]
    var flops: Double?
    var peakBytes: Int?
    /// Median over the rounds of this method's time / the same round's forward time.
    var ratioToForward: Double?

    var median: Double { times.median }

    /// Times every method `runs` times in interleaved rounds (each round runs every method once,
    /// in the given order) after one warm-up run each, so that the machine's drift hits all methods
    /// alike. Each method's ratio to the forward pass is the median over the rounds of its time
    /// divided by the mean forward time of the same round (when `forward` is among the methods).
    /// Peak memory is measured per method during its warm-up run.
    static func measureInRounds(_ entries: [BenchEntry], batch: Int, runs: Int,
                                forwardFlops: Double?) throws -> [BenchResult] {
        var results = entries.map { BenchResult(method: $0.id, batch: batch, times: [],
                                                flops: $0.id == "forward" ? forwardFlops : nil) }
        var bodies: [() throws -> Void] = []
        for (i, entry) in entries.enumerated() {
            PeakMemory.reset()
            let body = try entry.make()
            try body()
            results[i].peakBytes = PeakMemory.current()
            bodies.append(body)
        }
        for _ in 0..<runs {
            for (i, body) in bodies.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                results[i].times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        let forwards = results.filter { $0.method == "forward" }
        if !forwards.isEmpty {
            for i in results.indices where results[i].method != "forward" {
                let ratios = (0..<runs).map { r in
                    results[i].times[r] / (forwards.reduce(0) { $0 + $1.times[r] } / Double(forwards.count))
                }
                results[i].ratioToForward = ratios.median
            }
        }
        return results
    }

    var line: String {
        var s = String(format: "%-28@ batch %3d  median %8.4f s  min %8.4f s  max %8.4f s  %8.1f img/s",
                       method as NSString, batch, median, times.min() ?? 0, times.max() ?? 0, Double(batch) / median)
        if let flops { s += String(format: "  %6.1f GFLOP/s", flops / median / 1e9) }
        if let peakBytes { s += String(format: "  peak %6.0f MB", Double(peakBytes) / 1e6) }
        if let ratioToForward { s += String(format: "  %5.2f× forward", ratioToForward) }
        return s
    }

    func json(model: String) -> [String: Any] {
        var o: [String: Any] = ["method": method, "batch": batch, "median_s": median, "min_s": times.min() ?? 0,
                                "max_s": times.max() ?? 0, "runs": times.count, "model": model,
                                "images_per_s": Double(batch) / median, "threads": BLAS.threads]
        if let flops { o["gflops_per_s"] = flops / median / 1e9 }
        if let peakBytes { o["peak_memory_bytes"] = peakBytes }
        if let ratioToForward { o["ratio_to_forward"] = ratioToForward }
        return o
    }
}

extension Array where Element == Double {
    /// The middle value (mean of the two middle values for an even count); 0 when empty.
    var median: Double {
        guard !isEmpty else { return 0 }
        let s = sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// The process's peak resident memory (Linux `VmHWM`), resettable through `/proc/self/clear_refs`.
enum PeakMemory {
    static func reset() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            h.write(Data("5".utf8))
            try? h.close()
        }
    }

    static func current() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}

/// Per-node forward times (`explain bench --profile`), slowest first.
enum NodeProfile {
    /// Prints the slowest entries with their share of the total.
    static func print(_ title: String, _ rows: [(String, Double)], top: Int = 400) {
        let total = rows.reduce(0) { $0 + $1.1 }
        Swift.print(title + String(format: " (total %.4f s):", total))
        for (name, t) in rows.sorted(by: { $0.1 > $1.1 }).prefix(top) {
            Swift.print(String(format: "  %8.4f s  %5.1f%%  ", t, 100 * t / max(total, 1e-12)) + name)
        }
        // Totals per layer kind: the kind is the description up to its first "(".
        var kinds: [String: (Double, Int)] = [:]
        for (name, t) in rows {
            let description = name.split(separator: " ", maxSplits: 1).last.map(String.init) ?? name
            let kind = String(description.trimmingCharacters(in: .whitespaces).prefix { $0 != "(" })
            kinds[kind, default: (0, 0)].0 += t
            kinds[kind, default: (0, 0)].1 += 1
        }
        Swift.print("  by kind: " + kinds.sorted { $0.value.0 > $1.value.0 }
            .map { String(format: "%@ %.4f s (%d)", $0.key, $0.value.0, $0.value.1) }.joined(separator: ", "))
    }

    static func run(_ graph: Graph, _ input: Tensor, top: Int = 400) throws {
        // Two passes, the second timed: the first touches (page-faults) the memory every value needs.
        var rows: [(String, String, Double)] = []
        for _ in 0..<2 {
            rows = []
            var values = [Tensor?](repeating: nil, count: graph.valueNames.count)
            values[graph.inputs[0]] = input
            for node in graph.nodes {
                let args = try node.inputs.map { v -> Tensor in
                    guard let t = values[v] else { throw ExplainError(.missingValue, "value \(v) missing") }
                    return t
                }
                let start = DispatchTime.now().uptimeNanoseconds
                values[node.output] = try node.layer.forward(args)
                rows.append((node.name, node.layer.description, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            }
        }
        print("per-node forward times", rows.map { ("\($0.0)  \($0.1)", $0.2) }, top: top)
    }
}
