import Foundation

/// Depthwise convolutions (one input and one output channel per group: MobileNet, EfficientNet,
/// ConvNeXt) computed directly, channel by channel, instead of an im2col product with a single
/// output row per group. With unit strides every output (or, backwards, input) value is the sum
/// of its taps, eight neighbouring values at a time in SIMD registers; other strides add one
/// kernel tap at a time along the output rows.
extension Conv2D {
    /// True when every group maps one input channel to one output channel.
    var isDepthwise: Bool { groups > 1 && inChannels == groups && outChannels == groups }

    /// The output columns `lo..<hi` whose input column `ox·s + offset` lies in `0..<w`.
    @inline(__always)
    static func validColumns(offset: Int, stride s: Int, width w: Int, outWidth ow: Int) -> Range<Int> {
        let lo = offset >= 0 ? 0 : (-offset + s - 1) / s
        let hi = w - 1 - offset < 0 ? 0 : min(ow, (w - 1 - offset) / s + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// `dst[r, c] (+)= Σ_{i, j} k[i, j] · src[r + r0 + i·rs, c + c0 + j·cs]`, taps outside the
    /// `sh × sw` source counting as 0 (a unit-stride correlation; `dst` is `dh × dw`). The source is
    /// first copied into a zero-bordered plane, so that every output row runs eight columns at a
    /// time without bounds checks.
    static func correlate(_ src: UnsafePointer<Float>, sh: Int, sw: Int, kernel k: UnsafePointer<Float>, kh: Int, kw: Int,
                          rows r0: Int, rowStep rs: Int, cols c0: Int, colStep cs: Int,
                          into dst: UnsafeMutablePointer<Float>, dh: Int, dw: Int, start: Float, accumulate: Bool) {
        // The source rows and columns the taps reach, and the zero border that covers them.
        let rowLow = r0 + min(0, (kh - 1) * rs), rowHigh = dh - 1 + r0 + max(0, (kh - 1) * rs)
        let colLow = c0 + min(0, (kw - 1) * cs), colHigh = dw - 1 + c0 + max(0, (kw - 1) * cs)
        let top = max(0, -rowLow), left = max(0, -colLow)
        let ph = max(sh, rowHigh + 1) + top, pw = max(sw, colHigh + 1) + left
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: ph * pw)
        defer { padded.deallocate() }
        padded.update(repeating: 0, count: ph * pw)
        for r in 0..<sh { (padded + (r + top) * pw + left).update(from: src + r * sw, count: sw) }
        let base = UnsafePointer(padded) + (r0 + top) * pw + c0 + left
        for r in 0..<dh {
            let out = dst + r * dw, rowBase = base + r * pw
            var c = 0
            while c + 8 <= dw {
                var acc = accumulate ? UnsafeRawPointer(out + c).loadUnaligned(as: SIMD8<Float>.self) : SIMD8<Float>(repeating: start)
                for i in 0..<kh {
                    let line = rowBase + i * rs * pw + c
                    for j in 0..<kw { acc += k[i * kw + j] * UnsafeRawPointer(line + j * cs).loadUnaligned(as: SIMD8<Float>.self) }
                }
                UnsafeMutableRawPointer(out + c).storeBytes(of: acc, as: SIMD8<Float>.self)
                c += 8
            }
            while c < dw {
                var acc = accumulate ? out[c] : start
                for i in 0..<kh {
                    let line = rowBase + i * rs * pw + c
                    for j in 0..<kw { acc += k[i * kw + j] * line[j * cs] }
                }
                out[c] = acc
                c += 1
            }
        }
    }

    /// `y = w ⊛ x + b` for every (sample, channel) plane, planes spread over the cores.
    func depthwiseForward(_ px: UnsafePointer<Float>, weight pw: UnsafePointer<Float>, bias: [Float]?,
                          into po: UnsafeMutablePointer<Float>, samples n: Int, h: Int, w: Int, oh: Int, ow: Int) {
        let c = inChannels, win = window, (kh, kw) = (window.kernel.h, window.kernel.w)
        nonisolated(unsafe) let (px, pw, po) = (px, pw, po)
        Parallel.forEachRange(n * c) { planes in
            for p in planes {
                let ch = p % c, x = UnsafeMutablePointer(mutating: px + p * h * w), y = po + p * oh * ow, k = pw + ch * kh * kw
                if win.strides == (1, 1) {
                    Self.correlate(UnsafePointer(x), sh: h, sw: w, kernel: k, kh: kh, kw: kw,
                                   rows: -win.pads.top, rowStep: win.dilations.h, cols: -win.pads.left, colStep: win.dilations.w,
                                   into: y, dh: oh, dw: ow, start: bias?[ch] ?? 0, accumulate: false)
                    continue
                }
                y.update(repeating: bias?[ch] ?? 0, count: oh * ow)
                stridedTaps(kernel: k, input: x, h: h, w: w, output: y, oh: oh, ow: ow, backwards: false)
            }
        }
    }

    /// A strided depthwise plane, tap by tap along the output rows: forwards `out[oy, ox] += k · in[iy, ix]`,
    /// backwards `in[iy, ix] += k · out[oy, ox]` (the transposed convolution), for every tap whose input lies inside.
    /// Only `output` is written forwards and only `input` backwards (the other side is read).
    private func stridedTaps(kernel k: UnsafePointer<Float>, input: UnsafeMutablePointer<Float>, h: Int, w: Int,
                             output: UnsafeMutablePointer<Float>, oh: Int, ow: Int, backwards: Bool) {
        let win = window, (kh, kw) = (window.kernel.h, window.kernel.w), s = win.strides.w
        for oy in 0..<oh {
            let orow = output + oy * ow
            for ky in 0..<kh {
                let iy = oy * win.strides.h + ky * win.dilations.h - win.pads.top
                guard iy >= 0, iy < h else { continue }
                let irow = input + iy * w
                for kx in 0..<kw {
                    let wv = k[ky * kw + kx], offset = kx * win.dilations.w - win.pads.left
                    let cols = Self.validColumns(offset: offset, stride: s, width: w, outWidth: ow)
                    if backwards {
                        for ox in cols { irow[ox * s + offset] += wv * orow[ox] }
                    } else {
                        for ox in cols { orow[ox] += wv * irow[ox * s + offset] }
                    }
                }
            }
        }
    }

    /// `dx (+)= wᵀ ⊛ dy` per (sample, channel) plane, then the epilogue on that plane.
    func depthwiseTransposed(_ pdy: UnsafePointer<Float>, weight pw: UnsafePointer<Float>, into pdx: UnsafeMutablePointer<Float>,
                             accumulate: Bool, epilogue: InputEpilogue.Raw?, samples n: Int, h: Int, w: Int, oh: Int, ow: Int) {
        let c = inChannels, win = window, (kh, kw) = (window.kernel.h, window.kernel.w)
        nonisolated(unsafe) let (pdy, pw, pdx) = (pdy, pw, pdx)
        Parallel.forEachRange(n * c) { planes in
            for p in planes {
                let ch = p % c, dx = pdx + p * h * w, dy = pdy + p * oh * ow, k = pw + ch * kh * kw
                if win.strides == (1, 1) {
                    // dx[r, c] = Σ k[i, j] · dy[r + top − i·dh, c + left − j·dw]
                    Self.correlate(dy, sh: oh, sw: ow, kernel: k, kh: kh, kw: kw,
                                   rows: win.pads.top, rowStep: -win.dilations.h, cols: win.pads.left, colStep: -win.dilations.w,
                                   into: dx, dh: h, dw: w, start: 0, accumulate: accumulate)
                } else {
                    if !accumulate { dx.update(repeating: 0, count: h * w) }
                    stridedTaps(kernel: k, input: dx, h: h, w: w, output: UnsafeMutablePointer(mutating: dy), oh: oh, ow: ow, backwards: true)
                }
                epilogue?.apply(pdx, offset: p * h * w, count: h * w)
            }
        }
    }
}
