import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// shap's Partition explainer: equal to shap 0.51.0 on the digits CNN (Tests/Fixtures/shap/digits-cnn,
/// run in `PerturbationTests.backgroundSetsMatchShap`; Tools/make_shap_image_fixtures.py), its box
/// hierarchy, efficiency, and the exact contributions of an additive model.
@Suite struct PartitionShapTests {
    /// shap's Image-masker hierarchy: M − 1 internal nodes with ids M…2M−2, every element a leaf
    /// once, sizes adding up, the root holding all.
    @Test func hierarchyIsABinaryTreeOverTheElements() {
        for (h, w, c) in [(16, 16, 1), (5, 3, 2), (1, 1, 3)] {
            let m = h * w * c
            let tree = PartitionShap.imageTree(height: h, width: w, channels: c)
            #expect(tree.count == m - 1)
            let children = tree.flatMap { [$0.left, $0.right] }
            #expect(Set(children).count == 2 * m - 2 && Set(children) == Set(0..<(2 * m - 2)), "\(h)×\(w)×\(c)")
            #expect(tree.last?.size == m)
            for node in tree {
                let size = { (i: Int) in i < m ? 1 : tree[i - m].size }
                #expect(node.size == size(node.left) + size(node.right))
            }
        }
    }

    /// On f = w · x (masked elements 0) every element's Owen value is its contribution w_i x_i
    /// once the whole hierarchy is evaluated; with a small budget the values still add up to
    /// f(x) − f(masked).
    @Test func additiveModelGetsItsContributions() throws {
        var rng = TestRandom(seed: 9)
        let w = rng.tensor([1, 16])
        var b = GraphBuilder()
        let input = b.addInput(name: "x", shape: [nil, 1, 4, 4])
        let flat = try b.add(Flatten(), inputs: [input], name: "flat")
        let y = try b.add(try Dense(weight: w, bias: try Tensor(shape: [1], scalars: [0.5])), inputs: [flat], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [y]))
        let x = rng.tensor([2, 1, 4, 4])
        let full = try PartitionShap(model: model, maxEvals: 100_000).analyze(x, target: .index(0))
        for i in 0..<32 {
            let expected = Double(w.scalars[i % 16]) * Double(x.scalars[i])
            #expect(abs(Double(full.values.scalars[i]) - expected) < 1e-5, "element \(i)")
        }
        let small = try PartitionShap(model: model, maskValue: .value(0.3), maxEvals: 12, batchSize: 3).analyze(x, target: .index(0))
        for s in 0..<2 {
            let fx = (0..<16).reduce(0.0) { $0 + Double(w.scalars[$1]) * Double(x.scalars[s * 16 + $1]) }
            let fm = (0..<16).reduce(0.0) { $0 + Double(w.scalars[$1]) * 0.3 }
            let sum = small.values.scalars[(s * 16)..<((s + 1) * 16)].reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - (fx - fm)) < 1e-4, "sample \(s)")
        }
    }

    @Test func badOptionsAreNamedErrors() throws {
        let f = try FixtureModels.load("digits-cnn")
        func make(_ o: [String: String]) throws -> any Analyzer { try FixtureModels.registry.makeAnalyzer("partition_shap", model: f.model, options: Options(o)) }
        #expect(throws: ExplainError.self) { try make(["mask": "blur(4)"]) }
        #expect(throws: ExplainError.self) { try make(["mask": "gray"]) }
        #expect(throws: ExplainError.self) { try make(["fixed_context": "2"]) }
        #expect(throws: ExplainError.self) { try make(["max_evals": "2"]) }
        let mlp = try FixtureModels.load("cancer-mlp")
        let rank = #expect(throws: ExplainError.self) {
            try FixtureModels.registry.makeAnalyzer("partition_shap", model: mlp.model).analyze(mlp.input, target: .max)
        }
        #expect(rank?.message.contains("(N, C, H, W)") == true)
    }
}
