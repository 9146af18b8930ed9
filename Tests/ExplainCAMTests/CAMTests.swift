import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// The CAM family against closed forms, the identities the fixture README states, and bad input
/// (the fixture comparison is in ConformanceTests).
@Suite struct CAMTests {
    static var registry: Registry { FixtureModels.registry }

    static func fixtureModel(_ name: String) throws -> (ExplainableModel, Tensor) {
        let f = try FixtureModels.load(name)
        return (f.model, f.input)
    }

    func cam(_ id: String, _ model: ExplainableModel, _ x: Tensor, layer: String? = nil, upsample: Bool = false,
             _ extra: [String: String] = [:]) throws -> Attribution {
        var o = Options(extra.merging(["upsample": "\(upsample)"]) { $1 })
        if let layer { o.values["layer"] = layer }
        return try Self.registry.makeAnalyzer(id, model: model, options: o).analyze(x, target: .max)
    }

    /// x (1, 5, 5) → Conv 1×1 (3 channels, the feature map A) → GlobalAveragePool → Flatten → Dense (2).
    static func linearHead(seed: UInt64) throws -> (ExplainableModel, conv: Tensor, dense: Tensor, bias: Tensor) {
        var rng = TestRandom(seed: seed)
        let conv = rng.tensor([3, 1, 1, 1], 0.2...1), dense = rng.tensor([2, 3]), bias = rng.tensor([2])
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 1, 5, 5])
        var v = try b.add(try Conv2D(weight: conv), inputs: [x], name: "conv")
        v = try b.add(GlobalAveragePool(), inputs: [v], name: "gap")
        v = try b.add(Flatten(), inputs: [v], name: "flat")
        v = try b.add(try Dense(weight: dense, bias: bias), inputs: [v], name: "fc")
        return (ExplainableModel(graph: try b.build(outputs: [v])), conv, dense, bias)
    }

    /// On A → GAP → Dense the gradient is w_t,c / hw everywhere: Grad-CAM and HiRes-CAM are
    /// relu(Σ_c w_t,c A_c / hw); Ablation-CAM's weights are w_t,c mean(A_c) / y.
    @Test func closedFormsOnALinearHead() throws {
        let (model, conv, dense, bias) = try Self.linearHead(seed: 4)
        var rng = TestRandom(seed: 5)
        let x = rng.tensor([2, 1, 5, 5])
        let grad = try cam("gradcam", model, x, layer: "conv"), hires = try cam("hirescam", model, x, layer: "conv")
        let ablation = try cam("ablationcam", model, x, layer: "conv")
        for s in 0..<2 {
            let t = try #require(grad.targets)[s]
            let a = (0..<3).map { c in (0..<25).map { Double(x.scalars[s * 25 + $0]) * Double(conv.scalars[c]) } }
            let means = a.map { $0.reduce(0, +) / 25 }
            let y = (0..<3).reduce(Double(bias.scalars[t])) { $0 + Double(dense.scalars[t * 3 + $1]) * means[$1] }
            for i in 0..<25 {
                let g = (0..<3).reduce(0.0) { $0 + Double(dense.scalars[t * 3 + $1]) / 25 * a[$1][i] }
                let ab = (0..<3).reduce(0.0) { $0 + Double(dense.scalars[t * 3 + $1]) * means[$1] / y * a[$1][i] }
                #expect(abs(Double(grad.values.scalars[s * 25 + i]) - max(g, 0)) < 1e-6)
                #expect(abs(Double(hires.values.scalars[s * 25 + i]) - max(g, 0)) < 1e-6)
                #expect(abs(Double(ablation.values.scalars[s * 25 + i]) - max(ab, 0)) < 1e-5 * max(1, abs(ab)))
            }
        }
        #expect(grad.values.shape == [2, 1, 5, 5])
    }

    /// The identities of the fixture README: on a layer feeding GlobalAveragePool → Gemm, HiRes-CAM
    /// equals Grad-CAM and XGrad-CAM nearly so; on a Conv feeding a Relu, Layer-CAM and HiRes-CAM
    /// equal their values on the Relu's output.
    @Test func identitiesOnTheFixtureModels() throws {
        let (resnet, xr) = try Self.fixtureModel("digits-resnet")
        let layer = "/block1/relu2/Relu_output_0"
        let grad = try cam("gradcam", resnet, xr, layer: layer).values
        #expect(Deviation(try cam("hirescam", resnet, xr, layer: layer).values, grad).relL2 < 1e-5)
        #expect(Deviation(try cam("xgradcam", resnet, xr, layer: layer).values, grad).relL2 < 1e-4)
        let (cnn, xc) = try Self.fixtureModel("digits-cnn")
        for id in ["layercam", "hirescam"] {
            let conv = try cam(id, cnn, xc, layer: "/conv3/Conv_output_0").values, relu = try cam(id, cnn, xc, layer: "/relu3/Relu_output_0").values
            #expect(Deviation(conv, relu).relL2 < 1e-5, "\(id)")
        }
    }

    /// The default feature map is the last one with more than one position (not the 1×1 output of
    /// global pooling); upsampling gives the input's size, and equals resizing the raw map.
    @Test func defaultLayerAndUpsampling() throws {
        let (resnet, x) = try Self.fixtureModel("digits-resnet")
        let a = try cam("gradcam", resnet, x, upsample: true)
        #expect(a.values.shape == [4, 1, 16, 16])
        #expect(a.diagnostics.contains { $0.contains("/block1/relu2/Relu_output_0") })
        let raw = try cam("gradcam", resnet, x, layer: "/block1/relu2/Relu_output_0")
        #expect(Deviation(a.values, try raw.values.resizedBilinear(height: 16, width: 16)).maxAbs < 1e-6)
    }

    /// A rank-one feature map A_c(i, j) = u_c q(i, j): Eigen-CAM is |u| (q − mean q), sign chosen so
    /// that the largest magnitude is positive, whichever Gram matrix is used.
    @Test(arguments: [(3, 4), (9, 2)])   // channels < positions, and channels > positions
    func eigenCAMOfARankOneMap(_ shape: (channels: Int, side: Int)) throws {
        var rng = TestRandom(seed: 8)
        let (c, side) = shape, hw = side * side
        let u = rng.tensor([c]).scalars, q = rng.tensor([hw]).scalars
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, c, side, side])
        let y = try b.add(Relu(), inputs: [x], name: "relu")
        let model = ExplainableModel(graph: try b.build(outputs: [y]))
        let input = Tensor(shape: [1, c, side, side]) { p in for ch in 0..<c { for i in 0..<hw { p[ch * hw + i] = u[ch] * q[i] } } }
        let result = try cam("eigencam", model, input, layer: "x").values.scalars
        let norm = u.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let mean = q.reduce(0.0) { $0 + Double($1) } / Double(hw)
        var p = q.map { norm * (Double($0) - mean) }
        if abs(p.min()!) > abs(p.max()!) { p = p.map { -$0 } }
        for i in 0..<hw { #expect(abs(Double(result[i]) - max(p[i], 0)) < 1e-5, "position \(i)") }
    }

    /// Score-CAM's weights are a softmax: scaling every score equally changes nothing, so a model
    /// whose output ignores the input gives the plain channel mean.
    @Test func scoreCAMOfAConstantModelIsTheChannelMean() throws {
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2, 3, 3])
        let a = try b.add(Relu(), inputs: [x], name: "relu")
        let zero = try b.add(try Conv2D(weight: Tensor(shape: [1, 2, 3, 3]), bias: try Tensor(shape: [1], scalars: [2])), inputs: [a], name: "const")
        let out = try b.add(Flatten(), inputs: [zero], name: "flat")
        let model = ExplainableModel(graph: try b.build(outputs: [out]))
        var rng = TestRandom(seed: 2)
        let input = rng.tensor([1, 2, 3, 3], 0...1)
        let result = try cam("scorecam", model, input, layer: "relu").values.scalars
        for i in 0..<9 { #expect(abs(result[i] - (input.scalars[i] + input.scalars[9 + i]) / 2) < 1e-6) }
    }

    @Test func bilinearResizeConventions() throws {
        let t = try Tensor(shape: [1, 1, 1, 2], scalars: [1, 2])
        // Half-pixel centres, edges clamped (PyTorch align_corners=False).
        #expect(try t.resizedBilinear(height: 1, width: 4).scalars == [1, 1.25, 1.75, 2])
        // Corners aligned (align_corners=True).
        #expect(try t.resizedBilinear(height: 1, width: 3, alignCorners: true).scalars == [1, 1.5, 2])
        #expect(throws: ExplainError.self) { try t.resizedBilinear(height: 0, width: 3) }
        #expect(throws: ExplainError.self) { try Tensor(shape: [2, 2]).resizedBilinear(height: 3, width: 3) }
    }

    /// Guided Grad-CAM is guided backprop times the raw Grad-CAM map resized by nearest neighbour
    /// (PyTorch's convention: output i reads input ⌊i · in / out⌋).
    @Test func guidedGradCAMComposesItsParts() throws {
        let (resnet, x) = try Self.fixtureModel("digits-resnet")
        let combined = try Self.registry.makeAnalyzer("guided_gradcam", model: resnet).analyze(x, target: .max)
        let guided = try Self.registry.makeAnalyzer("guided_backprop", model: resnet).analyze(x, target: .max).values
        let raw = try cam("gradcam", resnet, x).values   // (4, 1, 8, 8)
        #expect(raw.shape == [4, 1, 8, 8])
        for s in 0..<4 { for y in 0..<16 { for col in 0..<16 {
            let i = (s * 16 + y) * 16 + col
            #expect(abs(combined.values.scalars[i] - guided.scalars[i] * raw.scalars[(s * 8 + y / 2) * 8 + col / 2]) < 1e-6)
        } } }
        let t = try Tensor(shape: [1, 1, 1, 3], scalars: [1, 2, 3])
        #expect(try t.resizedNearest(height: 1, width: 5).scalars == [1, 1, 2, 2, 3])
        #expect(throws: ExplainError.self) { try Self.registry.makeAnalyzer("guided_gradcam", model: resnet, options: Options(["interpolation": "cubic"])) }
    }

    @Test func badLayersAndOptionsAreNamedErrors() throws {
        let (cnn, x) = try Self.fixtureModel("digits-cnn")
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try cam("gradcam", cnn, x, layer: "/conv9/Conv") }.contains("conv9"))
        #expect(message { _ = try cam("gradcam", cnn, x, layer: "/fc1/Gemm_output_0") }.contains("feature map"))
        #expect(message { _ = try Self.registry.makeAnalyzer("gradcam", model: cnn, options: Options(["upsample": "maybe"])) }.contains("upsample"))
        #expect(message { _ = try cam("layercam", cnn, x, ["sum_channels": "false"]) }.contains("sum_channels"))
        #expect(message { _ = try CAMAnalyzer(model: cnn, variant: .layerCAM, sumChannels: false) }.contains("gradcam only"))
        let (mlp, xm) = try Self.fixtureModel("cancer-mlp")
        #expect(message { _ = try cam("scorecam", mlp, xm) }.contains("--set layer"))
    }

    /// A transformer's tokens: the class token dropped when the rest tile the input's aspect ratio,
    /// all tokens when they do; nothing else is a grid.
    @Test func tokenGridsFollowTheInputsAspect() throws {
        #expect(TokenGrid(tokens: 197, height: 224, width: 224) == TokenGrid(tokens: 197, height: 224, width: 224))
        let vit = try #require(TokenGrid(tokens: 197, height: 224, width: 224))
        #expect(vit.skip == 1 && vit.rows == 14 && vit.columns == 14)
        let plain = try #require(TokenGrid(tokens: 8, height: 16, width: 32))
        #expect(plain.skip == 0 && plain.rows == 2 && plain.columns == 4)
        #expect(TokenGrid(tokens: 7, height: 16, width: 16) == nil)
        let t = try Tensor(shape: [1, 3, 2], scalars: [9, 9, 1, 2, 3, 4])   // class token, then 2 patches × 2 channels
        let map = try #require(TokenGrid(tokens: 3, height: 1, width: 2)).featureMap(t)
        #expect(map.shape == [1, 2, 1, 2] && map.scalars == [1, 3, 2, 4])
    }

    /// On a ViT the default layer is the tokens entering the last attention (the last block's ln_1,
    /// pytorch-grad-cam's advice); Ablation-CAM says it cannot ablate token layers.
    @Test func transformerDefaultLayerIsTheLastAttentionsInput() throws {
        let (model, x, _) = try FixtureModels.load(folder: TestPaths.fixtures + "/transformer/vit-small")
        let analyzer = try CAMAnalyzer(model: model, variant: .gradCAM, upsample: false)
        let v = try #require(try model.lastTokenLayer(inputShape: x.shape))
        #expect(model.graph.valueNames[v] == "/encoder/layers/encoder_layer_2/ln_1/LayerNormalization_output_0")
        let named = try cam("gradcam", model, x, layer: model.graph.valueNames[v])
        #expect(try analyzer.analyze(x, target: .max).values.scalars == named.values.scalars && named.values.shape == [3, 1, 4, 4])
        let error = #expect(throws: ExplainError.self) { try cam("ablationcam", model, x) }
        #expect(error?.message.contains("not tokens") == true)
    }

    /// Element-wise Grad-CAM, Eigen-Grad-CAM, FEM, Finer-CAM, KPCA-CAM, RandomCAM, Shapley-CAM and FullGrad match
    /// pytorch-grad-cam, Grad-CAM without relu and per channel Captum's LayerGradCam (Tests/Fixtures/cam).
    @Test func extraVariantsMatchPytorchGradCam() throws {
        let summary = try FixtureModels.runFixtureSet(TestPaths.fixtures + "/cam")
        #expect(summary.passed == 62 && summary.failed == 0 && summary.skipped.isEmpty)
    }

    /// On A → GAP → Dense (z = W mean(A) + b) Shapley-CAM's gradient is constant per channel:
    /// (2 e_t − p + ½ (p ⊙ u − p pᵀu))ᵀ W / hw with u = J A = z − b; with the logit target it is
    /// Grad-CAM. A curved layer after the map (sigmoid) is a named error for the ReST score.
    @Test func shapleyCAMOnALinearHead() throws {
        let (model, conv, dense, bias) = try Self.linearHead(seed: 9)
        var rng = TestRandom(seed: 10)
        let x = rng.tensor([2, 1, 5, 5])
        let rest = try cam("shapleycam", model, x, layer: "conv", upsample: false)
        for s in 0..<2 {
            let a = (0..<3).map { c in (0..<25).map { Double(conv.scalars[c]) * Double(x.scalars[s * 25 + $0]) } }
            let mean = a.map { $0.reduce(0, +) / 25 }
            let z = (0..<2).map { k in (0..<3).reduce(Double(bias.scalars[k])) { $0 + Double(dense.scalars[k * 3 + $1]) * mean[$1] } }
            let t = z[1] > z[0] ? 1 : 0
            let e = z.map { Foundation.exp($0 - z.max()!) }, p = e.map { $0 / e.reduce(0, +) }
            let u = (0..<2).map { z[$0] - Double(bias.scalars[$0]) }, pu = p[0] * u[0] + p[1] * u[1]
            let seed = (0..<2).map { (($0 == t) ? 2.0 : 0) - p[$0] + 0.5 * (p[$0] * u[$0] - p[$0] * pu) }
            let w = (0..<3).map { c in (0..<2).reduce(0.0) { $0 + seed[$1] * Double(dense.scalars[$1 * 3 + c]) } / 25 }
            for i in 0..<25 {
                let expected = max(0, (0..<3).reduce(0.0) { $0 + w[$1] * a[$1][i] })
                #expect(abs(Double(rest.values.scalars[s * 25 + i]) - expected) < 1e-5, "sample \(s) position \(i)")
            }
        }
        let logit = try cam("shapleycam", model, x, layer: "conv", upsample: false, ["target_form": "logit"])
        #expect(logit.values.scalars == (try cam("gradcam", model, x, layer: "conv", upsample: false)).values.scalars)

        var b = GraphBuilder()
        let input = b.addInput(name: "x", shape: [nil, 1, 5, 5])
        var v = try b.add(try Conv2D(weight: conv), inputs: [input], name: "conv")
        v = try b.add(Sigmoid(), inputs: [v], name: "squash")
        v = try b.add(GlobalAveragePool(), inputs: [v], name: "gap")
        v = try b.add(Flatten(), inputs: [v], name: "flat")
        v = try b.add(try Dense(weight: dense, bias: bias), inputs: [v], name: "fc")
        let curved = ExplainableModel(graph: try b.build(outputs: [v]))
        let error = #expect(throws: ExplainError.self) { try cam("shapleycam", curved, x, layer: "conv") }
        #expect(error?.node == "squash")
        _ = try cam("shapleycam", curved, x, layer: "conv", ["target_form": "logit"])
    }

    /// With the linear kernel, KPCA-CAM's map is the first principal projection: `p` with
    /// `X Xᵀ p = |p|² p` for the positions × channels matrix `X` centred per channel, and no unit
    /// vector has a larger Rayleigh quotient. Too many positions are refused before any allocation.
    @Test func linearKernelPCAIsThePrincipalProjection() throws {
        var rng = SeededGenerator(seed: 7)
        let (c, hw) = (5, 12)
        let a = try Tensor(shape: [1, c, 3, 4], scalars: (0..<(c * hw)).map { _ in Float.random(in: -1...1, using: &rng) })
        let p = try KernelPCA(kernel: .linear).map(activation: a).scalars.map(Double.init)
        var x = [[Double]](repeating: [Double](repeating: 0, count: c), count: hw)
        for ch in 0..<c {
            let mean = (0..<hw).reduce(0.0) { $0 + Double(a.scalars[ch * hw + $1]) } / Double(hw)
            for i in 0..<hw { x[i][ch] = Double(a.scalars[ch * hw + i]) - mean }
        }
        func gram(_ v: [Double]) -> [Double] {
            let xt = (0..<c).map { ch in (0..<hw).reduce(0.0) { $0 + x[$1][ch] * v[$1] } }
            return (0..<hw).map { i in (0..<c).reduce(0.0) { $0 + x[i][$1] * xt[$1] } }
        }
        let lambda = p.reduce(0) { $0 + $1 * $1 }
        for (l, r) in zip(gram(p), p) { #expect(abs(l - lambda * r) < 1e-5 * lambda) }
        for _ in 0..<20 {
            let v = (0..<hw).map { _ in Double.random(in: -1...1, using: &rng) }, norm = v.reduce(0) { $0 + $1 * $1 }
            #expect(zip(gram(v), v).reduce(0) { $0 + $1.0 * $1.1 } / norm <= lambda * (1 + 1e-6))
        }
        let large = Tensor(shape: [1, 1, 65, 65])
        #expect(throws: ExplainError.self) { try KernelPCA().map(activation: large) }
    }

    /// Finer-CAM's seed is the derivative of its explained output: central differences of T agree.
    @Test func finerSeedIsTheDerivativeOfItsTarget() throws {
        let y: [Double] = [0.3, 2.0, 1.7, -0.4, 1.9, 0.1]
        let finer = FinerTarget(alpha: 0.7, ranks: [1, 2])
        let (seed, mains) = try finer.seed(for: try Tensor(shape: [1, 6], scalars: y.map(Float.init)), target: .index(1))
        // Nearest to y₁ = 2.0: itself, then 1.9 (class 4), then 1.7 (class 2).
        #expect(mains == [1])
        func t(_ y: [Double]) -> Double {
            let e = y.map { Foundation.exp($0) }, p = e.map { $0 / e.reduce(0, +) }
            return (p[4] * (y[1] - 0.7 * y[4]) + p[2] * (y[1] - 0.7 * y[2])) / (p[4] + p[2] + 1e-9)
        }
        for i in 0..<6 {
            var up = y, down = y
            up[i] += 1e-5
            down[i] -= 1e-5
            #expect(abs(Double(seed.scalars[i]) - (t(up) - t(down)) / 2e-5) < 1e-5)
        }
        #expect(throws: ExplainError.self) { try FinerTarget.parseRanks("0,1") }
        #expect(throws: ExplainError.self) { try finer.seed(for: try Tensor(shape: [1, 6], scalars: y.map(Float.init)), target: .all) }
    }
}
