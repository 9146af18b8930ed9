import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// The model-agnostic family against closed forms on linear models, the Shapley axioms, and the
/// fixtures' own masks and groups (the attribution comparison is in ConformanceTests).
@Suite struct PerturbationTests {
    static var registry: Registry { FixtureModels.registry }

    static func fixture(_ name: String) throws -> (ExplainableModel, Tensor, String) { try FixtureModels.load(name) }

    /// f(x) = W x + b on 6 features, 3 outputs.
    static func linear(seed: UInt64) throws -> (ExplainableModel, Tensor) {
        var rng = TestRandom(seed: seed)
        let w = rng.tensor([3, 6])
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 6])
        let y = try b.add(try Dense(weight: w, bias: rng.tensor([3])), inputs: [x], name: "fc")
        return (ExplainableModel(graph: try b.build(outputs: [y])), w)
    }

    func make(_ id: String, _ model: ExplainableModel, _ options: [String: String] = [:], tensors: [String: Tensor] = [:]) throws -> any Analyzer {
        var o = Options(options)
        o.tensors = tensors
        return try Self.registry.makeAnalyzer(id, model: model, options: o)
    }

    /// On a linear model every method that splits the output exactly gives w_i (x_i − x0_i),
    /// summed over a group: Shapley values (exact and KernelSHAP with few samples), feature
    /// ablation, occlusion with 1-element windows, and LIME without ridge.
    @Test func linearModelsAreExplainedExactly() throws {
        let (model, w) = try Self.linear(seed: 1)
        var rng = TestRandom(seed: 2)
        let x = rng.tensor([2, 6]), x0: Float = 0.3
        let groups = try Tensor(shape: [6], scalars: [0, 0, 1, 2, 2, 2])
        let common = ["baseline": "\(x0)", "groups": "file:g.npy"]
        let runs: [(String, [String: String])] = [
            ("shapley_values", common), ("kernel_shap", common.merging(["samples": "4"]) { $1 }), ("feature_ablation", common),
            ("shapley_sampling", common.merging(["samples": "2"]) { $1 }),
            ("lime", common.merging(["ridge": "0", "samples": "50"]) { $1 }),
        ]
        for (id, options) in runs {
            let a = try make(id, model, options, tensors: ["groups": groups]).analyze(x, target: .indices([2, 0]))
            for (s, t) in [2, 0].enumerated() {
                let contribution = (0..<6).map { Double(w.scalars[t * 6 + $0]) * Double(x.scalars[s * 6 + $0] - x0) }
                let perGroup = [contribution[0] + contribution[1], contribution[2], contribution[3] + contribution[4] + contribution[5]]
                for i in 0..<6 {
                    let g = Int(groups.scalars[i])
                    #expect(abs(Double(a.values.scalars[s * 6 + i]) - perGroup[g]) < 1e-5, "\(id) sample \(s) feature \(i)")
                }
            }
        }
        let occlusion = try make("occlusion", model, ["window": "1", "strides": "1", "baseline": "\(x0)"]).analyze(x, target: .index(1))
        for i in 0..<12 { #expect(abs(occlusion.values.scalars[i] - w.scalars[6 + i % 6] * (x.scalars[i] - x0)) < 1e-5) }
    }

    /// Feature permutation on a linear model: with two samples the only permutation that moves one
    /// is the swap (as in Captum), so R_i = w_t,i (x_s,i − x_other,i), summed over a group; larger
    /// batches draw a non-identity permutation per group (seeded).
    @Test func featurePermutation() throws {
        let (model, w) = try Self.linear(seed: 4)
        var rng = TestRandom(seed: 5)
        let x = rng.tensor([2, 6])
        let groups = try Tensor(shape: [6], scalars: [0, 1, 1, 2, 3, 3])
        let a = try make("feature_permutation", model, ["groups": "file:g.npy"], tensors: ["groups": groups]).analyze(x, target: .indices([1, 2]))
        for (s, t) in [1, 2].enumerated() {
            let c = (0..<6).map { Double(w.scalars[t * 6 + $0]) * Double(x.scalars[s * 6 + $0] - x.scalars[(1 - s) * 6 + $0]) }
            let perGroup = [c[0], c[1] + c[2], c[3], c[4] + c[5]]
            for i in 0..<6 { #expect(abs(Double(a.values.scalars[s * 6 + i]) - perGroup[Int(groups.scalars[i])]) < 1e-5) }
        }
        let four = rng.tensor([4, 6])
        let p = try make("feature_permutation", model, ["seed": "3"])
        let first = try p.analyze(four, target: .index(0)), again = try p.analyze(four, target: .index(0))
        #expect(first.values == again.values)
        // Each feature of each sample took the value of some other sample (or kept it where that equals).
        for s in 0..<4 {
            for i in 0..<6 {
                let options = (0..<4).filter { $0 != s }.map { Double(w.scalars[i]) * Double(four.scalars[s * 6 + i] - four.scalars[$0 * 6 + i]) }
                let value = Double(first.values.scalars[s * 6 + i])
                #expect(options.contains { abs($0 - value) < 1e-5 } || abs(value) < 1e-6)
            }
        }
        let alone = #expect(throws: ExplainError.self) { try make("feature_permutation", model).analyze(try x.sample(0), target: .index(0)) }
        #expect(alone?.message.contains("at least 2") == true)
    }

    /// Occlusion's window positions: corners 0, s, 2s, … with ⌈(D − w)/s⌉ + 1 positions, the last one
    /// clipped at the border; an element's value is the mean over the windows containing it.
    @Test func occlusionWindowsAndAveraging() throws {
        let (model, w) = try Self.linear(seed: 3)
        let x = try Tensor(shape: [1, 6], scalars: [1, -2, 3, 0.5, -1, 2])
        let a = try make("occlusion", model, ["window": "3", "strides": "2"]).analyze(x, target: .index(0))
        // Windows {0,1,2}, {2,3,4}, {4,5} (clipped).
        let windows = [[0, 1, 2], [2, 3, 4], [4, 5]]
        let drop = windows.map { win in win.reduce(0.0) { $0 + Double(w.scalars[$1]) * Double(x.scalars[$1]) } }
        for i in 0..<6 {
            let containing = windows.indices.filter { windows[$0].contains(i) }
            let expected = containing.reduce(0.0) { $0 + drop[$1] } / Double(containing.count)
            #expect(abs(Double(a.values.scalars[i]) - expected) < 1e-5, "element \(i)")
        }
    }

    /// Efficiency, symmetry and the dummy axiom on a non-linear network; KernelSHAP with every
    /// coalition equals the exact values, and with fewer it keeps efficiency exactly.
    @Test func shapleyAxiomsAndKernelSHAP() throws {
        let (model, x, _) = try Self.fixture("cancer-mlp")
        let sample = try x.sample(0)
        // 5 groups: features 0–5, 6–11, 12–17, 18–23, 24–29.
        let groups = try Tensor(shape: [30], scalars: (0..<30).map { Float($0 / 6) })
        let exact = try make("shapley_values", model, ["groups": "file:g"], tensors: ["groups": groups]).analyze(sample, target: .max)
        let fx = Double(exact.output.scalars[exact.targets![0]])
        let f0 = Double(try model.graph.predict(Tensor(shape: [1, 30])).scalars[exact.targets![0]])
        let phi = (0..<5).map { Double(exact.values.scalars[$0 * 6]) }
        #expect(abs(phi.reduce(0, +) - (fx - f0)) < 1e-4)
        let full = try make("kernel_shap", model, ["groups": "file:g", "samples": "30"], tensors: ["groups": groups]).analyze(sample, target: .max)
        #expect(Deviation(full.values, exact.values).maxAbs < 1e-4)
        let few = try make("kernel_shap", model, ["groups": "file:g", "samples": "12", "seed": "7"], tensors: ["groups": groups]).analyze(sample, target: .max)
        let fewPhi = (0..<5).map { Double(few.values.scalars[$0 * 6]) }
        #expect(abs(fewPhi.reduce(0, +) - (fx - f0)) < 1e-4)
        let again = try make("kernel_shap", model, ["groups": "file:g", "samples": "12", "seed": "7"], tensors: ["groups": groups]).analyze(sample, target: .max)
        #expect(again.values == few.values)

        // Shapley value sampling: efficiency exact for any number of orders; converges to the exact values.
        func sampled(_ orders: Int) throws -> Attribution {
            try make("shapley_sampling", model, ["groups": "file:g", "samples": "\(orders)", "seed": "5"], tensors: ["groups": groups]).analyze(sample, target: .max)
        }
        let (coarse, fine) = (try sampled(3), try sampled(600))
        #expect(abs((0..<5).reduce(0.0) { $0 + Double(coarse.values.scalars[$1 * 6]) } - (fx - f0)) < 1e-4)
        #expect(Deviation(fine.values, exact.values).relL2 < 0.05 && Deviation(fine.values, exact.values).relL2 < Deviation(coarse.values, exact.values).relL2)

        // Symmetry and dummy on f(x) = x0 · x1 + 0 · x2 (a Mul of two inputs, a third ignored).
        var b = GraphBuilder()
        let input = b.addInput(name: "x", shape: [nil, 3])
        let y = try b.add(try Dense(weight: try Tensor(shape: [2, 3], scalars: [1, 0, 0, 0, 1, 0])), inputs: [input], name: "split")
        let a0 = try b.add(try Dense(weight: try Tensor(shape: [1, 2], scalars: [1, 0])), inputs: [y], name: "a")
        let a1 = try b.add(try Dense(weight: try Tensor(shape: [1, 2], scalars: [0, 1])), inputs: [y], name: "b")
        let product = try b.add(Binary(.mul), inputs: [a0, a1], name: "mul")
        let game = ExplainableModel(graph: try b.build(outputs: [product]))
        let v = try make("shapley_values", game).analyze(try Tensor(shape: [1, 3], scalars: [2, 2, 5]), target: .index(0)).values.scalars
        #expect(abs(v[0] - 2) < 1e-5 && abs(v[1] - 2) < 1e-5 && abs(v[2]) < 1e-6)
    }

    /// The coalition sampler: with the budget for all coalitions it enumerates each once with the
    /// Shapley kernel's weight; with less it stays within the budget, draws each coalition with its
    /// complement, and spends all the kernel mass.
    @Test func kernelSHAPSampler() {
        var rng = SeededGenerator(seed: 1)
        let (all, weights) = KernelSHAPSampler.draw(groups: 6, samples: 62, using: &rng)
        #expect(all.count == 62 && Set(all).count == 62)
        for (z, w) in zip(all, weights) {
            let k = z.filter { $0 }.count
            let kernel = 5.0 / (Double([1, 6, 15, 20, 15, 6, 1][k]) * Double(k) * Double(6 - k))
            #expect(abs(w / weights[0] * (5.0 / (6 * 5)) - kernel) < 1e-12)
        }
        let (some, someWeights) = KernelSHAPSampler.draw(groups: 9, samples: 100, using: &rng)   // odd: every size is paired
        #expect(some.count <= 100 && Set(some).count == some.count)
        #expect(some.allSatisfy { z in some.contains(z.map { !$0 }) })
        #expect(abs(someWeights.reduce(0, +) - 1) < 1e-9 && someWeights.allSatisfy { $0 > 0 })
    }

    /// The fixtures' RISE masks are ours from their grids and shifts; their groups are our grids.
    @Test func maskAndGroupConventionsMatchTheFixtures() throws {
        let (_, x, dir) = try Self.fixture("digits-cnn")
        let grids = try Numpy.readTensor(path: dir + "/rise_grids.npy"), shifts = try Numpy.readTensor(path: dir + "/rise_shifts.npy")
        let masks = try Numpy.readTensor(path: dir + "/rise_masks.npy")
        let (n, s) = (grids.shape[0], grids.shape[1])
        var worst: Float = 0
        for i in 0..<n {
            let grid = (0..<(s * s)).map { Double(grids.scalars[i * s * s + $0]) }
            let mask = Rise.mask(grid: grid, cells: s, shift: (Int(shifts.scalars[2 * i]), Int(shifts.scalars[2 * i + 1])), height: 16, width: 16)
            for j in 0..<256 { worst = max(worst, abs(mask[j] - masks.scalars[i * 256 + j])) }
        }
        #expect(worst < 1e-6)
        let segments = try FeatureGroups(mask: try Numpy.readTensor(path: dir + "/shapley_segments.npy"), input: x)
        #expect(try FeatureGroups(grid: 3, input: x).index == segments.index)
        let blocks = try FeatureGroups(mask: try Numpy.readTensor(path: dir + "/feature_mask.npy"), input: x)
        #expect(try FeatureGroups(grid: 4, input: x).index == blocks.index)
    }

    /// Random masks: same seed, same result; RISE of a constant model is that constant everywhere
    /// (Σ_i M_i / (n p) → 1), within sampling error.
    @Test func riseOfAConstantModel() throws {
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 1, 8, 8])
        let c = try b.add(try Conv2D(weight: Tensor(shape: [1, 1, 8, 8]), bias: try Tensor(shape: [1], scalars: [3])), inputs: [x], name: "c")
        let out = try b.add(Flatten(), inputs: [c], name: "f")
        let model = ExplainableModel(graph: try b.build(outputs: [out]))
        let input = Tensor(shape: [1, 1, 8, 8], repeating: 1)
        let a = try make("rise", model, ["masks": "2000", "cells": "4", "seed": "3"]).analyze(input, target: .index(0))
        let mean = a.values.scalars.reduce(0, +) / 64
        #expect(abs(mean - 3) < 0.1, "\(mean)")
        #expect(try make("rise", model, ["masks": "50", "seed": "3"]).analyze(input, target: .index(0)).values
                == make("rise", model, ["masks": "50", "seed": "3"]).analyze(input, target: .index(0)).values)
    }

    @Test func badInputsAreNamedErrors() throws {
        let (cnn, x, _) = try Self.fixture("digits-cnn")
        let (mlp, xm, _) = try Self.fixture("cancer-mlp")
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try make("feature_ablation", cnn, ["groups": "file:g"], tensors: ["groups": Tensor(shape: [3, 3])]).analyze(x, target: .max) }
            .contains("feature groups have shape"))
        #expect(message { _ = try make("feature_ablation", cnn, ["groups": "file:g"]) .analyze(x, target: .max) }.contains("not loaded"))
        #expect(message { _ = try make("shapley_values", mlp).analyze(xm, target: .max) }.contains("2^30"))
        #expect(message { _ = try make("kernel_shap", mlp, ["samples": "file:z"], tensors: ["samples": Tensor(shape: [4, 2, 30])]) }.contains("weights"))
        #expect(message { _ = try make("rise", mlp).analyze(xm, target: .max) }.contains("images"))
        #expect(message { _ = try make("occlusion", cnn, ["window": "1,20,20"]).analyze(x, target: .max) }.contains("window"))
        #expect(message { _ = try make("lime", cnn, ["grid": "40"]).analyze(x, target: .max) }.contains("grid"))
        #expect(message { _ = try make("lime", cnn, ["kernel_width": "0"]) }.contains("kernel_width"))
        #expect(message { _ = try make("lime", mlp, ["slic": "4"]).analyze(xm, target: .max) }.contains("superpixels need an image"))
        #expect(message { _ = try make("lime", cnn, ["slic": "0"]).analyze(x, target: .max) }.contains("slic"))
        // Absurd budgets are refused before anything is allocated.
        #expect(message { _ = try make("kernel_shap", mlp, ["samples": "10000000"]).analyze(xm, target: .max) }.contains("would not fit"))
        #expect(message { _ = try make("rise", cnn, ["masks": "10000000"]).analyze(x, target: .max) }.contains("would not fit"))
    }

    /// With a background set, shapley_values and kernel_shap equal shap's Exact explainer and
    /// KernelExplainer (Tests/Fixtures/shap), efficiency holds against the background's mean output,
    /// and shapley_sampling agrees with the exact values given many orders; baseline and background together are an error.
    @Test func backgroundSetsMatchShap() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/shap")
        // With partition_shap's 4 (PartitionShapTests), shap's DeepExplainer on both image models (deeplift_shap --set
        // maxpool=deeplift), its PermutationExplainer twice (permutation_shap, PermutationShapTests) and its
        // KernelExplainer's own draws three times (kernel_shap --set rng=numpy, ShapKernelTests) and its
        // SamplingExplainer four times (sampling_shap, SamplingShapTests).
        #expect(summary.passed == 17 && summary.failed == 0 && summary.skipped.isEmpty)
        let (model, x, dir) = try FixtureModels.load(folder: TestPaths.fixtures + "/shap/tabular-mlp")
        let background = try Numpy.readTensor(path: dir + "/background.npy")
        var options = Options()
        options.tensors["background"] = background
        let exact = try Self.registry.makeAnalyzer("shapley_values", model: model, options: options).analyze(x, target: .max)
        let outputs = try model.graph.predict(background, output: model.output), c = outputs.shape[1]
        for s in 0..<x.shape[0] {
            let t = try #require(exact.targets?[s])
            let mean = (0..<background.shape[0]).reduce(0.0) { $0 + Double(outputs.scalars[$1 * c + t]) } / Double(background.shape[0])
            #expect(abs(exact.sums[s] - (Double(exact.output.scalars[s * c + t]) - mean)) < 1e-5)
        }
        options.values["samples"] = "400"
        let sampled = try Self.registry.makeAnalyzer("shapley_sampling", model: model, options: options).analyze(x, target: .max)
        #expect(Deviation(sampled.values, exact.values).relL2 < 0.1)
        var both = options
        both.values["baseline"] = "0.5"
        #expect(throws: ExplainError.self) { try Self.registry.makeAnalyzer("kernel_shap", model: model, options: both) }
    }
}
