import ArgumentParser
import ExplainKit
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmark methods on a model (release builds only give meaningful numbers).")
    func run() throws {}
}
