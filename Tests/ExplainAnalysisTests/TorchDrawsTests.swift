import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Testing

/// torch's CPU generator reproduced: `torch.randn` after `torch.manual_seed` (to the ulp or two its
/// AVX2 log/sin/cos approximations leave), and Captum's NoiseTunnel with its own noise
/// (`--set rng=torch`) equal to Captum 0.9.0 for SmoothGrad, SmoothGrad² and VarGrad on two models,
/// GradientShap / LayerGradientShap with numpy's and torch's draws (`--set rng=captum`), and zennit's
/// SmoothGrad attributor, plain and over an LRP composite (`--set rng=zennit`)
/// (Tests/Fixtures/noise, Tools/make_noise_tunnel_fixtures.py).
@Suite struct TorchDrawsTests {
    @Test func normalsAreTorchsRandn() throws {
        let archive = try NumpyArchive.read(path: TestPaths.fixtures + "/noise/torch_randn.npz")
        for seed in [UInt32(0), 11] {
            for n in [16, 37, 100] {
                var mt = MersenneTwister(seed: seed)
                let got = mt.torchStandardNormals(n), want = try #require(archive["s\(seed)_n\(n)"]).tensor().scalars
                #expect(got.count == want.count)
                for (g, w) in zip(got, want) { #expect(abs(g - w) <= 4e-6 * max(1, abs(w)), "seed \(seed), n \(n): \(g) vs \(w)") }
            }
        }
    }

    /// After `torch.manual_seed(S)`, one sequence of draws as torch makes them: normals of fewer
    /// than 16 values (the scalar path, whose second Box–Muller half serves the next call),
    /// `exponential_()` (MKL's MCG31 stream seeded by one 32-bit draw) and a `normal_fill` of 20
    /// (Tests/Fixtures/surrogate/torch_draws.npz).
    @Test func smallNormalsAndExponentialsAreTorchs() throws {
        let archive = try NumpyArchive.read(path: TestPaths.fixtures + "/surrogate/torch_draws.npz")
        for seed in [UInt32(0), 9] {
            var mt = MersenneTwister(seed: seed)
            let steps: [(String, (inout MersenneTwister) -> [Float])] = [
                ("randn5", { $0.torchStandardNormals(5) }), ("randn3", { $0.torchStandardNormals(3) }),
                ("exponential7", { $0.torchExponentials(7) }), ("randn20", { $0.torchStandardNormals(20) }),
                ("randn1", { $0.torchStandardNormals(1) }), ("exponential40", { $0.torchExponentials(40) }),
            ]
            for (name, draw) in steps {
                let got = draw(&mt), want = try #require(archive["s\(seed)_\(name)"]).tensor().scalars
                #expect(got.count == want.count)
                for (g, w) in zip(got, want) { #expect(abs(g - w) <= 4e-6 * max(1, abs(w)), "seed \(seed), \(name): \(g) vs \(w)") }
            }
        }
    }

    @Test func noiseTunnelIsCaptums() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/noise")
        // 2 × 3 noise tunnels, 2 × 2 GradientShap, 2 × LayerGradientShap, 3 × zennit's SmoothGrad (one over EpsilonPlusFlat),
        // 2 × shap's GradientExplainer.
        // And on one 6-feature row (tabular-one), all three with fewer than 16 noise values: torch's scalar normals.
        #expect(summary.passed == 20 && summary.failed == 0 && summary.skipped.isEmpty)
        let f = try FixtureModels.load("cancer-mlp")
        let options = Options(["rng": "torch", "seed": "4294967296", "stdev": "0.1"])
        #expect(throws: ExplainError.self) { try FixtureModels.registry.makeAnalyzer("smoothgrad", model: f.model, options: options) }
        #expect(throws: ExplainError.self) {
            try FixtureModels.registry.makeAnalyzer("smoothgrad", model: f.model, options: Options(["rng": "numpy"]))
        }
    }
}
