import ArgumentParser
import ExplainKit
import Foundation

struct TCAVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcav",
        abstract: "Testing with Concept Activation Vectors: how much concepts (example inputs) drive a class at a layer.")

    @Argument(help: "The ONNX model file.") var model: String
    @Option(help: "Inputs to test (.npy, batch first), e.g. images of the class.") var input: String
    @Option(name: .customLong("concept"), help: "NAME=FILE.npy: examples of a concept (repeatable).") var concepts: [String] = []
    @Option(name: .customLong("random"), help: "FILE.npy: a random counterexample set (repeatable; several show the spread).") var randoms: [String] = []
    @Option(help: "Layer: a node or value name (default: the last hidden layer; `explain inspect` names it).") var layer: String?
    @Option(parsing: .unconditional, help: "max (default), an output index, or file:T.npy.") var target: String = "max"
    @Option(name: .customLong("output-node"), help: "Explain this node's output instead of the logits.") var outputNode: String?
    @Option(name: .customLong("bind"), help: "NAME=file:X.npy: hold a further model input at fixed values (repeatable; e.g. attention_mask).") var bindings: [String] = []
    @Option(help: "Inverse L2 regularisation of the CAV classifier (scikit-learn's C).") var c: Double = 1
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        try reportingErrors {
            guard !concepts.isEmpty, !randoms.isEmpty else {
                throw ExplainError(.invalidArgument, "give at least one --concept NAME=FILE.npy and one --random FILE.npy")
            }
            let explainable = try loadExplainable(model, outputNode: outputNode, bind: bindings)
            let x = try Numpy.readTensor(path: input)
            let tcav = try TCAV(model: explainable, layer: layer, inputShape: x.shape, c: c)
            let selection = try parseTarget(target)
            let randomSets = try randoms.map { try Numpy.readTensor(path: $0) }
            var rows: [[String: Any]] = []
            for spec in concepts {
                let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw ExplainError(.invalidArgument, "--concept '\(spec)': write NAME=FILE.npy")
                }
                let examples = try Numpy.readTensor(path: parts[1])
                for (path, random) in zip(randoms, randomSets) {
                    let s = try tcav.score(x, target: selection, concept: examples, random: random)
                    rows.append(["concept": parts[0], "random": path, "sign_count": s.signCount, "magnitude": s.magnitude,
                                 "cav_accuracy": s.accuracy, "sensitivities": s.sensitivities])
                }
            }
            let layerName = explainable.graph.valueNames[tcav.layer]
            if json {
                let data = try JSONSerialization.data(withJSONObject: ["layer": layerName, "scores": rows], options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("layer: '\(layerName)', \(x.shape[0]) input(s)")
            for r in rows {
                print(String(format: "%@ vs %@: sign_count %.4f  magnitude %.6g  (CAV accuracy %.3f)",
                             r["concept"] as? String ?? "", r["random"] as? String ?? "", r["sign_count"] as? Double ?? 0,
                             r["magnitude"] as? Double ?? 0, r["cav_accuracy"] as? Double ?? 0))
            }
            if randoms.count > 1 {
                for spec in concepts {
                    let name = String(spec.split(separator: "=").first ?? "")
                    let scores = rows.filter { $0["concept"] as? String == name }.compactMap { $0["sign_count"] as? Double }
                    let mean = scores.reduce(0, +) / Double(scores.count)
                    let sd = (scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(scores.count - 1, 1))).squareRoot()
                    print(String(format: "%@: sign_count %.4f ± %.4f over %d random sets", name, mean, sd, scores.count))
                }
            }
        }
    }
}
