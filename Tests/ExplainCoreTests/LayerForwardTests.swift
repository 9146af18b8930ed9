import ExplainCore
import ExplainTestSupport
import Foundation
import Testing

/// Fast layers against direct loops.
@Suite struct LayerForwardTests {
    struct ConvCase: CustomStringConvertible, Sendable {
        var c: Int, m: Int, k: (Int, Int), stride: (Int, Int), pads: (Int, Int, Int, Int), dilation: (Int, Int), groups: Int, bias: Bool
        var description: String { "c\(c) m\(m) k\(k) s\(stride) p\(pads) d\(dilation) g\(groups) bias \(bias)" }
    }

    static let convCases: [ConvCase] = [
        ConvCase(c: 3, m: 8, k: (3, 3), stride: (1, 1), pads: (1, 1, 1, 1), dilation: (1, 1), groups: 1, bias: true),   // VGG
        ConvCase(c: 3, m: 4, k: (7, 7), stride: (2, 2), pads: (3, 3, 3, 3), dilation: (1, 1), groups: 1, bias: false),  // ResNet stem
        ConvCase(c: 8, m: 16, k: (1, 1), stride: (2, 2), pads: (0, 0, 0, 0), dilation: (1, 1), groups: 1, bias: false), // downsample
        ConvCase(c: 8, m: 6, k: (1, 1), stride: (1, 1), pads: (0, 0, 0, 0), dilation: (1, 1), groups: 1, bias: true),   // pointwise
        ConvCase(c: 8, m: 8, k: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1), dilation: (1, 1), groups: 8, bias: false), // depthwise
        ConvCase(c: 5, m: 5, k: (7, 7), stride: (1, 1), pads: (3, 3, 3, 3), dilation: (1, 1), groups: 5, bias: true),  // depthwise 7×7 (ConvNeXt)
        ConvCase(c: 4, m: 4, k: (3, 2), stride: (2, 3), pads: (0, 2, 1, 0), dilation: (2, 1), groups: 4, bias: true),  // depthwise, odd
        ConvCase(c: 3, m: 3, k: (5, 5), stride: (1, 1), pads: (4, 3, 4, 5), dilation: (2, 2), groups: 3, bias: true),  // depthwise dilated, wider than 8
        ConvCase(c: 4, m: 8, k: (3, 3), stride: (1, 1), pads: (0, 1, 1, 0), dilation: (1, 1), groups: 1, bias: true),  // asymmetric (TF SAME)
        ConvCase(c: 6, m: 6, k: (3, 3), stride: (1, 1), pads: (2, 2, 2, 2), dilation: (2, 2), groups: 3, bias: true),  // dilated, grouped
        ConvCase(c: 4, m: 4, k: (3, 2), stride: (2, 1), pads: (0, 1, 2, 0), dilation: (1, 2), groups: 2, bias: true),  // odd shapes
    ]

    @Test(arguments: convCases)
    func convMatchesDirectLoop(_ k: ConvCase) throws {
        var rng = TestRandom(seed: 7)
        let x = rng.tensor([2, k.c, 9, 10])
        let w = rng.tensor([k.m, k.c / k.groups, k.k.0, k.k.1])
        let b = k.bias ? rng.tensor([k.m]) : nil
        let layer = try Conv2D(weight: w, bias: b, strides: k.stride, pads: k.pads, dilations: k.dilation, groups: k.groups)
        let fast = try layer.forward([x])
        let slow = Naive.conv(x, w, b, stride: k.stride, pads: k.pads, dilation: k.dilation, groups: k.groups)
        #expect(fast.shape == slow.shape)
        let d = Deviation(fast, slow)
        #expect(d.maxAbs < 1e-5, "\(k): \(d)")
    }

    @Test func denseMatchesDirectLoop() throws {
        var rng = TestRandom(seed: 3)
        let x = rng.tensor([3, 5]), w = rng.tensor([4, 5]), b = rng.tensor([4])
        let y = try Dense(weight: w, bias: b).forward([x])
        for i in 0..<3 { for j in 0..<4 {
            var acc = b.scalars[j]
            for k in 0..<5 { acc += x.scalars[i * 5 + k] * w.scalars[j * 5 + k] }
            #expect(abs(y.scalars[i * 4 + j] - acc) < 1e-5)
        } }
        // transA: the input laid out as (in, N).
        let yt = try Dense(weight: w, bias: b, transposeInput: true).forward([try x.transposed([1, 0])])
        #expect(Deviation(yt, y).maxAbs < 1e-6)
    }

    @Test(arguments: [false, true])
    func poolingMatchesDirectLoop(_ ceil: Bool) throws {
        var rng = TestRandom(seed: 11)
        let x = rng.tensor([2, 3, 9, 8])
        for (k, s, p) in [((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 3), (2, 2), (1, 1, 1, 1)), ((3, 2), (2, 1), (1, 0, 0, 1))] {
            let mp = try MaxPool2D(kernel: k, strides: s, pads: p, ceilMode: ceil).forward([x])
            #expect(Deviation(mp, Naive.pool(x, kernel: k, stride: s, pads: p, max: true, ceil: ceil)).maxAbs == 0)
            for include in [false, true] {
                let ap = try AveragePool2D(kernel: k, strides: s, pads: p, ceilMode: ceil, countIncludePad: include).forward([x])
                let ref = Naive.pool(x, kernel: k, stride: s, pads: p, max: false, ceil: ceil, countIncludePad: include)
                #expect(ap.shape == ref.shape)
                #expect(Deviation(ap, ref).maxAbs < 1e-6, "k\(k) s\(s) p\(p) ceil \(ceil) include \(include)")
            }
        }
    }

    @Test func batchNormSoftmaxAndElementwise() throws {
        var rng = TestRandom(seed: 5)
        let x = rng.tensor([2, 3, 2, 2])
        let scale = rng.tensor([3]), bias = rng.tensor([3]), mean = rng.tensor([3]), variance = rng.tensor([3], 0.5...2)
        let y = try BatchNorm(scale: scale, bias: bias, mean: mean, variance: variance, epsilon: 1e-5).forward([x])
        for i in 0..<x.count {
            let c = (i / 4) % 3
            let ref = (Double(x.scalars[i]) - Double(mean.scalars[c])) / (Double(variance.scalars[c]) + 1e-5).squareRoot()
                * Double(scale.scalars[c]) + Double(bias.scalars[c])
            #expect(abs(Double(y.scalars[i]) - ref) < 1e-5)
        }
        let s = try Softmax(axis: 1).forward([x])
        for n in 0..<2 { for p in 0..<4 {
            let vals = (0..<3).map { Double(x.scalars[(n * 3 + $0) * 4 + p]) }
            let z = vals.map { Foundation.exp($0) }.reduce(0, +)
            for c in 0..<3 { #expect(abs(Double(s.scalars[(n * 3 + c) * 4 + p]) - Foundation.exp(vals[c]) / z) < 1e-6) }
        } }
        // Broadcasting: (2,3,2,2) − (3,1,1) and (1,) ÷ tensor.
        let c = rng.tensor([3, 1, 1])
        let sub = try Binary(.sub, constant: c).forward([x])
        for i in 0..<x.count { #expect(sub.scalars[i] == x.scalars[i] - c.scalars[(i / 4) % 3]) }
        let t = try Transpose(perm: [0, 2, 3, 1]).forward([x])
        #expect(t.shape == [2, 2, 2, 3])
        #expect(try t.element(at: [1, 0, 1, 2]) == (try x.element(at: [1, 2, 0, 1])))
        let padded = try Pad(pads: [0, 0, 1, 0, 0, 0, 0, 2], value: 9).forward([x])
        #expect(padded.shape == [2, 3, 3, 4])
        #expect(try padded.element(at: [1, 2, 0, 0]) == 9)
        #expect(try padded.element(at: [1, 2, 1, 1]) == (try x.element(at: [1, 2, 0, 1])))
        let r = try Reduce(.mean, axes: [2, 3], keepDims: false).forward([x])
        #expect(r.shape == [2, 3])
        #expect(abs(r.scalars[4] - (x.scalars[16..<20].reduce(0, +) / 4)) < 1e-6)
        let cat = try Concat(axis: 1, inputCount: 2).forward([x, sub])
        #expect(cat.shape == [2, 6, 2, 2])
        #expect(try cat.element(at: [1, 4, 1, 0]) == (try sub.element(at: [1, 1, 1, 0])))
    }

    @Test func maxPoolTiesGoToFirstElement() throws {
        // An all-zero window (as after a Relu): the first element in row-major order wins.
        let x = Tensor(shape: [1, 1, 2, 2])
        let layer = try MaxPool2D(kernel: (2, 2))
        let y = try layer.forward([x])
        let g = try layer.pullback(inputs: [x], output: y, cotangent: Tensor(shape: [1, 1, 1, 1], repeating: 1))[0]
        #expect(g.scalars == [1, 0, 0, 0])
        let x2 = try Tensor(shape: [1, 1, 2, 2], scalars: [1, 3, 3, 2])
        let g2 = try layer.pullback(inputs: [x2], output: try layer.forward([x2]), cotangent: Tensor(shape: [1, 1, 1, 1], repeating: 1))[0]
        #expect(g2.scalars == [0, 1, 0, 0])
    }

    @Test func reluDerivativeAtZeroIsZero() throws {
        let x = try Tensor(shape: [3], scalars: [-1, 0, 2])
        let y = try Relu().forward([x])
        let g = try Relu().pullback(inputs: [x], output: y, cotangent: Tensor(shape: [3], repeating: 1))[0]
        #expect(g.scalars == [0, 0, 1])
    }

    /// NaN passes through a Relu (as in PyTorch), in place and not, on a tensor split over the
    /// cores; its derivative there is 0.
    @Test func reluKeepsNaN() throws {
        var values = [Float](repeating: -1, count: 1 << 17)
        values[3] = .nan; values[1 << 16] = .nan; values[5] = 2
        let x = try Tensor(shape: [values.count], scalars: values)
        var inPlace = x
        try Relu().forwardInPlace(&inPlace)
        for y in [try Relu().forward([x]), inPlace] {
            #expect(y.scalars[3].isNaN && y.scalars[1 << 16].isNaN && y.scalars[5] == 2 && y.scalars[0] == 0)
        }
        let g = try Relu().pullback(inputs: [x], output: inPlace, cotangent: Tensor(shape: x.shape, repeating: 1))[0]
        #expect(g.scalars[3] == 0 && g.scalars[5] == 1)
    }

    /// Conv1D against the direct sum `y[m, t] = b[m] + Σ_c Σ_j w[m, c, j] x[c, t·s − p + j·d]`.
    @Test func conv1DMatchesTheDirectSum() throws {
        var rng = TestRandom(seed: 23)
        let x = rng.tensor([2, 3, 10]), w = rng.tensor([4, 3, 3]), b = rng.tensor([4])
        let (s, p, d) = (2, 2, 2)
        let y = try Conv1D(weight: w, bias: b, stride: s, pads: (p, 1), dilation: d).forward([x])
        let length = y.shape[2]
        #expect(y.shape == [2, 4, (10 + p + 1 - d * 2 - 1) / s + 1])
        for n in 0..<2 { for m in 0..<4 { for t in 0..<length {
            var acc = Double(b.scalars[m])
            for c in 0..<3 { for j in 0..<3 {
                let i = t * s - p + j * d
                if i >= 0 && i < 10 { acc += Double(w.scalars[(m * 3 + c) * 3 + j]) * Double(x.scalars[(n * 3 + c) * 10 + i]) }
            } }
            #expect(abs(Double(y.scalars[(n * 4 + m) * length + t]) - acc) < 1e-5)
        } } }
    }

    /// Softmax over the last axis (rows in parallel, eight lanes at a time) against a Double
    /// reference: row lengths around the lane width, large negative and −∞ entries (masks).
    @Test func softmaxRowsMatchDoubleReference() throws {
        var rng = TestRandom(seed: 17)
        for length in [1, 7, 8, 9, 17, 197] {
            var x = rng.tensor([3, length], -8...8)
            if length > 1 { x.withUnsafeMutableBufferPointer { p in p[0] = -.infinity; if p.count > 2 { p[2] = -1000 } } }
            let y = try Softmax(axis: -1).forward([x])
            for r in 0..<3 {
                let row = (0..<length).map { Double(x.scalars[r * length + $0]) }
                let m = row.max()!, e = row.map { exp($0 - m) }, sum = e.reduce(0, +)
                for k in 0..<length { #expect(abs(Double(y.scalars[r * length + k]) - e[k] / sum) <= 2e-7, "length \(length)") }
            }
        }
    }

    /// The vectorised GELU against `x Φ(x)` and `Φ(x) + x φ(x)` in Double with the exact erf, over
    /// [−12, 12] (both the SIMD lanes and the scalar tail): errors within erf's 1.5·10⁻⁷ plus rounding.
    @Test func geluMatchesTheExactFunction() throws {
        let xs = (0..<24_003).map { Float($0) * 0.001 - 12 }
        let x = try Tensor(shape: [xs.count], scalars: xs)
        let y = try Gelu().forward([x])
        let g = try Gelu().pullback(inputs: [x], output: y, cotangent: Tensor(shape: [xs.count], repeating: 1))[0]
        for (i, v) in xs.enumerated() {
            let d = Double(v), cdf = 0.5 * (1 + erf(d / 2.0.squareRoot())), pdf = exp(-d * d / 2) / (2 * Double.pi).squareRoot()
            #expect(abs(Double(y.scalars[i]) - d * cdf) <= 2e-7 * max(1, abs(d)), "x = \(v)")
            #expect(abs(Double(g.scalars[i]) - (cdf + d * pdf)) <= 3e-7 * max(1, abs(d)), "x = \(v)")
        }
        #expect(Gelu().value(-20) == 0 && Gelu().value(20) == 20)
    }
}

/// Max pooling on planes large enough to be split over the cores, with ties, NaN and −∞ windows:
/// forward and pullback against a direct loop (first maximum in row-major order wins, a NaN wins),
/// the pullback with a preceding Relu's mask fused, and both from the recorded winners.
@Suite struct MaxPoolRoutingTests {
    static func naive(_ x: Tensor, kernel k: Int, stride s: Int, pad p: Int, g: Tensor) -> (Tensor, Tensor) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        var y = [Float](repeating: 0, count: n * c * oh * ow), dx = [Float](repeating: 0, count: x.count)
        for plane in 0..<(n * c) { for i in 0..<oh { for j in 0..<ow {
            var best = -Float.infinity, at = -1
            for a in 0..<k { for b in 0..<k {
                let r = i * s - p + a, q = j * s - p + b
                guard r >= 0, r < h, q >= 0, q < w else { continue }
                let v = x.scalars[(plane * h + r) * w + q]
                if at < 0 || (!best.isNaN && (v > best || v.isNaN)) { best = v; at = (plane * h + r) * w + q }
            }}
            let o = (plane * oh + i) * ow + j
            y[o] = best
            dx[at] += g.scalars[o]
        }}}
        return (try! Tensor(shape: [n, c, oh, ow], scalars: y), try! Tensor(shape: x.shape, scalars: dx))
    }

    @Test(arguments: [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
    func routingMatchesDirectLoop(_ geometry: (Int, Int, Int)) throws {
        let (k, s, p) = geometry
        var rng = TestRandom(seed: 4)
        // Small integers: many ties. A few NaN and a −∞ block.
        var values = rng.tensor([2, 8, 96, 96], -3...3).scalars.map { $0.rounded() }
        for i in stride(from: 17, to: values.count, by: 4099) { values[i] = .nan }
        for r in 0..<4 { for q in 0..<4 { values[r * 96 + q] = -.infinity } }
        let x = try Tensor(shape: [2, 8, 96, 96], scalars: values)
        let layer = try MaxPool2D(kernel: (k, k), strides: (s, s), pads: (p, p, p, p))
        let y = try layer.forward([x])
        let g = rng.tensor(y.shape)
        let (yRef, dxRef) = Self.naive(x, kernel: k, stride: s, pad: p, g: g)
        #expect(y.shape == yRef.shape)
        #expect(zip(y.scalars, yRef.scalars).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        let dx = try layer.pullback(inputs: [x], output: y, cotangent: g)[0]
        #expect(Deviation(dx, dxRef).maxAbs < 1e-5)

        // Fed by a Relu (zeros everywhere, all-zero windows, NaN kept): the fused pullback equals
        // routing followed by the Relu's mask.
        let r = try Tensor(shape: x.shape, scalars: values.map { $0.isNaN ? $0 : max($0, 0) })
        let yr = try layer.forward([r])
        let (_, routed) = Self.naive(r, kernel: k, stride: s, pad: p, g: g)
        let want = zip(routed.scalars, r.scalars).map { $1 > 0 ? $0 : 0 }
        let fused = try layer.pullback(inputs: [r], output: yr, cotangent: g, keepingWherePositive: r)
        #expect(fused.shape == r.shape)
        #expect(zip(fused.scalars, want).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(fused.scalars.contains { $0 != 0 } && want.contains { $0 == 0 })

        // From the winners recorded in the forward pass (what an analysis keeps instead of the
        // input): the same output and the same routing, bit for bit, with and without the mask.
        let (recorded, record) = try layer.forwardRecording(x)
        #expect(zip(recorded.scalars, y.scalars).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        #expect(try layer.pullback(record: record, cotangent: g, keepingWherePositive: false) == dx)
        let (_, reluRecord) = try layer.forwardRecording(r)
        #expect(try layer.pullback(record: reluRecord, cotangent: g, keepingWherePositive: true) == fused)
        #expect(throws: ExplainError.self) { try layer.pullback(record: reluRecord, cotangent: Tensor(shape: [1, 1, 2, 2]), keepingWherePositive: true) }
    }
}

/// A batch-1 dense pullback skips the weight rows whose cotangent is zero: same result as the full product.
@Suite struct DenseSparsePullbackTests {
    @Test(arguments: [0.0, 0.5, 0.95])
    func matchesDirectProduct(_ zeroFraction: Double) throws {
        var rng = TestRandom(seed: 9)
        let (outF, inF) = (1000, 1100)
        let layer = try Dense(weight: rng.tensor([outF, inF]))
        var dy = rng.tensor([1, outF]).scalars
        for i in dy.indices where Double(i % 20) < zeroFraction * 20 { dy[i] = 0 }
        let cotangent = try Tensor(shape: [1, outF], scalars: dy)
        let x = rng.tensor([1, inF])
        let dx = try layer.pullback(inputs: [x], output: try layer.forward([x]), cotangent: cotangent)[0]
        var want = [Double](repeating: 0, count: inF)
        for i in 0..<outF where dy[i] != 0 { for j in 0..<inF { want[j] += Double(dy[i]) * Double(layer.weight.scalars[i * inF + j]) } }
        let err = zip(dx.scalars, want).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(err < 1e-4, "max error \(err)")
    }
}
