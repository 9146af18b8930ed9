import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// Absurd options give named errors, never a crash: every registered analyzer, each of its
/// parameters set in turn to values a user may mistype (zero, negative, huge, not a number, empty,
/// a missing file), on a CNN and an MLP. Any error must be an `ExplainError`.
/// `EXPLAINKIT_FUZZ_TRACE=1` prints each run before it starts, so that a crash names its case.
@Suite struct OptionFuzzTests {
    static let models = ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_MODEL"].map { [$0] } ?? ["digits-cnn", "cancer-mlp"]
    /// `EXPLAINKIT_FUZZ_FULL=1` tries every value; by default the ones that found crashes before.
    static let values = ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_FULL"] == "1"
        ? ["0", "-1", "1", "2", "0.5", "-0.5", "1e30", "-1e30", "nan", "inf", "", "abc", "1,2", "-3,0",
           "9223372036854775807", "-9223372036854775808", "100000000", "true", "none", "all", "max",
           "file:/no/such/file.npy", "0:1", "conv=gamma:", "zennit", "torch"]
        : ["0", "-1", "1", "2", "nan", "abc", "9223372036854775807", "-9223372036854775808", "file:/no/such/file.npy"]

    /// Options under the fuzzed one for methods whose defaults are slow on these models (the
    /// fuzzing is about bad values, not about run time): shap's SamplingExplainer draws 1 000
    /// samples per feature by default, 256 000 per digit.
    static let base: [String: [String: String]] = ["sampling_shap": ["samples": "520"]]

    /// `base[id]` with `extra` over it.
    static func options(_ id: String, _ extra: [String: String] = [:]) -> Options {
        Options((base[id] ?? [:]).merging(extra) { $1 })
    }

    /// A reference fixture model by name, or any model folder by path.
    static func load(_ name: String) throws -> (model: ExplainableModel, input: Tensor, folder: String) {
        name.contains("/") ? try FixtureModels.load(folder: name) : try FixtureModels.load(name)
    }

    static var ids: [String] {
        let all = FixtureModels.registry.analyzers.keys.sorted()
        guard let from = ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_FROM"] else { return all }
        return all.filter { $0 >= from }
    }

    @Test(arguments: models)
    func absurdOptionsFailCleanly(_ name: String) throws {
        let f = try Self.load(name)
        let input = try f.input.samples(0..<2)
        var runs = 0, ran = 0
        for id in Self.ids {
            let entry = try FixtureModels.registry.analyzer(id)
            for p in entry.parameters {
                for v in Self.values {
                    Fuzz.trace("options \(name) \(id) \(p.name)=\(v)")
                    runs += 1
                    if Fuzz.failsCleanly("\(name) \(id) \(p.name)=\(v)", {
                        _ = try FixtureModels.registry.makeAnalyzer(id, model: f.model, options: Self.options(id, [p.name: v])).analyze(input, target: .max)
                    }) { ran += 1 }
                }
            }
        }
        Fuzz.trace("options \(name): \(ran) of \(runs) ran")
        #expect(runs > 400)
    }

    /// Every analyzer with every kind of bad target: indices out of range either way, the wrong
    /// number of per-sample indices, seeds of the wrong shape or holding NaN, and `all`.
    @Test(arguments: models)
    func absurdTargetsFailCleanly(_ name: String) throws {
        let f = try Self.load(name)
        let input = try f.input.samples(0..<2)
        let classes = try f.model.graph.predict(input, output: f.model.output).shape.last ?? 1
        let targets: [Target] = [.index(-1), .index(classes), .index(.max), .index(.min), .indices([0]), .indices([0, 1, 2]),
                                 .indices([-5, 0]), .all, .seed(Tensor(shape: [2, classes + 1], repeating: 1)), .seed(Tensor(shape: [], repeating: 1)),
                                 .seed(Tensor(shape: [2, classes], repeating: .nan)), .seed(Tensor(shape: [1, classes], repeating: 1))]
        var runs = 0
        for id in Self.ids {
            for t in targets {
                Fuzz.trace("targets \(name) \(id) \(t)")
                runs += 1
                Fuzz.failsCleanly("\(name) \(id) target \(t)") { _ = try FixtureModels.registry.makeAnalyzer(id, model: f.model, options: Self.options(id)).analyze(input, target: t) }
            }
        }
        #expect(runs > 500)
    }

    /// Arrays a user may pass as `file:X.npy` for any parameter: empty, scalar, wrongly shaped,
    /// input-shaped but holding NaN, huge or negative values, integer ids out of range.
    static func arrays(like input: Tensor) -> [(String, Tensor)] {
        let n = input.shape[0], sample = Array(input.shape.dropFirst()), per = input.count / max(n, 1)
        func t(_ shape: [Int], _ f: (Int) -> Float) -> Tensor { Tensor(shape: shape) { p in for i in 0..<p.count { p[i] = f(i) } } }
        return [("empty", t([0], { _ in 0 })), ("scalar", t([], { _ in 3 })), ("[1]", t([1], { _ in 1 })), ("[2,3]", t([2, 3], { Float($0) })),
                ("input NaN", t(input.shape, { $0 % 7 == 0 ? .nan : 0.5 })), ("input huge", t(input.shape, { $0 % 2 == 0 ? 3e38 : -3e38 })),
                ("input negative ids", t(input.shape, { -Float($0 % 5) })), ("input ids 1e9", t(input.shape, { Float($0 % 3) * 1e9 })),
                ("one sample", t([1] + sample, { Float($0 % 4) })), ("sample count ids", t([n] + sample, { Float($0 % per) })),
                ("extra dim", t(input.shape + [2], { Float($0 % 3) })), ("(N, 3, M)", t([n, 3, per], { Float($0 % 2) })),
                ("(N, 3, M) halves", t([n, 3, per], { $0 % 2 == 0 ? 0.5 : -1 })), ("(1, 2, 2)", t([1, 2, 2], { _ in 1 }))]
    }

    @Test(arguments: models)
    func absurdArraysFailCleanly(_ name: String) throws {
        let f = try Self.load(name)
        let input = try f.input.samples(0..<2)
        var runs = 0
        for id in Self.ids {
            let entry = try FixtureModels.registry.analyzer(id)
            for p in entry.parameters {
                for (label, array) in Self.arrays(like: input) {
                    Fuzz.trace("arrays \(name) \(id) \(p.name)=\(label)")
                    runs += 1
                    var options = Self.options(id, [p.name: "file:\(label).npy"])
                    options.tensors[p.name] = array
                    Fuzz.failsCleanly("\(name) \(id) \(p.name)=\(label)") {
                        _ = try FixtureModels.registry.makeAnalyzer(id, model: f.model, options: options).analyze(input, target: .max)
                    }
                }
            }
        }
        #expect(runs > 500)
    }
}
