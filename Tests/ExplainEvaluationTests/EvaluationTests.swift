import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// Pixel flipping against closed forms on a linear model, the rank correlation, and the
/// model-randomisation check's known outcome (Adebayo et al.: guided backprop barely changes, the
/// gradient does).
@Suite struct EvaluationTests {
    static var registry: Registry { FixtureModels.registry }

    /// f = w · x on a (1, 4, 4) image; the attribution w ⊙ x orders the pixels exactly.
    static func linearImage(seed: UInt64) throws -> (ExplainableModel, Tensor) {
        var rng = TestRandom(seed: seed)
        let w = rng.tensor([1, 16])
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 1, 4, 4])
        let flat = try b.add(Flatten(), inputs: [x], name: "flat")
        let y = try b.add(try Dense(weight: w), inputs: [flat], name: "fc")
        return (ExplainableModel(graph: try b.build(outputs: [y])), w)
    }

    @Test func pixelFlippingFollowsTheOrderAndTheSteps() throws {
        let (model, w) = try Self.linearImage(seed: 1)
        var rng = TestRandom(seed: 2)
        let x = rng.tensor([1, 1, 4, 4])
        let contributions = (0..<16).map { Double(w.scalars[$0]) * Double(x.scalars[$0]) }
        let exact = try Tensor(shape: x.shape, scalars: contributions.map { Float($0) })
        let flip = try PixelFlipping(steps: 3, order: .morf)
        let r = try flip.evaluate(model: model, input: x, attribution: exact, target: .index(0))
        // Steps remove ⌈16·j/3⌉ = 0, 6, 11, 16 pixels, most relevant first.
        let sorted = contributions.sorted(by: >), fx = contributions.reduce(0, +)
        for (j, count) in [0, 6, 11, 16].enumerated() {
            #expect(abs(r.curves[0][j] - (fx - sorted.prefix(count).reduce(0, +))) < 1e-5, "step \(j)")
        }
        #expect(abs(r.aopc[0] - r.curves[0].reduce(0.0) { $0 + (r.curves[0][0] - $1) } / 4) < 1e-12)
        // The exact attribution beats a shuffled one under MoRF, and MoRF beats LeRF.
        let shuffled = try Tensor(shape: x.shape, scalars: exact.scalars.reversed())
        let worse = try flip.evaluate(model: model, input: x, attribution: shuffled, target: .index(0)).aopc[0]
        let lerf = try PixelFlipping(steps: 3, order: .lerf).evaluate(model: model, input: x, attribution: exact, target: .index(0)).aopc[0]
        #expect(r.aopc[0] >= worse && r.aopc[0] > lerf)
    }

    @Test func regionsTileTheImageAndClipAtTheBorder() throws {
        let two = try PixelFlipping(region: 2).regions(sampleShape: [2, 4, 4])
        #expect(two.count == 4 && two.allSatisfy { $0.count == 8 } && Set(two.flatMap { $0 }).count == 32)
        let three = try PixelFlipping(region: 3).regions(sampleShape: [1, 4, 4])
        #expect(three.map(\.count) == [9, 3, 3, 1])
        #expect(try PixelFlipping().regions(sampleShape: [5]).count == 5)
    }

    @Test func rankCorrelation() {
        #expect(Similarity.ranks([1, 2, 2, 3]) == [1, 2.5, 2.5, 4])
        #expect(abs(Similarity.spearman([1, 2, 3, 4], [10, 20, 30, 400]) - 1) < 1e-12)
        #expect(abs(Similarity.spearman([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-12)
        #expect(Similarity.spearman([1, 1, 1], [1, 2, 3]) == 0)
    }

    /// SSIM: 1 for identical maps, symmetric, below 1 for a changed map, equal to the single-window
    /// formula written out on a 7 × 7 map; nil where the window does not fit.
    @Test func structuralSimilarity() {
        var rng = TestRandom(seed: 9)
        let a = rng.tensor([7, 7], 0...1).scalars.map(Double.init), b = rng.tensor([7, 7], 0...1).scalars.map(Double.init)
        #expect(abs(Similarity.ssim(a, a, height: 7, width: 7)! - 1) < 1e-12)
        let ab = Similarity.ssim(a, b, height: 7, width: 7)!, ba = Similarity.ssim(b, a, height: 7, width: 7)!
        #expect(abs(ab - ba) < 1e-12 && ab < 0.9)
        // One window: luminance × contrast-structure with sample (n − 1) variances.
        let n = 49.0, ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        let va = a.reduce(0.0) { $0 + ($1 - ma) * ($1 - ma) } / (n - 1), vb = b.reduce(0.0) { $0 + ($1 - mb) * ($1 - mb) } / (n - 1)
        let cov = zip(a, b).reduce(0.0) { $0 + ($1.0 - ma) * ($1.1 - mb) } / (n - 1)
        let (c1, c2) = (0.0001, 0.0009)
        let expected = (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
        #expect(abs(ab - expected) < 1e-12)
        #expect(Similarity.ssim(Array(a.prefix(36)), Array(a.prefix(36)), height: 6, width: 6) == nil)
        #expect(Similarity.ssimPerSample(Tensor(shape: [2, 5]), Tensor(shape: [2, 5])) == nil)
    }

    /// A single dense layer: its gradient is a row of W, so after randomising the layer the
    /// explanation is unrelated to the original one.
    @Test func randomisingTheOnlyLayerDecorrelatesTheGradient() throws {
        var rng = TestRandom(seed: 4)
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 400])
        let y = try b.add(try Dense(weight: rng.tensor([2, 400]), bias: rng.tensor([2])), inputs: [x], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [y]))
        let (_, steps) = try ModelRandomisation(seed: 1).run(model: model, input: rng.tensor([2, 400]), target: .index(0)) {
            try Self.registry.makeAnalyzer("gradient", model: $0)
        }
        #expect(steps.count == 1 && steps[0].layer == "fc")
        for rho in steps[0].spearman { #expect(abs(rho) < 0.2, "\(rho)") }
    }

    /// The sanity check's known outcome on the fixture CNN: guided backprop stays close to its
    /// original explanation with every layer randomised; the gradient does not.
    @Test func guidedBackpropFailsTheSanityCheckAndTheGradientPasses() throws {
        let (model, x, _) = try FixtureModels.load("digits-cnn")
        func last(_ id: String) throws -> [ModelRandomisation.Step] {
            try ModelRandomisation(mode: .cascading, seed: 0).run(model: model, input: x, target: .max) {
                try Self.registry.makeAnalyzer(id, model: $0)
            }.steps
        }
        let gradient = try last("gradient"), guided = try last("guided_backprop")
        #expect(gradient.map(\.layer) == ["/fc2/Gemm", "/fc1/Gemm", "/conv3/Conv", "/conv2/Conv", "/conv1/Conv"])
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        #expect(mean(guided.last!.spearman) > 0.5 && abs(mean(gradient.last!.spearman)) < 0.2,
                "guided \(mean(guided.last!.spearman)), gradient \(mean(gradient.last!.spearman))")
    }

    /// On an affine model the gradient predicts every output change exactly and never changes:
    /// infidelity and max-sensitivity are 0; a doubled gradient is unfaithful unless normalised; a
    /// ReLU network's gradient is sensitive.
    @Test func infidelityAndSensitivity() throws {
        let (model, _) = try Self.linearImage(seed: 3)
        var rng = TestRandom(seed: 4)
        let x = rng.tensor([2, 1, 4, 4])
        let gradient = try Self.registry.makeAnalyzer("gradient", model: model)
        let g = try gradient.analyze(x, target: .index(0)).values
        let exact = try Infidelity(samples: 8, sigma: 0.1).evaluate(model: model, input: x, attribution: g, target: .index(0))
        let doubled = Tensor(shape: g.shape) { p in for i in 0..<p.count { p[i] = 2 * g.scalars[i] } }
        let wrong = try Infidelity(samples: 8, sigma: 0.1).evaluate(model: model, input: x, attribution: doubled, target: .index(0))
        let rescued = try Infidelity(samples: 8, sigma: 0.1, normalize: true).evaluate(model: model, input: x, attribution: doubled, target: .index(0))
        for s in 0..<2 {
            #expect(exact[s] < 1e-10 && rescued[s] < 1e-10 && wrong[s] > 1e-4, "\(exact[s]) \(rescued[s]) \(wrong[s])")
        }
        #expect(try SensitivityMax(samples: 4).evaluate(gradient, input: x, target: .index(0)) == [0, 0])
        let (cnn, xc, _) = try FixtureModels.load("digits-cnn")
        let cnnGradient = try Self.registry.makeAnalyzer("gradient", model: cnn)
        let sensitivity = try SensitivityMax(samples: 4, seed: 2).evaluate(cnnGradient, input: xc, target: .max)
        let again = try SensitivityMax(samples: 4, seed: 2).evaluate(cnnGradient, input: xc, target: .max)
        #expect(sensitivity.allSatisfy { $0 > 0 } && sensitivity == again)
        // Avg-sensitivity: the mean of the same ratios, so between the smallest and the largest; one draw: equal to max.
        let both = try SensitivityMax(samples: 4, seed: 2).evaluateBoth(cnnGradient, input: xc, target: .max)
        #expect(both.max == sensitivity && zip(both.mean, both.max).allSatisfy { $0 > 0 && $0 <= $1 })
        let single = try SensitivityMax(samples: 1, seed: 2).evaluateBoth(cnnGradient, input: xc, target: .max)
        #expect(single.mean == single.max)
    }

    /// On an affine model Input × Gradient (baseline 0) predicts the drop of any subset exactly:
    /// correlation 1 for every n; a sign-scrambled attribution does not; on the fixture CNN
    /// Input × Gradient beats the plain gradient (Ancona et al.'s observation), and the sizes
    /// default to log-spaced ones.
    @Test func sensitivityN() throws {
        let (model, _) = try Self.linearImage(seed: 3)
        var rng = TestRandom(seed: 4)
        let x = rng.tensor([2, 1, 4, 4])
        let ixg = try Self.registry.makeAnalyzer("input_t_gradient", model: model).analyze(x, target: .index(0)).values
        let metric = try SensitivityN(sizes: [1, 3, 8], subsets: 20, seed: 1)
        let exact = try metric.evaluate(model: model, input: x, attribution: ixg, target: .index(0))
        #expect(exact.sizes == [1, 3, 8] && exact.correlations.count == 2)
        for row in exact.correlations { for c in row { #expect(abs(c - 1) < 1e-6) } }
        let scrambled = Tensor(shape: ixg.shape) { p in for i in 0..<p.count { p[i] = i % 3 == 0 ? -ixg.scalars[i] : ixg.scalars[i] } }
        let worse = try metric.evaluate(model: model, input: x, attribution: scrambled, target: .index(0))
        #expect(worse.correlations.flatMap { $0 }.contains { $0 < 0.99 })
        #expect(try SensitivityN().sizes(regions: 256) == [1, 2, 5, 10, 21, 45, 95, 204])

        let (cnn, xc, _) = try FixtureModels.load("digits-cnn")
        let wide = try SensitivityN(sizes: [4, 16], subsets: 30, region: 2, seed: 3)
        func mean(_ id: String) throws -> Double {
            let a = try Self.registry.makeAnalyzer(id, model: cnn).analyze(xc, target: .max)
            let r = try wide.evaluate(model: cnn, input: xc, attribution: a.values, target: a.sameTargets(or: .max))
            let all = r.correlations.flatMap { $0 }
            return all.reduce(0, +) / Double(all.count)
        }
        #expect(try mean("input_t_gradient") > mean("gradient") + 0.2)
        #expect(throws: ExplainError.self) { try SensitivityN(subsets: 1) }
        #expect(throws: ExplainError.self) { try SensitivityN(sizes: [0]) }
        #expect(throws: ExplainError.self) { try SensitivityN(sizes: [17]).evaluate(model: model, input: x, attribution: ixg, target: .index(0)) }
    }

    /// HOG features equal scikit-image's (`Tools/make_hog_fixture.py`: default and small cells, a
    /// flat region, ties in the orientations); a map's HOG correlation with itself is 1; maps smaller
    /// than a block have none.
    @Test func hogMatchesScikitImage() throws {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/hog_cases.npz")
        for k in 0..<4 {
            guard case .float64(let map)? = archive["map\(k)"]?.elements, case .float64(let expected)? = archive["hog\(k)"]?.elements,
                  let p = try archive["params\(k)"]?.integers(), p.count == 5 else { Issue.record("case \(k) missing"); continue }
            let hog = try HOG(orientations: p[2], cell: p[3], block: p[4])
            let mine = try #require(hog.features(map, height: p[0], width: p[1]))
            #expect(mine.count == expected.count)
            // skimage accumulates its cell histograms in float32 (differences ≈ 1e-8 of values ≤ 1).
            let worst = zip(mine, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-6, "case \(k): max |Δ| \(worst)")
        }
        var rng = TestRandom(seed: 9)
        let maps = rng.tensor([2, 1, 24, 24])
        #expect(try Similarity.hogPerSample(maps, maps, hog: HOG())?.allSatisfy { abs($0 - 1) < 1e-12 } == true)
        #expect(try Similarity.hogPerSample(rng.tensor([1, 1, 16, 16]), rng.tensor([1, 1, 16, 16]), hog: HOG()) == nil)
        #expect(throws: ExplainError.self) { try HOG(cell: 0) }
    }

    @Test func badArgumentsAreNamedErrors() throws {
        let (model, _) = try Self.linearImage(seed: 1)
        #expect(throws: ExplainError.self) { try PixelFlipping(steps: 0) }
        #expect(throws: ExplainError.self) { try PixelFlipping(fraction: 0) }
        #expect(throws: ExplainError.self) { try Infidelity(sigma: 0) }
        #expect(throws: ExplainError.self) { try SensitivityMax(samples: 0) }
        let x = Tensor(shape: [1, 1, 4, 4], repeating: 1)
        do {
            _ = try PixelFlipping().evaluate(model: model, input: x, attribution: Tensor(shape: [1, 1, 2, 2]), target: .index(0))
            Issue.record("a CAM-sized map must be rejected")
        } catch let e as ExplainError { #expect("\(e)".contains("input-shaped")) }
    }

    /// Sparseness, complexity and effective complexity equal Quantus 0.6.0 (per-sample
    /// normalisation; Tools/make_complexity_fixture.py), and a spike is sparser and simpler than noise.
    @Test func complexityMetricsMatchQuantus() throws {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/complexity_cases.npz")
        let a = try #require(archive["attributions"]).tensor()
        let expected = try ["sparseness", "complexity", "effective_complexity"].map { try #require(archive[$0]).tensor().scalars.map(Double.init) }
        let got = [try ComplexityMetrics.sparseness(a), try ComplexityMetrics.complexity(a), try ComplexityMetrics.effectiveComplexity(a).map(Double.init)]
        for (g, e) in zip(got, expected) {
            for (x, y) in zip(g, e) { #expect(abs(x - y) <= 1e-6 * max(1, abs(y)), "\(g) vs \(e)") }
        }
        #expect(got[0][1] > got[0][2] && got[1][1] < got[1][2])
        #expect(try ComplexityMetrics.sparseness(Tensor(shape: [1, 4])) .allSatisfy { abs($0) < 1e-9 })
    }

    /// The localisation metrics equal Quantus 0.6.0 (Tools/make_localisation_fixture.py), an empty
    /// mask scores NaN (Quantus's pointing game returns 1 there: it writes NaN into a Bool array).
    @Test func localisationMetricsMatchQuantus() throws {
        let archive = try NumpyArchive.read(path: TestPaths.arrays + "/localisation_cases.npz")
        let a = try #require(archive["attributions"]).tensor(), mask = try #require(archive["masks"]).tensor()
        let r = try Localisation.evaluate(attribution: a, mask: mask, k: 10)
        let got = ["pointing_game": r.pointingGame, "mass_accuracy": r.massAccuracy, "rank_accuracy": r.rankAccuracy,
                   "top_k_intersection": r.topKIntersection, "auc": r.auc, "attribution_localisation": r.attributionLocalisation]
        for (name, values) in got {
            let expected = try #require(archive[name]).tensor().scalars.map(Double.init)
            for s in 0..<4 { #expect(abs(values[s] - expected[s]) <= 1e-6, "\(name) sample \(s): \(values[s]) vs \(expected[s])") }
            #expect(values[4].isNaN, "\(name): empty mask")
        }
        // A three-channel attribution is summed over its channels against a one-channel mask.
        let weights: [Float] = [0.5, 0.5, 0]   // sums to the map exactly (ties stay ties)
        let three = Tensor(shape: [5, 3, 8, 8]) { out in
            for s in 0..<5 { for c in 0..<3 { for i in 0..<64 { out[(s * 3 + c) * 64 + i] = weights[c] * a.scalars[s * 64 + i] } } }
        }
        let summed = try Localisation.evaluate(attribution: three, mask: mask, k: 10)
        #expect(zip(summed.auc.prefix(4), r.auc.prefix(4)).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(throws: ExplainError.self) { try Localisation.evaluate(attribution: a, mask: Tensor(shape: [5, 1, 4, 4])) }
        // Focus on the same maps read as 2 × 2 mosaics.
        let focus = try Localisation.focus(attribution: a, quadrants: try #require(archive["quadrants"]).tensor())
        let expectedFocus = try #require(archive["focus"]).doubles()
        #expect(zip(focus, expectedFocus).allSatisfy { abs($0 - $1) <= 1e-6 } && focus.count == 5, "focus \(focus) vs \(expectedFocus)")
        #expect(throws: ExplainError.self) { try Localisation.focus(attribution: a, quadrants: Tensor(shape: [5, 3])) }
    }
}
