import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// Integrated Gradients and DeepLIFT against closed forms and their defining properties (the
/// fixture comparison is in ConformanceTests).
@Suite struct ReferenceTests {
    static var registry: Registry { FixtureModels.registry }

    static func fixtureModel(_ name: String) throws -> (ExplainableModel, Tensor) {
        let f = try FixtureModels.load(name)
        return (f.model, f.input)
    }

    /// x → Dense → activation → Dense, with biases.
    static func twoLayer(_ activation: any Layer, seed: UInt64) throws -> (ExplainableModel, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) {
        var rng = TestRandom(seed: seed)
        let (w1, b1, w2, b2) = (rng.tensor([6, 5]), rng.tensor([6]), rng.tensor([3, 6]), rng.tensor([3]))
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 5])
        var v = try b.add(try Dense(weight: w1, bias: b1), inputs: [x], name: "fc1")
        v = try b.add(activation, inputs: [v], name: "act")
        v = try b.add(try Dense(weight: w2, bias: b2), inputs: [v], name: "fc2")
        return (ExplainableModel(graph: try b.build(outputs: [v])), w1, b1, w2, b2)
    }

    // MARK: quadrature

    /// Gauss–Legendre of order n integrates polynomials up to degree 2n − 1 exactly; the Riemann
    /// rules have their textbook points; Captum's points in the fixtures are ours.
    @Test func quadratureRules() throws {
        for n in [1, 2, 5, 32, 50] {
            let q = try PathQuadrature(.gaussLegendre, steps: n)
            #expect(q.alphas == q.alphas.sorted() && q.alphas.allSatisfy { $0 > 0 && $0 < 1 })
            for k in 0..<(2 * n) {
                let integral = zip(q.alphas, q.weights).reduce(0.0) { $0 + $1.1 * pow($1.0, Double(k)) }
                #expect(abs(integral - 1 / Double(k + 1)) < 1e-13, "n \(n) degree \(k)")
            }
        }
        #expect(try PathQuadrature(.riemannRight, steps: 4).alphas == [0.25, 0.5, 0.75, 1])
        #expect(try PathQuadrature(.riemannLeft, steps: 4).alphas == [0, 0.25, 0.5, 0.75])
        #expect(try PathQuadrature(.riemannMiddle, steps: 2).alphas == [0.25, 0.75])
        let t = try PathQuadrature(.trapezoid, steps: 3)
        #expect(t.alphas == [0, 0.5, 1] && t.weights == [0.25, 0.5, 0.25])
        // Captum's riemann_trapezoid: the same points, weights 1/n halved at both ends (Σ = (n − 1)/n);
        // its numbers are checked against Captum by the neuron_conductance fixture cases.
        let c = try PathQuadrature(.riemannTrapezoid, steps: 3)
        #expect(c.alphas == [0, 0.5, 1] && c.weights == [1.0 / 6, 1.0 / 3, 1.0 / 6])

        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestPaths.reference + "/digits-cnn/manifest.json")))
        let cases = try #require((manifest as? [String: Any])?["cases"] as? [[String: Any]])
        var checked = 0
        for c in cases where c["method"] as? String == "IntegratedGradients" {
            let p = try #require(c["params"] as? [String: Any])
            let name = try #require(p["method"] as? String), steps = try #require(p["n_steps"] as? Int)
            let method = try #require(PathQuadrature.Method(rawValue: name))
            let q = try PathQuadrature(method, steps: steps)
            let alphas = try #require(p["alphas"] as? [Double]), weights = try #require(p["weights"] as? [Double])
            #expect(zip(q.alphas, alphas).allSatisfy { abs($0 - $1) < 1e-14 } && q.alphas.count == alphas.count)
            #expect(zip(q.weights, weights).allSatisfy { abs($0 - $1) < 1e-14 } && q.weights.count == weights.count)
            checked += 1
        }
        #expect(checked == 2)
        #expect(throws: ExplainError.self) { try PathQuadrature(.gaussLegendre, steps: 0) }
        #expect(throws: ExplainError.self) { try PathQuadrature(.riemannTrapezoid, steps: 1) }
    }

    // MARK: Integrated Gradients

    /// On an affine model the gradient is constant: IG = (x − x0) ⊙ w_t for any rule and step count,
    /// and completeness is exact.
    @Test func integratedGradientsOnAnAffineModelIsExact() throws {
        var rng = TestRandom(seed: 5)
        let w = rng.tensor([3, 4]), bias = rng.tensor([3])
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 4])
        let y = try b.add(try Dense(weight: w, bias: bias), inputs: [x], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [y]))
        let input = rng.tensor([2, 4])
        for method in ["riemann_left", "gausslegendre", "trapezoid"] {
            let a = try Self.registry.makeAnalyzer("integrated_gradients", model: model,
                                                   options: Options(["method": method, "steps": "3", "baseline": "0.5"]))
                .analyze(input, target: .indices([2, 0]))
            for (s, t) in [2, 0].enumerated() {
                for i in 0..<4 {
                    let expected = (input.scalars[s * 4 + i] - 0.5) * w.scalars[t * 4 + i]
                    #expect(abs(a.values.scalars[s * 4 + i] - expected) < 1e-6, "\(method)")
                }
            }
            for d in try #require(a.delta) { #expect(abs(d) < 1e-5) }
        }
    }

    /// On ReLU networks completeness improves with the number of steps, for every target kind
    /// (`delta` is Σ R − Σ seed ⊙ (f(x) − f(x0)), so it also checks the delta of `.all`).
    @Test func integratedGradientsCompleteness() throws {
        let (model, x) = try Self.fixtureModel("digits-resnet")
        func worst(_ steps: Int, _ target: Target) throws -> Double {
            let a = try Self.registry.makeAnalyzer("integrated_gradients", model: model, options: Options(["steps": "\(steps)"]))
                .analyze(x, target: target)
            return try #require(a.delta).map(abs).max() ?? 0
        }
        for target in [Target.max, .index(3), .all] {
            let coarse = try worst(4, target), fine = try worst(128, target)
            // The gradient of a ReLU network is piecewise constant along the path: the error falls like 1/steps.
            #expect(fine < coarse / 8, "\(target): \(coarse) → \(fine)")
        }
    }

    /// A sample explained alone, inside a batch, with a per-sample baseline tensor, or in chunks
    /// (memory budget), gets the same attribution.
    @Test func integratedGradientsPerSampleBaselines() throws {
        let (model, x) = try Self.fixtureModel("cancer-mlp")
        var rng = TestRandom(seed: 9)
        let baselines = rng.tensor(x.shape, -0.5...0.5)
        let q = try PathQuadrature(.gaussLegendre, steps: 8)
        let batch = try IntegratedGradients(model: model, baseline: .tensor(baselines), quadrature: q, batchSize: 3).analyze(x, target: .max)
        for s in 0..<x.shape[0] {
            let one = try IntegratedGradients(model: model, baseline: .tensor(try baselines.sample(s)), quadrature: q)
                .analyze(try x.sample(s), target: .index(batch.targets![s]))
            #expect(Deviation(one.values, try batch.values.sample(s)).maxAbs < 1e-6)
        }
    }

    // MARK: DeepLIFT

    /// DeepLIFT Rescale on x → Dense → act → Dense against the multipliers written out by hand, with
    /// a non-zero baseline; completeness is exact (no max pool).
    @Test(arguments: ["relu", "sigmoid", "tanh"])
    func deepLiftMatchesTheClosedForm(_ name: String) throws {
        let activation: any ElementwiseActivation = name == "relu" ? Relu() : name == "sigmoid" ? Sigmoid() as any ElementwiseActivation : Tanh()
        let (model, w1, b1, w2, _) = try Self.twoLayer(activation, seed: 11)
        var rng = TestRandom(seed: 12)
        let input = rng.tensor([3, 5], -2...2)
        let x0: [Float] = [0.3, -0.2, 0.1, 0, 0.5]
        var analyzer = try BackpropAnalyzer(id: "deeplift", model: model, preset: try ReferencePlugin.deepLiftPreset(), timesInput: true)
        analyzer.baseline = .tensor(try Tensor(shape: [5], scalars: x0))
        let a = try analyzer.analyze(input, target: .index(1))
        for s in 0..<3 {
            let xs = Array(input.scalars[(s * 5)..<(s * 5 + 5)])
            var m = [Double](repeating: 0, count: 5)
            for j in 0..<6 {
                var z = Double(b1.scalars[j]), z0 = z
                for i in 0..<5 { z += Double(w1.scalars[j * 5 + i] * xs[i]); z0 += Double(w1.scalars[j * 5 + i] * x0[i]) }
                let f = { (v: Double) -> Double in Double(activation.value(Float(v))) }
                let ratio = abs(z - z0) < 1e-6 ? Double(activation.derivative(x: Float(z), y: Float(f(z)))) : (f(z) - f(z0)) / (z - z0)
                for i in 0..<5 { m[i] += Double(w2.scalars[6 + j]) * ratio * Double(w1.scalars[j * 5 + i]) }
            }
            for i in 0..<5 {
                let expected = (Double(xs[i]) - Double(x0[i])) * m[i]
                #expect(abs(Double(a.values.scalars[s * 5 + i]) - expected) < 1e-4 * max(1, abs(expected)), "\(name) sample \(s) feature \(i)")
            }
        }
        for d in try #require(a.delta) { #expect(abs(d) < 1e-5, "\(name): completeness \(d)") }
    }

    /// Summation to delta on an imported network without max pooling, with a per-channel baseline
    /// given as an option; the per-sample result does not depend on the batch or on chunking.
    @Test func deepLiftCompletenessAndBatching() throws {
        let (model, x) = try Self.fixtureModel("cancer-mlp")
        let a = try Self.registry.makeAnalyzer("deeplift", model: model, options: Options(["baseline": "0.25"])).analyze(x, target: .max)
        for (s, d) in try #require(a.delta).enumerated() {
            #expect(abs(d) < 1e-4 * max(1, abs(Double(a.output.scalars[s * a.output.shape[1] + a.targets![s]]))), "sample \(s): \(d)")
        }
        var chunked = try #require(try Self.registry.makeAnalyzer("deeplift", model: model, options: Options(["baseline": "0.25"])) as? BackpropAnalyzer)
        chunked.memoryBudget = 2 * (try BatchChunks.backwardBytesPerSample(model.graph, inputShape: x.shape)) * 10 / 7
        let parts = try chunked.analyze(x, target: .max)
        #expect(Deviation(parts.values, a.values).maxAbs < 1e-6)
        #expect(parts.diagnostics.contains { $0.contains("chunks") })
    }

    /// The reference pass of a shared baseline is reused, and a changed baseline is not mistaken
    /// for the cached one.
    @Test func deepLiftReusesTheReferencePassOfItsBaseline() throws {
        let (model, x) = try Self.fixtureModel("digits-resnet")
        var analyzer = try #require(try Self.registry.makeAnalyzer("deeplift", model: model) as? BackpropAnalyzer)
        let zero = try analyzer.analyze(x, target: .max).values
        #expect(try analyzer.analyze(x, target: .max).values == zero)
        analyzer.baseline = .value(0.5)
        let half = try analyzer.analyze(x, target: .max).values
        let fresh = try Self.registry.makeAnalyzer("deeplift", model: model, options: Options(["baseline": "0.5"])).analyze(x, target: .max).values
        #expect(half == fresh && half != zero)
        analyzer.baseline = .zero
        #expect(try analyzer.analyze(x, target: .max).values == zero)
    }

    /// The max-pool rule makes DeepLIFT complete on a network with max pooling (to float32
    /// precision), where Captum's usual result (max pool as its gradient) is not.
    @Test func deepLiftMaxPoolRuleRestoresCompleteness() throws {
        let (model, x) = try Self.fixtureModel("digits-cnn")
        let plain = try Self.registry.makeAnalyzer("deeplift", model: model).analyze(x, target: .max)
        let rule = try Self.registry.makeAnalyzer("deeplift", model: model, options: Options(["maxpool": "deeplift"])).analyze(x, target: .max)
        let worstPlain = try #require(plain.delta).map(abs).max() ?? 0, worstRule = try #require(rule.delta).map(abs).max() ?? 0
        #expect(worstRule < 1e-4 && worstPlain > 100 * worstRule, "plain \(worstPlain), rule \(worstRule)")
    }

    /// Arrays given as options travel with the options a wrapper passes on: SmoothGrad over DeepLIFT
    /// with a baseline image (as `--set baseline=file:B.npy` gives it) at noise level 0 is DeepLIFT.
    @Test func arrayOptionsReachWrappedAnalyzers() throws {
        let (model, x) = try Self.fixtureModel("digits-cnn")
        var options = Options(["base": "deeplift", "baseline": "file:b.npy", "noise_level": "0", "samples": "2"])
        options.tensors["baseline"] = Tensor(shape: [1, 16, 16], repeating: -0.5)
        let smooth = try Self.registry.makeAnalyzer("smoothgrad", model: model, options: options).analyze(x, target: .max)
        let plain = try Self.registry.makeAnalyzer("deeplift", model: model, options: Options(["baseline": "-0.5"])).analyze(x, target: .max)
        #expect(Deviation(smooth.values, plain.values).maxAbs < 1e-5)
    }

    /// RevealCancel on x → Dense → Relu → Dense against the rule written out here (positive and
    /// negative terms through their own multipliers), with a non-zero baseline; summation to delta is
    /// exact, also on the CNN with the max-pool rule.
    @Test func revealCancelMatchesTheClosedForm() throws {
        let (model, w1, b1, w2, _) = try Self.twoLayer(Relu(), seed: 21)
        var rng = TestRandom(seed: 22)
        let input = rng.tensor([3, 5], -2...2)
        let x0: [Float] = [0.2, -0.1, 0, 0.4, -0.3]
        let a = try Self.registry.makeAnalyzer("deeplift", model: model, options: Options(["rule": "reveal_cancel", "baseline": "0"]))
        var analyzer = try #require(a as? BackpropAnalyzer)
        analyzer.baseline = .tensor(try Tensor(shape: [5], scalars: x0))
        let result = try analyzer.analyze(input, target: .index(2))
        #expect(analyzer.bound.summary.contains("fc1: reveal_cancel") && analyzer.bound.summary.contains("act: through"))
        func relu(_ v: Double) -> Double { max(v, 0) }
        for s in 0..<3 {
            let dx = (0..<5).map { Double(input.scalars[s * 5 + $0]) - Double(x0[$0]) }
            var mult = [Double](repeating: 0, count: 5)
            for j in 0..<6 {
                let w = (0..<5).map { Double(w1.scalars[j * 5 + $0]) }
                let z0 = (0..<5).reduce(Double(b1.scalars[j])) { $0 + w[$1] * Double(x0[$1]) }
                let terms = (0..<5).map { w[$0] * dx[$0] }
                let up = terms.filter { $0 > 0 }.reduce(0, +), down = terms.filter { $0 < 0 }.reduce(0, +)
                let dyUp = 0.5 * (relu(z0 + up) - relu(z0)) + 0.5 * (relu(z0 + down + up) - relu(z0 + down))
                let dyDown = 0.5 * (relu(z0 + down) - relu(z0)) + 0.5 * (relu(z0 + up + down) - relu(z0 + up))
                let mUp = abs(up) > 1e-9 ? dyUp / up : 0, mDown = abs(down) > 1e-9 ? dyDown / down : 0
                let outer = Double(w2.scalars[2 * 6 + j])
                for i in 0..<5 { mult[i] += outer * w[i] * (terms[i] > 0 ? mUp : terms[i] < 0 ? mDown : 0.5 * (mUp + mDown)) }
            }
            for i in 0..<5 {
                let expected = dx[i] * mult[i]
                #expect(abs(Double(result.values.scalars[s * 5 + i]) - expected) < 1e-4 * max(1, abs(expected)), "sample \(s) feature \(i)")
            }
        }
        for d in try #require(result.delta) { #expect(abs(d) < 1e-5) }
        let (cnn, x) = try Self.fixtureModel("digits-cnn")
        let full = try Self.registry.makeAnalyzer("deeplift", model: cnn, options: Options(["rule": "reveal_cancel", "maxpool": "deeplift"])).analyze(x, target: .max)
        for d in try #require(full.delta) { #expect(abs(d) < 1e-4) }
        #expect(throws: ExplainError.self) { try Self.registry.makeAnalyzer("deeplift", model: cnn, options: Options(["rule": "cancel"])) }
    }

    /// DeepLIFT-SHAP is the mean of DeepLIFT over the baselines, with exact summation to
    /// `f(x) − mean f(x0)`; GradientSHAP with one baseline on an affine model is `w ⊙ (x − x0)`.
    @Test func shapVariants() throws {
        let (model, x) = try Self.fixtureModel("cancer-mlp")
        var rng = TestRandom(seed: 31)
        let set = rng.tensor([3, 30], -1...1)
        var options = Options(["baselines": "file:b.npy"])
        options.tensors["baselines"] = set
        let shap = try Self.registry.makeAnalyzer("deeplift_shap", model: model, options: options).analyze(x, target: .max)
        var mean = Tensor(shape: x.shape)
        for k in 0..<3 {
            var one = Options(["baseline": "file:b"])
            one.tensors["baseline"] = try set.sample(k)
            mean = mean.adding(try Self.registry.makeAnalyzer("deeplift", model: model, options: one).analyze(x, target: .indices(shap.targets!)).values)
        }
        #expect(Deviation(shap.values, Tensor(shape: mean.shape) { p in for i in 0..<p.count { p[i] = mean.scalars[i] / 3 } }).relL2 < 1e-5)
        for d in try #require(shap.delta) { #expect(abs(d) < 1e-4) }

        var b = GraphBuilder()
        let input = b.addInput(name: "x", shape: [nil, 4])
        let w = rng.tensor([2, 4])
        let y = try b.add(try Dense(weight: w, bias: rng.tensor([2])), inputs: [input], name: "fc")
        let linear = ExplainableModel(graph: try b.build(outputs: [y]))
        let xs = rng.tensor([2, 4])
        let g = try Self.registry.makeAnalyzer("gradient_shap", model: linear, options: Options(["baselines": "0.25", "samples": "7", "seed": "3"]))
            .analyze(xs, target: .index(1))
        for i in 0..<8 { #expect(abs(g.values.scalars[i] - w.scalars[4 + i % 4] * (xs.scalars[i] - 0.25)) < 1e-5) }
        for d in try #require(g.delta) { #expect(abs(d) < 1e-5) }
        let noisy = try Self.registry.makeAnalyzer("gradient_shap", model: linear, options: Options(["stdev": "0.1", "seed": "3"]))
        #expect(try noisy.analyze(xs, target: .index(1)).values == (try noisy.analyze(xs, target: .index(1)).values))
        var wrong = Options(["baselines": "file:b"])
        wrong.tensors["baselines"] = Tensor(shape: [2, 7])
        #expect(throws: ExplainError.self) { try Self.registry.makeAnalyzer("deeplift_shap", model: model, options: wrong).analyze(x, target: .max) }
    }

    // MARK: errors

    @Test func badOptionsAndMissingReferencesAreNamedErrors() throws {
        let (model, x) = try Self.fixtureModel("digits-cnn")
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        let r = Self.registry
        #expect(message { _ = try r.makeAnalyzer("integrated_gradients", model: model, options: Options(["method": "simpson"])) }.contains("gausslegendre"))
        #expect(message { _ = try r.makeAnalyzer("integrated_gradients", model: model, options: Options(["steps": "0"])) }.contains("steps"))
        #expect(message { _ = try r.makeAnalyzer("deeplift", model: model, options: Options(["maxpool": "avg"])) }.contains("maxpool"))
        #expect(message { _ = try r.makeAnalyzer("deeplift", model: model, options: Options(["baseline": "zero"])) }.contains("not a finite number"))
        // Three channel values for a one-channel input.
        let three = try r.makeAnalyzer("deeplift", model: model, options: Options(["baseline": "0,0,0"]))
        #expect(message { _ = try three.analyze(x, target: .max) }.contains("channels"))
        let wrongTensor = try IntegratedGradients(model: model, baseline: .tensor(Tensor(shape: [2, 2])), quadrature: try PathQuadrature(.riemannRight, steps: 2))
        #expect(message { _ = try wrongTensor.analyze(x, target: .max) }.contains("baseline has shape"))
        // The rescale rule bound without a reference pass names the rule and the node.
        let noBaseline = try BackpropAnalyzer(id: "x", model: model, preset: try ReferencePlugin.deepLiftPreset())
        let why = message { _ = try noBaseline.analyze(x, target: .max) }
        #expect(why.contains("rescale") && why.contains("baseline") && why.contains("Relu"), "\(why)")
    }

    /// Blur IG and Guided IG equal Google PAIR's BlurIG and GuidedIG (Tests/Fixtures/pair: both
    /// image models; the linear and square-root σ paths, two path settings), and Blur IG is nearly
    /// complete: Σ R ≈ f_t(x) − f_t(blur(x, σ_max)).
    @Test func blurIntegratedGradientsMatchesPairAndIsComplete() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/pair")
        #expect(summary.passed == 16 && summary.failed == 0 && summary.skipped.isEmpty)   // with XRAI's 8 (XRAITests)
        let (model, x) = try Self.fixtureModel("digits-cnn")
        let analyzer = try BlurIntegratedGradients(model: model, maxSigma: 50, steps: 200)
        let r = try analyzer.analyze(x, target: .max)
        let blurred = Tensor(shape: x.shape) { p in
            let plane = x.shape[2] * x.shape[3]
            for k in 0..<(x.count / plane) {
                let b = GaussianBlur.apply(x.scalars[(k * plane)..<((k + 1) * plane)], height: x.shape[2], width: x.shape[3], sigma: 50)
                for i in 0..<plane { p[k * plane + i] = Float(b[i]) }
            }
        }
        let far = try model.graph.predict(blurred, output: model.output)
        for s in 0..<x.shape[0] {
            let t = try #require(r.targets?[s]), c = far.shape[1]
            let change = Double(r.output.scalars[s * c + t] - far.scalars[s * c + t])
            #expect(abs(r.sums[s] - change) <= 0.05 * abs(change) + 1e-3, "sample \(s): Σ R \(r.sums[s]) vs \(change)")
        }
    }

    /// The quantile selection of Guided IG equals the sorted array's element, with ties and infinities.
    @Test func guidedSelectionIsTheSortedElement() {
        var rng = TestRandom(seed: 8)
        for n in [1, 2, 7, 64, 501] {
            var a = (0..<n).map { _ in Double(Int.random(in: 0..<9, using: &rng)) }
            if n > 3 { a[1] = .infinity; a[2] = .infinity }
            for k in [0, n / 4, n / 2, n - 1] {
                var copy = a
                #expect(GuidedIntegratedGradients.select(&copy, k) == a.sorted()[k], "n \(n), k \(k)")
            }
        }
    }

    /// Guided IG is complete up to its discretisation: Σ R ≈ f_t(x) − f_t(0), closer with more steps.
    @Test func guidedIntegratedGradientsIsComplete() throws {
        let (model, x) = try Self.fixtureModel("digits-cnn")
        let zero = try model.graph.predict(Tensor(shape: x.shape), output: model.output)
        func worst(_ steps: Int) throws -> Double {
            let r = try GuidedIntegratedGradients(model: model, steps: steps, maxDistance: 0.02).analyze(x, target: .max)
            return try (0..<x.shape[0]).map { s -> Double in
                let t = try #require(r.targets?[s]), c = zero.shape[1]
                let change = Double(r.output.scalars[s * c + t] - zero.scalars[s * c + t])
                return abs(r.sums[s] - change) / max(abs(change), 1e-6)
            }.max() ?? 0
        }
        let coarse = try worst(25), fine = try worst(400)
        #expect(fine < 0.05 && fine < coarse, "relative completeness error \(coarse) (25 steps), \(fine) (400 steps)")
    }
}
