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
        // The valid taps of each output row / column: input index first + k·dilation, k < count.
        func taps(_ outN: Int, _ size: Int, _ stride: Int, _ pad: Int, _ k: Int, _ d: Int) -> [(first: Int, count: Int)] {
            (0..<outN).map { o in
                let valid = (0..<k).map { o * stride - pad + $0 * d }.filter { $0 >= 0 && $0 < size }
                return (valid.first ?? 0, valid.count)
            }
        }
        let rows = taps(oh, h, g.strides.h, g.pads.top, g.kernel.h, g.dilations.h)
        let cols = taps(ow, w, g.strides.w, g.pads.left, g.kernel.w, g.dilations.w)
        let (dh, dw) = (g.dilations.h, g.dilations.w)
        let plane = oh * ow
        return Tensor(shape: inputShape) { out in
            let t = UnsafeMutablePointer<Float>.allocate(capacity: plane)
            let v = UnsafeMutablePointer<Float>.allocate(capacity: oh * w)
            defer { t.deallocate(); v.deallocate() }
            r.withUnsafeBufferPointer { pr in
                for s in 0..<n {
                    // t[o] = Σ_m R[m, o] / stab(z_o),  z_o = c · |rows| · |cols|  (channel planes read in order)
                    nonisolated(unsafe) let (src, t) = (pr.baseAddress! + s * m * plane, t)
                    Parallel.forEachRange(plane, grain: 1 << 13) { range in
                        for o in range { t[o] = src[o] }
                        for k in 1..<max(1, m) {
                            let channel = src + k * plane
                            for o in range { t[o] += channel[o] }
                        }
                    }
                    for i in 0..<oh {
                        for j in 0..<ow { t[i * ow + j] /= stabilize(Float(c * rows[i].count * cols[j].count), stabilizer) }
                    }
                    // The window scatter of t, separably: along the columns into v (one row per output
                    // row), then along the rows into the first input channel; the others copy it.
                    v.update(repeating: 0, count: oh * w)
                    for i in 0..<oh {
                        for j in 0..<ow {
                            let value = t[i * ow + j], base = v + i * w + cols[j].first
                            for k in 0..<cols[j].count { base[k * dw] += value }
                        }
                    }
                    let u = out.baseAddress! + s * c * h * w
                    u.update(repeating: 0, count: h * w)
                    for i in 0..<oh {
                        for k in 0..<rows[i].count {
                            let dst = u + (rows[i].first + k * dh) * w, row = v + i * w
                            for x in 0..<w { dst[x] += row[x] }
                        }
                    }
                    for ch in 1..<max(1, c) { (u + ch * h * w).update(from: u, count: h * w) }
                }
            }
        }
    }
}
