import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// Each LRP rule against a dense-matrix replica written here from the formulas, on random Dense
/// and Conv layers (padding, stride, groups) with signed inputs, and with non-negative inputs (as
/// after a Relu, where the rules skip the x⁻ terms and γ derives both denominators from one product).
@Suite struct ReplicaTests {
    /// A layer as a dense matrix `M[j][i]` (output j, input i) built from basis vectors, plus its bias per output.
    struct Dense64 {
        var m: [[Double]]
        var b: [Double]
        var nIn: Int { m.first?.count ?? 0 }
        var nOut: Int { m.count }
    }

    static func matrix(_ layer: any AffineLayer, inputShape: [Int], weight: Tensor? = nil) throws -> Dense64 {
        let probe = try layer.with(weight: weight ?? layer.weight, bias: nil)
        let n = inputShape.reduce(1, *)
        var columns: [[Float]] = []
        for i in 0..<n {
            var e = [Float](repeating: 0, count: n)
            e[i] = 1
            columns.append(try probe.forward([try Tensor(shape: inputShape, scalars: e)]).scalars)
        }
        let outCount = columns[0].count
        let m = (0..<outCount).map { j in (0..<n).map { i in Double(columns[i][j]) } }
        let zeroOut = try layer.forward([Tensor(shape: inputShape)]).scalars.map(Double.init)   // = bias per output
        return Dense64(m: m, b: zeroOut)
    }

    static func stab(_ z: Double, _ e: Double) -> Double { z >= 0 ? z + e : z - e }

    /// Generic replica: R_i = Σ_k sign_k in_k[i] Σ_j M_k[j][i] s_j, s = R / stab(Σ_k sign_k (M_k in_k + b_k)).
    static func generic(_ terms: [(m: Dense64, input: [Double], bias: [Double], sign: Double)], _ r: [Double], eps: Double,
                        mask: ((Int) -> Bool)? = nil) -> [Double] {
        let nOut = r.count, nIn = terms[0].input.count
        var z = [Double](repeating: 0, count: nOut)
        for t in terms { for j in 0..<nOut {
            var acc = t.bias[j]
            for i in 0..<nIn { acc += t.m.m[j][i] * t.input[i] }
            z[j] += t.sign * acc
        } }
        let s = (0..<nOut).map { j in (mask?(j) ?? true) ? r[j] / stab(z[j], eps) : 0 }
        var out = [Double](repeating: 0, count: nIn)
        for t in terms { for i in 0..<nIn {
            var acc = 0.0
            for j in 0..<nOut { acc += t.m.m[j][i] * s[j] }
            out[i] += t.sign * t.input[i] * acc
        } }
        return out
    }

    struct Case: CustomStringConvertible, @unchecked Sendable {
        var name: String
        var layer: any AffineLayer
        var inputShape: [Int]
        var description: String { name }
    }

    static var cases: [Case] {
        var rng = TestRandom(seed: 5)
        return [
            Case(name: "dense", layer: try! Dense(weight: rng.tensor([4, 6]), bias: rng.tensor([4])), inputShape: [1, 6]),
            Case(name: "conv pad 1", layer: try! Conv2D(weight: rng.tensor([3, 2, 3, 3]), bias: rng.tensor([3]), pads: (1, 1, 1, 1)), inputShape: [1, 2, 4, 4]),
            Case(name: "conv stride 2 asym pad", layer: try! Conv2D(weight: rng.tensor([2, 2, 3, 3]), bias: rng.tensor([2]), strides: (2, 2), pads: (0, 1, 1, 0)), inputShape: [1, 2, 5, 5]),
            Case(name: "conv groups 2", layer: try! Conv2D(weight: rng.tensor([4, 1, 2, 2]), bias: rng.tensor([4]), pads: (1, 1, 0, 0), groups: 2), inputShape: [1, 2, 3, 3]),
            Case(name: "conv groups 2, batch 2", layer: try! Conv2D(weight: rng.tensor([4, 1, 2, 2]), bias: rng.tensor([4]), pads: (1, 1, 0, 0), groups: 2), inputShape: [2, 2, 3, 3]),
            Case(name: "conv dilated, stride 2, batch 2", layer: try! Conv2D(weight: rng.tensor([3, 2, 3, 3]), bias: rng.tensor([3]), strides: (2, 1), pads: (2, 1, 1, 2), dilations: (2, 2)), inputShape: [2, 2, 7, 6]),
            Case(name: "dense, batch 3", layer: try! Dense(weight: rng.tensor([4, 6]), bias: rng.tensor([4])), inputShape: [3, 6]),
            Case(name: "dense on tokens (N, T, F)", layer: try! Dense(weight: rng.tensor([4, 6]), bias: rng.tensor([4])), inputShape: [2, 3, 6]),
        ]
    }

    /// A graph of one layer (node "layer") and its output value.
    static func oneLayer(_ layer: any Layer) throws -> (graph: Graph, output: ValueID) {
        var b = GraphBuilder()
        let input = b.addInput(name: "x")
        let out = try b.add(layer, inputs: [input], name: "layer")
        return (try b.build(outputs: [out]), out)
    }

    /// Runs a rule through a one-node graph and the backward engine.
    static func run(_ rule: any Rule, _ c: Case, x: Tensor, r: Tensor) throws -> [Double] {
        let (graph, out) = try oneLayer(c.layer)
        let bound = try BoundGraph(graph, preset: Preset("p") { when(.affine, use: rule) })
        var acts = try graph.forward([x], retain: .all)
        return try bound.backward(&acts, seeds: [out: r]).inputs[0].scalars.map(Double.init)
    }

    static func check(_ got: [Double], _ want: [Double], _ what: String) {
        let scale = max(want.map(abs).max() ?? 1, 1e-3)
        let err = zip(got, want).map { abs($0 - $1) }.max() ?? 0
        #expect(err <= 2e-4 * scale, "\(what): max error \(err) (scale \(scale))")
    }

    @Test(arguments: cases, [true, false])
    func rulesMatchReplicas(_ c: Case, signed: Bool) throws {
        var rng = TestRandom(seed: 17)
        let x = rng.tensor(c.inputShape, signed ? -1...1 : 0...1)
        let y = try c.layer.forward([x])
        let r = rng.tensor(y.shape, -1...1)
        let xs = x.scalars.map(Double.init), rs = r.scalars.map(Double.init)
        let pos = xs.map { max($0, 0) }, neg = xs.map { min($0, 0) }, ones = xs.map { _ in 1.0 }
        let full = try Self.matrix(c.layer, inputShape: c.inputShape)
        let wp = try Self.matrix(c.layer, inputShape: c.inputShape, weight: ParameterMapTest.positive(c.layer.weight))
        let wn = try Self.matrix(c.layer, inputShape: c.inputShape, weight: ParameterMapTest.negative(c.layer.weight))
        let b = full.b, bp = b.map { max($0, 0) }, bn = b.map { min($0, 0) }, zero = b.map { _ in 0.0 }

        // Epsilon (and LRP-0 = epsilon 1e-6)
        for eps in [1e-6, 0.25] {
            Self.check(try Self.run(try EpsilonRule(epsilon: Float(eps)), c, x: x, r: r),
                       Self.generic([(full, xs, b, 1)], rs, eps: eps), "\(c) epsilon(\(eps))")
        }
        Self.check(try Self.run(try EpsilonRule(epsilon: 0.1, ignoreBias: true), c, x: x, r: r),
                   Self.generic([(full, xs, zero, 1)], rs, eps: 0.1), "\(c) epsilon IB")
        // Alpha-beta / z+
        let plusTerms = [(full: wp, input: pos, bias: bp, sign: 1.0), (full: wn, input: neg, bias: zero, sign: 1.0)].map { (m: $0.full, input: $0.input, bias: $0.bias, sign: $0.sign) }
        let minusTerms = [(m: wn, input: pos, bias: bn, sign: 1.0), (m: wp, input: neg, bias: zero, sign: 1.0)]
        let zplus = Self.generic(plusTerms, rs, eps: 1e-6)
        Self.check(try Self.run(try ZPlusRule(), c, x: x, r: r), zplus, "\(c) z+")
        let ab = zip(zplus, Self.generic(minusTerms, rs, eps: 1e-6)).map { 2 * $0 - $1 }
        Self.check(try Self.run(try AlphaBetaRule(alpha: 2, beta: 1), c, x: x, r: r), ab, "\(c) alpha2beta1")
        // Gamma
        let g = 0.25
        let gp = try Self.matrix(c.layer, inputShape: c.inputShape, weight: ParameterMapTest.plus(c.layer.weight, Float(g), positive: true))
        let gn = try Self.matrix(c.layer, inputShape: c.inputShape, weight: ParameterMapTest.plus(c.layer.weight, Float(g), positive: false))
        let bgp = b.map { $0 + g * max($0, 0) }, bgn = b.map { $0 + g * min($0, 0) }
        let z = y.scalars.map(Double.init)
        let up = Self.generic([(gp, pos, bgp, 1), (gn, neg, zero, 1)], rs, eps: 1e-6, mask: { z[$0] > 0 })
        let down = Self.generic([(gn, pos, bgn, 1), (gp, neg, zero, 1)], rs, eps: 1e-6, mask: { z[$0] < 0 })
        Self.check(try Self.run(try GammaRule(gamma: Float(g)), c, x: x, r: r), zip(up, down).map(+), "\(c) gamma")
        // Flat and w²
        let conn = try Self.matrix(c.layer, inputShape: c.inputShape, weight: Tensor(shape: c.layer.weight.shape, repeating: 1))
        Self.check(try Self.run(FlatRule(), c, x: x, r: r), Self.generic([(conn, ones, zero, 1)], rs, eps: 1e-6), "\(c) flat")
        let sq = try Self.matrix(c.layer, inputShape: c.inputShape, weight: ParameterMapTest.squared(c.layer.weight))
        Self.check(try Self.run(WSquareRule(), c, x: x, r: r), Self.generic([(sq, ones, b.map { $0 * $0 }, 1)], rs, eps: 1e-6), "\(c) w²")
        // ZBox
        let (lo, hi) = (-1.5, 2.0)
        let zb = Self.generic([(full, xs, zero, 1), (wp, xs.map { _ in lo }, zero, -1), (wn, xs.map { _ in hi }, zero, -1)], rs, eps: 1e-6)
        Self.check(try Self.run(try ZBoxRule(low: Float(lo), high: Float(hi)), c, x: x, r: r), zb, "\(c) zbox")
        // ZBox with one bound per input channel (folded into one bound weight) and with bounds that
        // vary over the sample (the general path).
        let channels = c.inputShape[1], plane = c.inputShape.dropFirst(2).reduce(1, *), sample = xs.count / c.inputShape[0]
        let lowC = (0..<channels).map { -1.0 - 0.25 * Double($0) }, highC = (0..<channels).map { 1.0 + 0.5 * Double($0) }
        let zbc = Self.generic([(full, xs, zero, 1), (wp, xs.indices.map { lowC[$0 / plane % channels] }, zero, -1),
                                (wn, xs.indices.map { highC[$0 / plane % channels] }, zero, -1)], rs, eps: 1e-6)
        let perChannel = try ZBoxRule(low: Tensor(shape: [channels], scalars: lowC.map(Float.init)),
                                      high: Tensor(shape: [channels], scalars: highC.map(Float.init)))
        Self.check(try Self.run(perChannel, c, x: x, r: r), zbc, "\(c) zbox per channel")
        let lowS = (0..<sample).map { -0.5 - 0.03 * Double($0) }, highS = (0..<sample).map { 0.5 + 0.02 * Double($0) }
        let zbs = Self.generic([(full, xs, zero, 1), (wp, xs.indices.map { lowS[$0 % sample] }, zero, -1),
                                (wn, xs.indices.map { highS[$0 % sample] }, zero, -1)], rs, eps: 1e-6)
        let sampleShape = Array(c.inputShape.dropFirst())
        let varying = try ZBoxRule(low: Tensor(shape: sampleShape, scalars: lowS.map(Float.init)),
                                   high: Tensor(shape: sampleShape, scalars: highS.map(Float.init)))
        Self.check(try Self.run(varying, c, x: x, r: r), zbs, "\(c) zbox varying over the sample")
    }

    /// Bounds of shape (H, 1) with H equal to the channel count vary over rows, not channels: ZBox
    /// must not take them for per-channel bounds.
    @Test func zboxRowBoundsAreNotChannelBounds() throws {
        var rng = TestRandom(seed: 29)
        let c = Case(name: "conv", layer: try Conv2D(weight: rng.tensor([3, 2, 3, 3]), pads: (1, 1, 1, 1)), inputShape: [2, 2, 2, 3])
        let x = rng.tensor(c.inputShape, -1...1)
        let r = rng.tensor(try c.layer.outputShape([c.inputShape]), -1...1)
        let xs = x.scalars.map(Double.init), zero = [Double](repeating: 0, count: r.count)
        let (lowRows, highRows) = ([-1.0, -2.0], [1.5, 0.5])
        let row = { (i: Int) in i / 3 % 2 }   // (N, C, H = 2, W = 3)
        let full = try Self.matrix(c.layer, inputShape: c.inputShape)
        let wp = try Self.matrix(c.layer, inputShape: c.inputShape, weight: ParameterMapTest.positive(c.layer.weight))
        let wn = try Self.matrix(c.layer, inputShape: c.inputShape, weight: ParameterMapTest.negative(c.layer.weight))
        let want = Self.generic([(full, xs, zero, 1), (wp, xs.indices.map { lowRows[row($0)] }, zero, -1),
                                 (wn, xs.indices.map { highRows[row($0)] }, zero, -1)], r.scalars.map(Double.init), eps: 1e-6)
        let rule = try ZBoxRule(low: Tensor(shape: [2, 1], scalars: lowRows.map(Float.init)), high: Tensor(shape: [2, 1], scalars: highRows.map(Float.init)))
        Self.check(try Self.run(rule, c, x: x, r: r), want, "zbox with (H, 1) bounds")
    }

    /// ZBox keeps its bound products per sample shape in the binding: one binding used on batches of
    /// other sizes and shapes gives what a fresh binding gives, bit for bit.
    @Test func zboxBoundProductsAreKeptPerSampleShape() throws {
        var rng = TestRandom(seed: 23)
        let layer = try Conv2D(weight: rng.tensor([3, 2, 3, 3]), bias: rng.tensor([3]), pads: (1, 1, 1, 1))
        let (graph, out) = try Self.oneLayer(layer)
        let preset = Preset("p") { when(.affine, use: try! ZBoxRule(low: -1, high: 2)) }
        let kept = try BoundGraph(graph, preset: preset)
        for shape in [[2, 2, 5, 5], [1, 2, 4, 6], [3, 2, 5, 5]] {
            let x = rng.tensor(shape, -1...2)
            var acts = try graph.forward([x], retain: .all)
            let r = rng.tensor(try layer.outputShape([shape]), -1...1)
            let reused = try kept.backward(&acts, seeds: [out: r]).inputs[0]
            var again = try graph.forward([x], retain: .all)
            let fresh = try BoundGraph(graph, preset: preset).backward(&again, seeds: [out: r]).inputs[0]
            #expect(reused == fresh, "\(shape)")
        }
    }
}

/// Weight maps for the replicas (kept independent of the module's own helpers).
enum ParameterMapTest {
    static func map(_ t: Tensor, _ f: (Float) -> Float) -> Tensor { try! Tensor(shape: t.shape, scalars: t.scalars.map(f)) }
    static func positive(_ t: Tensor) -> Tensor { map(t) { max($0, 0) } }
    static func negative(_ t: Tensor) -> Tensor { map(t) { min($0, 0) } }
    static func squared(_ t: Tensor) -> Tensor { map(t) { $0 * $0 } }
    static func plus(_ t: Tensor, _ g: Float, positive: Bool) -> Tensor { map(t) { $0 + g * (positive ? max($0, 0) : min($0, 0)) } }
}
