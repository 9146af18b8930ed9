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
    @Option(name: .customLong("bind"), help: "NAME=file:X.npy: hold a further model input at fixed values (repeatable; e.g. attention_mask): one row for the batch, or one row per sample.") var bindings: [String] = []

    func run() throws {
        try reportingErrors {
            if let threads { try BLAS.setThreads(threads) }
            guard top >= 0 else { throw ExplainError(.invalidArgument, "--top must be ≥ 0") }
            let x = try Numpy.readTensor(path: input)
            // Bound inputs with one row per sample: runs of samples, one import each.
            let y = try SampleBindings(try parseBindings(bindings), batch: x.shape.first ?? 0).predict(path: model, input: x) { imported, xs in
                try BatchChunks.predict(imported.graph, xs)
            }
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
