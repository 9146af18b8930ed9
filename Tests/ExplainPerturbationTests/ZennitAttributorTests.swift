import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Testing

/// zennit's Occlusion (`occlusion --set style=zennit`) and IntegratedGradients attributors
/// (Tests/Fixtures/zennit, Tools/make_zennit_attributor_fixtures.py), and the rolled windows' closed form.
struct ZennitAttributorTests {
    @Test func zennitAttributorsPass() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/zennit")
        #expect(summary.passed == 5 && summary.failed == 0 && summary.skipped.isEmpty)
    }

    /// On a linear model `f = w·x`, keeping only a window gives `Σ_{j∈window} w_j x_j`; with windows
    /// of 2 and stride 1 over 5 features every element lies in 2 windows (one wraps around).
    @Test func rolledWindowsOnALinearModel() throws {
        let w: [Float] = [1, -2, 3, 0.5, 4], x: [Float] = [0.3, 0.2, -1, 2, 0.1]
        var builder = GraphBuilder()
        let input = builder.addInput(name: "x", shape: [nil, 5])
        let out = try builder.add(try Dense(weight: try Tensor(shape: [1, 5], scalars: w)), inputs: [input], name: "dense")
        let model = ExplainableModel(graph: try builder.build(outputs: [out]))
        let a = try RolledOcclusion(model: model, window: [2], stride: [1]).analyze(try Tensor(shape: [1, 5], scalars: x), target: .index(0))
        let term = zip(w, x).map { Double($0 * $1) }
        for i in 0..<5 {
            // Windows starting at i − 1 and i (mod 5) contain element i.
            let expected = term[(i + 4) % 5] + 2 * term[i] + term[(i + 1) % 5]
            #expect(abs(Double(a.values.scalars[i]) - expected) < 1e-5)
        }
        #expect(throws: ExplainError.self) { try RolledOcclusion(model: model, window: [0]) }
    }
}
