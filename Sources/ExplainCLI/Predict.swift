import ArgumentParser
import ExplainKit
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a model on an input batch and print the top classes.")

    @Argument(help: "The ONNX model file.") var model: String
    @Option(help: "Input batch as a .npy file (float32, batch first).") var input: String
    @Option(help: "Write the graph output (probabilities if the graph ends in Softmax) to this .npy file.") var output: String?
    @Option(help: "How many top classes to print per sample (0: none, e.g. with --output).") var top: Int = 5
    @Option(help: "OpenBLAS threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("bind"), help: "NAME=file:X.npy: hold a further model input at fixed values (repeatable; e.g. attention_mask).") var bindings: [String] = []

    func run() throws {
        try reportingErrors {
            if let threads { try BLAS.setThreads(threads) }
            guard top >= 0 else { throw ExplainError(.invalidArgument, "--top must be ≥ 0") }
            let imported = try ONNXImporter.load(path: model, options: ImportOptions(bind: try parseBindings(bindings)))
            let x = try Numpy.readTensor(path: input)
            let y = try BatchChunks.predict(imported.graph, x)
            if let output { try Numpy.write(y, path: output) }
            guard y.rank == 2 else {
                print("output shape \(Shape.format(y.shape))")
                return
            }
            let (n, k) = (y.shape[0], y.shape[1])
            for s in 0..<n where top > 0 {
                let row = Array(y.scalars[(s * k)..<((s + 1) * k)])
                let best = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(top)
                let text = best.map { String(format: "%d (%.4f)", $0, Double(row[$0])) }.joined(separator: ", ")
                print("sample \(s): \(text)")
            }
            if let output { print("wrote \(output) \(Shape.format(y.shape))") }
        }
    }
}
