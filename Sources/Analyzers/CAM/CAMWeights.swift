import Foundation
import ExplainCore

/// The channel combinations `Σ_c w_c ⊙ A_c` (before the final relu) of the CAM variants, per sample,
/// as `(N, 1, h, w)` tensors. Sums run in Double.
enum CAMWeights {
    /// The gradient-based variants: element-wise (Layer-CAM, HiRes-CAM, element-wise Grad-CAM), the
    /// principal component of `A ⊙ G` (Eigen-Grad-CAM), or one weight per channel.
    static func fromGradient(_ variant: CAMAnalyzer.Variant, activation a: Tensor, gradient g: Tensor) throws -> Tensor {
        guard g.shape == a.shape else { throw ExplainError.shape("gradient \(Shape.format(g.shape)) does not match the feature map \(Shape.format(a.shape))") }
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        if variant == .eigenGradCAM {
            return eigen(activation: Tensor(shape: a.shape) { out in for i in 0..<out.count { out[i] = a.scalars[i] * g.scalars[i] } })
        }
        guard [.layerCAM, .hiResCAM, .gradCAMElementWise].contains(variant) else {
            let weights = a.withUnsafeBufferPointer { pa in g.withUnsafeBufferPointer { pg in
                (0..<n).map { s in (0..<c).map { ch in
                    let base = (s * c + ch) * hw
                    return weight(variant, UnsafeBufferPointer(rebasing: pa[base..<(base + hw)]), UnsafeBufferPointer(rebasing: pg[base..<(base + hw)]))
                } }
            } }
            return combine(a, weights)
        }
        return Tensor(shape: [n, 1, a.shape[2], a.shape[3]]) { out in
            for s in 0..<n {
                var map = [Double](repeating: 0, count: hw)
                for ch in 0..<c {
                    let base = (s * c + ch) * hw
                    for i in 0..<hw {
                        let grad = Double(g.scalars[base + i]), act = Double(a.scalars[base + i])
                        switch variant {
                        case .layerCAM: map[i] += max(grad, 0) * act
                        case .gradCAMElementWise: map[i] += max(grad * act, 0)
                        default: map[i] += grad * act
                        }
                    }
                }
                for i in 0..<hw { out[s * hw + i] = Float(map[i]) }
            }
        }
    }

    /// RandomCAM: `w` uniform in [−1, 1) for each (sample, channel), row by row — numpy's
    /// `np.random.uniform(-1, 1, size=(N, C))` after `np.random.seed(seed)` when `numpy`. The rows
    /// of the first `skipping` samples of the batch are drawn and dropped (a batch run in parts).
    static func random(activation a: Tensor, seed: UInt64, numpy: Bool, skipping first: Int = 0) throws -> Tensor {
        let (n, c) = (a.shape[0], a.shape[1])
        var mt = MersenneTwister(seed: numpy ? try RandomDraws.peerSeed(seed) : 0), rng = SeededGenerator(seed: seed)
        func draw() -> Double { -1 + 2 * (numpy ? mt.nextDouble() : Double(rng.next() >> 11) * 0x1.0p-53) }
        for _ in 0..<(first * c) { _ = draw() }
        return combine(a, (0..<n).map { _ in (0..<c).map { _ in draw() } })
    }

    /// One channel's weight for Grad-CAM, Grad-CAM++ and XGrad-CAM.
    static func weight(_ variant: CAMAnalyzer.Variant, _ a: UnsafeBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>) -> Double {
        let hw = a.count
        switch variant {
        case .gradCAMPlusPlus:
            let sum = a.reduce(0.0) { $0 + Double($1) }
            var w = 0.0
            for i in 0..<hw where g[i] != 0 {
                let g1 = Double(g[i]), g2 = g1 * g1
                w += max(g1, 0) * g2 / (2 * g2 + sum * g2 * g1 + 1e-6)
            }
            return w
        case .xGradCAM:
            let sum = a.reduce(0.0) { $0 + Double($1) }
            var w = 0.0
            for i in 0..<hw { w += Double(g[i]) * Double(a[i]) }
            return w / (sum + 1e-7)
        default:
            return g.reduce(0.0) { $0 + Double($1) } / Double(max(hw, 1))
        }
    }

    /// Score-CAM: `s_c = f_t(x ⊙ M_c)` for masks from each channel, weights `softmax(s)`.
    static func score(activation a: Tensor, input x: Tensor, model: ExplainableModel, seed: Tensor, batchSize: Int) throws -> Tensor {
        guard x.rank == 4 else { throw ExplainError.shape("Score-CAM masks images (N, C, H, W); the input is \(Shape.format(x.shape))") }
        let (n, c, h, w) = (a.shape[0], a.shape[1], x.shape[2], x.shape[3])
        let per = x.count / n, plane = h * w
        let scorer = Scorer(model: model, batchSize: batchSize)
        var weights = [[Double]]()
        for s in 0..<n {
            let masks = try a.sample(s).resizedBilinear(height: h, width: w, alignCorners: true)   // (1, C, H, W)
            let scores = try masks.withUnsafeBufferPointer { pm in
                try x.withUnsafeBufferPointer { px in
                    try scorer.scores(count: c, sampleShape: Array(x.shape.dropFirst()), seed: seed, sample: s) { ch, out in
                        // M_c: channel c's upsampled map scaled to [0, 1].
                        let u = UnsafeBufferPointer(rebasing: pm[(ch * plane)..<((ch + 1) * plane)])
                        let lo = u.min() ?? 0, hi = u.max() ?? 0
                        for i in 0..<per { out[i] = px[s * per + i] * ((u[i % plane] - lo) / (hi - lo + 1e-8)) }
                    }
                }
            }
            let top = scores.max() ?? 0
            let e = scores.map { exp($0 - top) }, total = e.reduce(0, +)
            weights.append(e.map { $0 / total })
        }
        return combine(a, weights)
    }

    /// Ablation-CAM: `w_c = (y − y_c) / y`, `y_c` with channel c of the feature map set to 0. `base` is
    /// the batch's forward pass keeping every value: the ablated copies rerun only the nodes after A.
    static func ablation(activation a: Tensor, at value: ValueID, base: Activations, model: ExplainableModel, seed: Tensor,
                         batchSize: Int) throws -> Tensor {
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        let k = seed.count / n, output = try base.value(model.output)
        var weights = [[Double]]()
        for s in 0..<n {
            let seedRow = Array(seed.scalars[(s * k)..<((s + 1) * k)])
            let y = try Scorer.explained(try output.sample(s), seedRow: seedRow)[0]
            let one = try a.sample(s)
            var ablated = [Double]()
            let size = BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: one.count, graph: model.graph)
            for start in stride(from: 0, to: c, by: size) {
                let m = min(size, c - start)
                var copies = try Tensor.concatenateBatches([Tensor](repeating: one, count: m))
                copies.withUnsafeMutableBufferPointer { p in
                    for j in 0..<m { (p.baseAddress! + (j * c + start + j) * hw).update(repeating: 0, count: hw) }
                }
                let out = try model.graph.forwardTail(from: value, replacement: copies, base: base, sample: s, outputs: [model.output])[0]
                ablated += try Scorer.explained(out, seedRow: seedRow)
            }
            weights.append(ablated.map { y == 0 ? 0 : (y - $0) / y })
        }
        return combine(a, weights)
    }

    /// Eigen-CAM: the projection of the centred positions × channels matrix on its first right
    /// singular vector, signed so that its largest magnitude is positive.
    static func eigen(activation a: Tensor) -> Tensor {
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        return Tensor(shape: [n, 1, a.shape[2], a.shape[3]]) { out in
            a.withUnsafeBufferPointer { pa in
                for s in 0..<n {
                    // R[i][ch]: position i, channel ch, centred per channel.
                    var r = [Double](repeating: 0, count: hw * c)
                    for ch in 0..<c {
                        let base = (s * c + ch) * hw
                        let mean = (0..<hw).reduce(0.0) { $0 + Double(pa[base + $1]) } / Double(hw)
                        for i in 0..<hw { r[i * c + ch] = Double(pa[base + i]) - mean }
                    }
                    var p = SymmetricEigen.firstPrincipalProjection(r, rows: hw, columns: c)
                    if abs(p.min() ?? 0) > abs(p.max() ?? 0) { p = p.map { -$0 } }
                    for i in 0..<hw { out[s * hw + i] = Float(p[i]) }
                }
            }
        }
    }

    /// FEM: `w_c` = the share of positions where `A_c > mean(A_c) + k · std(A_c)` (population
    /// standard deviation), per sample.
    static func fem(activation a: Tensor, sigmas k: Double) -> Tensor {
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        let weights = a.withUnsafeBufferPointer { pa in
            (0..<n).map { s in (0..<c).map { ch in
                let plane = UnsafeBufferPointer(rebasing: pa[((s * c + ch) * hw)..<((s * c + ch + 1) * hw)])
                let mean = plane.reduce(0.0) { $0 + Double($1) } / Double(hw)
                let variance = plane.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(hw)
                let threshold = mean + k * variance.squareRoot()
                return Double(plane.count { Double($0) > threshold }) / Double(hw)
            } }
        }
        return combine(a, weights)
    }

    /// `Σ_c w[s][c] · A[s, c]` per sample.
    /// Grad-CAM's channels kept apart (Captum's `attr_dim_summation=False`): `w_c A_c`, `(N, C, h, w)`.
    static func gradCAMPerChannel(activation a: Tensor, gradient g: Tensor) throws -> Tensor {
        guard g.shape == a.shape else { throw ExplainError.shape("gradient \(Shape.format(g.shape)) does not match the feature map \(Shape.format(a.shape))") }
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        return Tensor(shape: a.shape) { out in
            a.withUnsafeBufferPointer { pa in g.withUnsafeBufferPointer { pg in
                for p in 0..<(n * c) {
                    let base = p * hw
                    let w = weight(.gradCAM, UnsafeBufferPointer(rebasing: pa[base..<(base + hw)]), UnsafeBufferPointer(rebasing: pg[base..<(base + hw)]))
                    for i in 0..<hw { out[base + i] = Float(w * Double(pa[base + i])) }
                }
            } }
        }
    }

    static func combine(_ a: Tensor, _ weights: [[Double]]) -> Tensor {
        let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
        return Tensor(shape: [n, 1, a.shape[2], a.shape[3]]) { out in
            a.withUnsafeBufferPointer { pa in
                for s in 0..<n {
                    var map = [Double](repeating: 0, count: hw)
                    for ch in 0..<c {
                        let w = weights[s][ch], base = (s * c + ch) * hw
                        for i in 0..<hw { map[i] += w * Double(pa[base + i]) }
                    }
                    for i in 0..<hw { out[s * hw + i] = Float(map[i]) }
                }
            }
        }
    }
}
