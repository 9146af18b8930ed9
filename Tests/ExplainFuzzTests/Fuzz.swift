import ExplainKit
import Foundation
import Testing

/// What the fuzzing suites share: the trace that names each case before it runs
/// (`EXPLAINKIT_FUZZ_TRACE=1`, so that a crash names its case) and the one check they make.
enum Fuzz {
    static let tracing = ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_TRACE"] == "1"

    static func trace(_ line: @autoclosure () -> String) {
        if tracing { FileHandle.standardError.write(Data((line() + "\n").utf8)) }
    }

    /// Runs `body`: true when it returns, false on an `ExplainError`; any other error is recorded
    /// as an issue naming `what` (a crash ends the run).
    @discardableResult
    static func failsCleanly(_ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation,
                             _ body: () throws -> Void) -> Bool {
        do {
            try body()
            return true
        } catch is ExplainError {
            return false
        } catch {
            Issue.record("\(what()): \(type(of: error)) \(error) is not an ExplainError", sourceLocation: sourceLocation)
            return false
        }
    }
}
