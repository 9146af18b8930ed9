import ArgumentParser
import ExplainKit
import Foundation

@main
struct Explain: ParsableCommand {
    static func main() {
        Memory.keepFreedMemory()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain the predictions of neural networks (ONNX models).",
        subcommands: [Inspect.self, Predict.self, Bench.self])
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

