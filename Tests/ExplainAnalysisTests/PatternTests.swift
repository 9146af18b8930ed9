import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// PatternNet and PatternAttribution: the paper's two-dimensional example, the pattern statistics
/// of a convolution against a loop written out here, and the weight gradients they rest on.
@Suite struct PatternTests {
    static let registry: Registry = {
        var r = Registry()
        for p in defaultPlugins() { try? p.register(into: &r) }
        return r
    }()

    /// x = a_s·s + a_d·d with s and d uncorrelated (also within s > 0, since every (s, d) comes with
    /// (s, −d)), and a filter w with wᵀa_s = 1, wᵀa_d = 0: y = s, and the pattern is a_s.
    @Test(arguments: ["linear", "relu"])
    func recoversTheSignalDirection(_ estimator: String) throws {
        let aS: [Float] = [1, 1], aD: [Float] = [1, -2]   // w = (2/3, 1/3): wᵀa_s = 1, wᵀa_d = 0
        let w: [Float] = [2.0 / 3, 1.0 / 3]
        var data: [Float] = []
        for (s, d) in [(-2, 1), (-1, 3), (0.5, 2), (1, 1), (2, 0.5), (3, 4)] as [(Float, Float)] {
            for dd in [d, -d] { data += [aS[0] * s + aD[0] * dd, aS[1] * s + aD[1] * dd] }
        }
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2])
        let y = try b.add(try Dense(weight: try Tensor(shape: [1, 2], scalars: w)), inputs: [x], name: "fc")
        let model = ExplainableModel(graph: try b.build(outputs: [y]))
        let patterns = try Patterns(model: model, data: try Tensor(shape: [12, 2], scalars: data), estimator: Patterns.Estimator(rawValue: estimator)!)
        let a = try #require(patterns.byNode["fc"]).scalars
        #expect(abs(a[0] - 1) < 1e-5 && abs(a[1] - 1) < 1e-5, "\(a)")

        var options = Options(["data": "file:d", "estimator": estimator])
        options.tensors["data"] = try Tensor(shape: [12, 2], scalars: data)
        let input = try Tensor(shape: [1, 2], scalars: [aS[0] * 1.5 + aD[0] * 0.7, aS[1] * 1.5 + aD[1] * 0.7])   // s = 1.5
        let net = try Self.registry.makeAnalyzer("pattern_net", model: model, options: options).analyze(input, target: .index(0))
        #expect(abs(net.values.scalars[0] - 1.5) < 1e-4 && abs(net.values.scalars[1] - 1.5) < 1e-4, "signal a_s·y: \(net.values.scalars)")
        #expect(net.delta == nil)
        let attribution = try Self.registry.makeAnalyzer("pattern_attribution", model: model, options: options).analyze(input, target: .index(0))
        #expect(abs(attribution.values.scalars[0] - w[0] * 1.5) < 1e-4 && abs(attribution.values.scalars[1] - w[1] * 1.5) < 1e-4)
    }

    /// A padded, strided convolution with bias: the patterns equal cov / (wᵀcov) computed here from
    /// explicit patches, for both estimators.
    @Test(arguments: ["linear", "relu"])
    func convolutionPatternsMatchExplicitPatches(_ estimator: String) throws {
        var rng = TestRandom(seed: 3)
        let weight = rng.tensor([2, 2, 3, 3]), bias = rng.tensor([2])
        let conv = try Conv2D(weight: weight, bias: bias, strides: (2, 1), pads: (1, 1, 1, 1))
        var b = GraphBuilder()
        let x = b.addInput(name: "x", shape: [nil, 2, 5, 4])
        let y = try b.add(conv, inputs: [x], name: "conv")
        let model = ExplainableModel(graph: try b.build(outputs: [y]))
        let data = rng.tensor([7, 2, 5, 4])
        let patterns = try Patterns(model: model, data: data, estimator: Patterns.Estimator(rawValue: estimator)!, batchSize: 3)
        let got = try #require(patterns.byNode["conv"])
        let out = try conv.forward([data])
        let (oh, ow) = (out.shape[2], out.shape[3])
        for j in 0..<2 {
            var n = 0.0, sy = 0.0, sx = [Double](repeating: 0, count: 18), sxy = sx
            for s in 0..<7 { for r in 0..<oh { for c in 0..<ow {
                let v = Double(out.scalars[((s * 2 + j) * oh + r) * ow + c])
                if estimator == "relu" && v <= 0 { continue }
                var patch = [Double](repeating: 0, count: 18)
                for ch in 0..<2 { for ki in 0..<3 { for kj in 0..<3 {
                    let (ih, iw) = (r * 2 - 1 + ki, c - 1 + kj)
                    if ih >= 0 && ih < 5 && iw >= 0 && iw < 4 { patch[(ch * 3 + ki) * 3 + kj] = Double(data.scalars[((s * 2 + ch) * 5 + ih) * 4 + iw]) }
                } } }
                n += 1; sy += v
                for e in 0..<18 { sx[e] += patch[e]; sxy[e] += patch[e] * v }
            } } }
            let cov = (0..<18).map { sxy[$0] / n - sx[$0] / n * sy / n }
            let scale = (0..<18).reduce(0.0) { $0 + Double(weight.scalars[j * 18 + $1]) * cov[$1] }
            for e in 0..<18 {
                #expect(abs(Double(got.scalars[j * 18 + e]) - cov[e] / scale) < 1e-3 * max(1, abs(cov[e] / scale)), "channel \(j) element \(e)")
            }
        }
    }

    /// A Dense layer over tokens `(N, T, in)`: its outputs lie on the last axis, so its patterns are
    /// those of the same layer over the `N·T` token rows `(N·T, in)`.
    @Test(arguments: ["linear", "relu"])
    func tokenDensePatternsAreThoseOfItsRows(_ estimator: String) throws {
        var rng = TestRandom(seed: 5)
        let dense = try Dense(weight: rng.tensor([3, 4]), bias: rng.tensor([3]))
        func patterns(_ shape: [Int?], _ data: Tensor) throws -> Tensor {
            var b = GraphBuilder()
            let x = b.addInput(name: "x", shape: shape)
            let y = try b.add(dense, inputs: [x], name: "fc")
            let model = ExplainableModel(graph: try b.build(outputs: [y]))
            return try #require(try Patterns(model: model, data: data, estimator: Patterns.Estimator(rawValue: estimator)!, batchSize: 2).byNode["fc"])
        }
        let tokens = rng.tensor([5, 6, 4])
        let a = try patterns([nil, 6, 4], tokens), b = try patterns([nil, 4], try tokens.reshaped([30, 4]))
        #expect(Deviation(a, b).relL2 < 1e-5, "\(Deviation(a, b))")
    }

    /// Weight gradients of Dense and of a grouped, strided Conv against sums written out here.
    @Test func weightGradients() throws {
        var rng = TestRandom(seed: 5)
        let dense = try Dense(weight: rng.tensor([3, 4]))
        let xd = rng.tensor([5, 4]), cd = rng.tensor([5, 3])
        let gd = try dense.weightGradient(input: xd, cotangent: cd)
        for o in 0..<3 { for i in 0..<4 {
            let expected = (0..<5).reduce(0.0) { $0 + Double(cd.scalars[$1 * 3 + o]) * Double(xd.scalars[$1 * 4 + i]) }
            #expect(abs(Double(gd.scalars[o * 4 + i]) - expected) < 1e-5)
        } }
        let conv = try Conv2D(weight: rng.tensor([4, 1, 2, 2]), strides: (2, 2), groups: 2)
        let x = rng.tensor([2, 2, 4, 4]), cot = rng.tensor([2, 4, 2, 2])
        let g = try conv.weightGradient(input: x, cotangent: cot)
        for m in 0..<4 { for ki in 0..<2 { for kj in 0..<2 {
            let ch = m / 2   // group of output channel m
            var expected = 0.0
            for s in 0..<2 { for r in 0..<2 { for c in 0..<2 {
                expected += Double(cot.scalars[((s * 4 + m) * 2 + r) * 2 + c]) * Double(x.scalars[((s * 2 + ch) * 4 + r * 2 + ki) * 4 + c * 2 + kj])
            } } }
            #expect(abs(Double(g.scalars[(m * 2 + ki) * 2 + kj]) - expected) < 1e-5)
        } } }
        #expect(throws: ExplainError.self) { try conv.weightGradient(input: x, cotangent: Tensor(shape: [2, 4, 3, 3])) }
    }

    @Test func patternMethodsNeedData() throws {
        let dir = TestPaths.reference + "/digits-cnn"
        let imported = try ONNXImporter.load(path: dir + "/model.onnx")
        let model = ExplainableModel(graph: imported.graph, output: imported.logits)
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try Self.registry.makeAnalyzer("pattern_net", model: model) }.contains("data=file:"))
        var wrong = Options(["data": "file:d"])
        wrong.tensors["data"] = Tensor(shape: [3, 1, 8, 8])
        #expect(message { _ = try Self.registry.makeAnalyzer("pattern_attribution", model: model, options: wrong) }.contains("shape"))
        var estimator = Options(["data": "file:d", "estimator": "cubic"])
        estimator.tensors["data"] = Tensor(shape: [3, 1, 16, 16])
        #expect(message { _ = try Self.registry.makeAnalyzer("pattern_net", model: model, options: estimator) }.contains("relu or linear"))
    }
}
