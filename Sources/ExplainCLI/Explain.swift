import ArgumentParser
import ExplainKit
import Foundation

@main
struct Explain: ParsableCommand {
    static func main() {
        BLASKernelChoice.restartIfGeneric()
        Memory.keepFreedMemory()
        do {
            try ExplainSystem.bootstrap(defaultPlugins())
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain the predictions of neural networks (ONNX models).",
        subcommands: [Demo.self, Attribute.self, Heatmap.self, Evaluate.self, TCAVCommand.self, List.self, Describe.self, Conformance.self, Inspect.self, Predict.self, Bench.self])
}

/// Runs a command body and turns ExplainKit errors into a clean message and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExplainError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Parses `1,3,224,224` style shapes.
func parseShape(_ text: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw ExplainError(.invalidArgument, "'\(text)' is not a shape; write positive integers separated by commas, e.g. 1,3,224,224")
    }
    return parts.map { $0! }
}


/// The process registry (built in `main`).
/// `--set key=value` items as options; values `file:PATH.npy` are loaded as arrays.
func parseOptions(_ settings: [String]) throws -> Options {
    var options = try Options(parsing: settings)
    for (key, path) in options.files { options.tensors[key] = try Numpy.readTensor(path: path) }
    return options
}

func registry() throws -> Registry {
    guard let r = ExplainSystem.registry else { throw ExplainError(.invalidArgument, "the registry was not bootstrapped") }
    return r
}

/// Loads a model for explanation: the explained value is the logits (input of a final Softmax)
/// unless `outputNode` names another node or value.
func loadExplainable(_ path: String, outputNode: String?, convAlgorithm: String = ConvAlgorithm.automatic.rawValue,
                     bind: [String] = []) throws -> ExplainableModel {
    let bound = try parseBindings(bind)
    if let (name, t) = bound.first(where: { $0.value.rank >= 1 && $0.value.shape[0] > 1 }) {
        throw ExplainError(.invalidArgument, "--bind \(name) holds \(t.shape[0]) rows: one row per sample is taken by `explain attribute`, "
                           + "`predict` and `evaluate`; here give one row, shared by the batch")
    }
    return try explainable(try ONNXImporter.load(path: path, options: ImportOptions(bind: bound)), outputNode: outputNode, convAlgorithm: convAlgorithm)
}

/// The explained model of an imported graph: the logits unless `outputNode` names another node or value.
func explainable(_ imported: ImportedModel, outputNode: String?, convAlgorithm: String = ConvAlgorithm.automatic.rawValue) throws -> ExplainableModel {
    let model = ExplainableModel(graph: try imported.graph.withConvAlgorithm(try ConvAlgorithm.parse(convAlgorithm)), output: imported.logits)
    return try outputNode.map { try model.explaining(node: $0) } ?? model
}

/// Parses `--bind NAME=file:X.npy` items (graph inputs held at fixed values).
func parseBindings(_ items: [String]) throws -> [String: Tensor] {
    var bound: [String: Tensor] = [:]
    for item in items {
        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("file:") else {
            throw ExplainError(.invalidArgument, "--bind '\(item)': write NAME=file:X.npy (e.g. attention_mask=file:mask.npy)")
        }
        bound[parts[0]] = try Numpy.readTensor(path: String(parts[1].dropFirst(5)))
    }
    return bound
}

/// Parses `--target`: `max`, `all`, an index, or `file:T.npy` (integers: one index per sample; floats: a seed).
func parseTarget(_ text: String) throws -> Target {
    switch text {
    case "max": return .max
    case "all": return .all
    default:
        if let i = Int(text) { return .index(i) }
        if text.hasPrefix("file:") {
            let array = try Numpy.read(path: String(text.dropFirst(5)))
            switch array.elements {
            case .float32, .float64: return .seed(try array.tensor())
            default: return .indices(try array.integers())
            }
        }
        throw ExplainError(.invalidArgument, "--target '\(text)': use max, all, an output index, or file:T.npy")
    }
}
