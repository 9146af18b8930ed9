import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// Damaged models give named errors, never a crash: every test model, mutated many times in
/// structured ways (`ModelMutator`), is imported and — where it still imports — run forward and
/// explained with methods of several families. Any error must be an `ExplainError`; a crash ends the
/// test run. `EXPLAINKIT_FUZZ_ITERATIONS=N` runs N mutations per model (default 60) and
/// `EXPLAINKIT_FUZZ_ROUND=R` draws other mutations, `EXPLAINKIT_FUZZ_TRACE=1` prints each mutation before it runs, so that a crash names its seed.
@Suite struct ModelMutationTests {
    static let folders: [String] = {
        // Large; their patterns are in vit and the rest (EXPLAINKIT_FUZZ_LARGE=1 takes them too).
        let skip: Set = ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_LARGE"] == "1" ? [] : ["vit-dynamo", "swin"]
        return TestPaths.folders(in: TestPaths.models).filter { !skip.contains($0) }.map { TestPaths.models + "/" + $0 }
            + TestPaths.folders(in: TestPaths.reference).map { TestPaths.reference + "/" + $0 }
    }()
    static let iterations = Int(ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_ITERATIONS"] ?? "") ?? 60
    static let round = UInt64(ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_ROUND"] ?? "") ?? 0
    static let methods = ["gradient", "lrp.epsilon_plus_flat", "deeplift", "guided_backprop", "gradcam"]

    @Test func modelsArePresent() { #expect(Self.folders.count >= 15) }

    @Test(arguments: folders)
    func mutatedModelsFailCleanly(_ folder: String) throws {
        let original = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: folder + "/model.onnx")))
        var input = try Numpy.readTensor(path: folder + "/input.npy")
        if input.shape.first ?? 1 > 2 { input = try input.samples(0..<2) }
        let name = (folder as NSString).lastPathComponent
        var imported = 0, explained = 0
        for k in 0..<Self.iterations {
            let seed = (UInt64(k) &+ Self.round &* 1_000_003) &* 0x9E37_79B9 &+ name.hashValueStable
            var mutator = ModelMutator(seed: seed)
            var model = original
            mutator.mutate(&model)
            Fuzz.trace("fuzz \(name) seed \(seed): \(mutator.log.joined(separator: "; "))")
            let bytes = try model.serializedBytes() as Data
            let outcome = Self.exercise(bytes, input: input)
            switch outcome {
            case .rejected: break
            case .imported(let n): imported += 1; explained += n
            case .foreign(let error):
                Issue.record("\(name) seed \(seed) (\(mutator.log.joined(separator: "; "))): \(type(of: error)) \(error) is not an ExplainError")
            }
        }
        Fuzz.trace("fuzz \(name): \(imported) of \(Self.iterations) imported, \(explained) explanations ran")
    }

    enum Outcome { case rejected, imported(Int), foreign(any Error) }

    /// Imports, predicts and explains; counts the explanations that ran.
    static func exercise(_ bytes: Data, input: Tensor) -> Outcome {
        do {
            let m = try ONNXImporter.decode(bytes, options: ImportOptions(maxTensorBytes: 64 << 20))
            let model = ExplainableModel(graph: m.graph, output: m.logits)
            var ran = 0
            _ = try? m.graph.predict(input)
            for id in methods {
                do {
                    let analyzer = try FixtureModels.registry.makeAnalyzer(id, model: model)
                    _ = try analyzer.analyze(input, target: .max)
                    ran += 1
                } catch is ExplainError { continue }
            }
            return .imported(ran)
        } catch is ExplainError {
            return .rejected
        } catch {
            return .foreign(error)
        }
    }
}

extension String {
    /// A hash that is the same in every run (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 { utf8.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 } }
}
