import ExplainCore

/// LRP-flat without products: with all-ones weights and inputs, `z_j` is the number of input
/// cells in output j's receptive field and every input channel receives the same relevance, so the
/// rule reduces to counting window cells, summing `R / z` over output channels and scattering the
/// sums back over the windows (a ones-weight GEMM in each direction otherwise).
enum FlatFastPath {
    /// The flat rule's input relevance, or nil when the layer is not covered (grouped convolution,
    /// transposed-input Dense) and the generic modified-gradient path must run.
    static func propagate(_ r: Tensor, layer: any Layer, inputShape: [Int], stabilizer: Float) -> Tensor? {
        if let dense = layer as? Dense, !dense.transposeInput, inputShape.count == 2, r.shape == [inputShape[0], dense.outFeatures] {
            let (n, inF, outF) = (inputShape[0], dense.inFeatures, dense.outFeatures)
            let z = stabilize(Float(inF), stabilizer)
            return Tensor(shape: inputShape) { out in
                r.withUnsafeBufferPointer { pr in
                    for s in 0..<n {
                        var sum: Float = 0
                        for j in 0..<outF { sum += pr[s * outF + j] / z }
                        (out.baseAddress! + s * inF).update(repeating: sum, count: inF)
                    }
                }
            }
        }
        guard let conv = layer as? Conv2D, conv.groups == 1, inputShape.count == 4,
              let outShape = try? conv.outputShape([inputShape]), r.shape == outShape else { return nil }
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (m, oh, ow) = (outShape[1], outShape[2], outShape[3])
        let g = conv.window
        // Valid taps per output row / column.
        func taps(_ outN: Int, _ size: Int, _ stride: Int, _ pad: Int, _ k: Int, _ d: Int) -> [[Int]] {
            (0..<outN).map { o in (0..<k).map { o * stride - pad + $0 * d }.filter { $0 >= 0 && $0 < size } }
        }
        let rows = taps(oh, h, g.strides.h, g.pads.top, g.kernel.h, g.dilations.h)
        let cols = taps(ow, w, g.strides.w, g.pads.left, g.kernel.w, g.dilations.w)
        let plane = oh * ow
        return Tensor(shape: inputShape) { out in
            var t = [Float](repeating: 0, count: plane)
            var u = [Float](repeating: 0, count: h * w)
            r.withUnsafeBufferPointer { pr in
                for s in 0..<n {
                    // t[o] = Σ_m R[m, o] / stab(z_o),  z_o = c · |rows| · |cols|  (channel planes read in order)
                    for o in 0..<plane { t[o] = 0 }
                    for k in 0..<m {
                        let src = pr.baseAddress! + (s * m + k) * plane
                        for o in 0..<plane { t[o] += src[o] }
                    }
                    for i in 0..<oh { for j in 0..<ow {
                        t[i * ow + j] /= stabilize(Float(c * rows[i].count * cols[j].count), stabilizer)
                    } }
                    // u = the window scatter of t; every input channel gets u.
                    for i in u.indices { u[i] = 0 }
                    u.withUnsafeMutableBufferPointer { pu in
                        t.withUnsafeBufferPointer { pt in
                            for i in 0..<oh {
                                let tapRows = rows[i]
                                for j in 0..<ow {
                                    let v = pt[i * ow + j]
                                    cols[j].withUnsafeBufferPointer { tapCols in
                                        for ih in tapRows { for iw in tapCols { pu[ih * w + iw] += v } }
                                    }
                                }
                            }
                        }
                    }
                    for ch in 0..<c { (out.baseAddress! + (s * c + ch) * h * w).update(from: u, count: h * w) }
                }
            }
        }
    }
}
