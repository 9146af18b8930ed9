import Foundation

/// Depthwise convolutions (one input and one output channel per group: MobileNet, EfficientNet,
/// ConvNeXt) computed directly, channel by channel, instead of an im2col product with a single
/// output row per group. Forwards every output value is the sum of its taps, eight neighbouring
/// outputs at a time in SIMD registers (strided planes read from their column phases); backwards
/// every input value likewise, strided planes phase by phase of the input.
extension Conv2D {
    /// True when every group maps one input channel to one output channel.
    var isDepthwise: Bool { groups > 1 && inChannels == groups && outChannels == groups }

    /// Depthwise and with the strides the direct kernels are built for (MobileNet's 2; the column
    /// phases of a strided plane cost memory in proportion to the stride). Others take the
    /// grouped im2col product.
    var usesDepthwiseKernels: Bool { isDepthwise && window.strides.h <= 4 && window.strides.w <= 4 }

    /// The output columns `lo..<hi` whose input column `ox·s + offset` lies in `0..<w`.
    @inline(__always)
    static func validColumns(offset: Int, stride s: Int, width w: Int, outWidth ow: Int) -> Range<Int> {
        let lo = offset >= 0 ? 0 : (-offset + s - 1) / s
        let hi = w - 1 - offset < 0 ? 0 : min(ow, (w - 1 - offset) / s + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Scratch memory for `correlate`, reused across the planes one thread handles.
    final class CorrelationScratch {
        private(set) var buffer: UnsafeMutablePointer<Float>
        private var capacity: Int
        init() { capacity = 0; buffer = UnsafeMutablePointer<Float>.allocate(capacity: 1) }
        deinit { buffer.deallocate() }
        /// At least `count` floats (contents undefined).
        func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
            if count > capacity {
                buffer.deallocate()
                buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
                capacity = count
            }
            return buffer
        }
    }

    /// `dst[r, c] (+)= Σ_{i, j} k[i, j] · src[r + r0 + i·rs, c + c0 + j·cs]`, taps outside the
    /// `sh × sw` source counting as 0 (a unit-stride correlation; `dst` is `dh × dw`). The source is
    /// first copied into a zero-bordered plane wide enough for whole groups of eight outputs, so
    /// that every output row runs eight columns at a time without bounds checks, its last group
    /// through a scratch row when `dw` is not a multiple of eight.
    static func correlate(_ src: UnsafePointer<Float>, sh: Int, sw: Int, kernel k: UnsafePointer<Float>, kh: Int, kw: Int,
                          rows r0: Int, rowStep rs: Int, cols c0: Int, colStep cs: Int,
                          into dst: UnsafeMutablePointer<Float>, dh: Int, dw: Int, start: Float, accumulate: Bool,
                          scratch: CorrelationScratch) {
        let groups = (dw + 7) / 8, dwv = groups * 8
        // The source rows and columns the taps reach (for all dwv columns), and the zero border that covers them.
        let rowLow = r0 + min(0, (kh - 1) * rs), rowHigh = dh - 1 + r0 + max(0, (kh - 1) * rs)
        let colLow = c0 + min(0, (kw - 1) * cs), colHigh = dwv - 1 + c0 + max(0, (kw - 1) * cs)
        let top = max(0, -rowLow), left = max(0, -colLow)
        let ph = max(sh, rowHigh + 1) + top, pw = max(sw, colHigh + 1) + left
        let padded = scratch.reserve(ph * pw + dwv), tail = padded + ph * pw
        padded.update(repeating: 0, count: ph * pw)
        for r in 0..<sh { (padded + (r + top) * pw + left).update(from: src + r * sw, count: sw) }
        let base = UnsafePointer(padded) + (r0 + top) * pw + c0 + left
        let full = dw / 8
        for r in 0..<dh {
            let out = dst + r * dw, rowBase = base + r * pw
            for g in 0..<groups {
                let c = g * 8
                var acc: SIMD8<Float>
                if g < full {
                    acc = accumulate ? UnsafeRawPointer(out + c).loadUnaligned(as: SIMD8<Float>.self) : SIMD8<Float>(repeating: start)
                } else {
                    acc = SIMD8<Float>(repeating: accumulate ? 0 : start)
                    if accumulate { for j in 0..<(dw - c) { acc[j] = out[c + j] } }
                }
                for i in 0..<kh {
                    let line = rowBase + i * rs * pw + c
                    for j in 0..<kw { acc += k[i * kw + j] * UnsafeRawPointer(line + j * cs).loadUnaligned(as: SIMD8<Float>.self) }
                }
                if g < full {
                    UnsafeMutableRawPointer(out + c).storeBytes(of: acc, as: SIMD8<Float>.self)
                } else {
                    UnsafeMutableRawPointer(tail).storeBytes(of: acc, as: SIMD8<Float>.self)
                    (out + c).update(from: tail, count: dw - c)
                }
            }
        }
    }

    /// A strided depthwise plane forwards, `dst[r, c] = start + Σ_{i, j} k[i, j] · src[r·sr + i·dr + r0, c·sc + j·dc + c0]`
    /// (taps outside the source count as 0), eight outputs at a time: the zero-bordered source is
    /// split into its `sc` column phases (columns q, q + sc, q + 2sc, … of phase q), so the eight
    /// inputs of one tap are contiguous in one phase.
    static func correlateStrided(_ src: UnsafePointer<Float>, sh: Int, sw: Int, kernel k: UnsafePointer<Float>, kh: Int, kw: Int,
                                 rows r0: Int, rowStride sr: Int, rowStep dr: Int, cols c0: Int, colStride sc: Int, colStep dc: Int,
                                 into dst: UnsafeMutablePointer<Float>, dh: Int, dw: Int, start: Float, scratch: CorrelationScratch) {
        let groups = (dw + 7) / 8, dwv = groups * 8
        let top = max(0, -r0), left = max(0, -c0)
        let ph = max(sh + top, (dh - 1) * sr + (kh - 1) * dr + r0 + top + 1)
        let pw = max(sw + left, (dwv - 1) * sc + (kw - 1) * dc + c0 + left + 1)
        let qw = (pw + sc - 1) / sc + 1                     // columns per phase
        let phases = scratch.reserve(sc * ph * qw + dwv), tail = phases + sc * ph * qw
        phases.update(repeating: 0, count: sc * ph * qw)
        for r in 0..<sh {
            let row = src + r * sw
            for q in 0..<sc {
                // Phase q holds padded columns idx·sc + q, i.e. source columns idx·sc + q − left.
                let lo = max(0, (left - q + sc - 1) / sc), hi = min(qw, (sw - 1 + left - q) / sc + 1)
                guard lo < hi else { continue }
                let line = phases + (q * ph + r + top) * qw
                var x = lo * sc + q - left
                for idx in lo..<hi { line[idx] = row[x]; x += sc }
            }
        }
        let full = dw / 8
        for r in 0..<dh {
            let out = dst + r * dw
            for g in 0..<groups {
                let c = g * 8
                var acc = SIMD8<Float>(repeating: start)
                for i in 0..<kh {
                    let pr = r * sr + i * dr + r0 + top
                    for j in 0..<kw {
                        let b = c * sc + j * dc + c0 + left
                        let line = phases + ((b % sc) * ph + pr) * qw + b / sc
                        acc += k[i * kw + j] * UnsafeRawPointer(line).loadUnaligned(as: SIMD8<Float>.self)
                    }
                }
                if g < full {
                    UnsafeMutableRawPointer(out + c).storeBytes(of: acc, as: SIMD8<Float>.self)
                } else {
                    UnsafeMutableRawPointer(tail).storeBytes(of: acc, as: SIMD8<Float>.self)
                    (out + c).update(from: tail, count: dw - c)
                }
            }
        }
    }

    /// `y = w ⊛ x + b` for every (sample, channel) plane, planes spread over the cores.
    func depthwiseForward(_ px: UnsafePointer<Float>, weight pw: UnsafePointer<Float>, bias: [Float]?,
                          into po: UnsafeMutablePointer<Float>, samples n: Int, h: Int, w: Int, oh: Int, ow: Int) {
        let c = inChannels, win = window, (kh, kw) = (window.kernel.h, window.kernel.w)
        nonisolated(unsafe) let (px, pw, po) = (px, pw, po)
        Parallel.forEachRange(n * c) { planes in
            let scratch = CorrelationScratch()
            for p in planes {
                let ch = p % c, x = px + p * h * w, y = po + p * oh * ow, k = pw + ch * kh * kw
                if win.strides == (1, 1) {
                    Self.correlate(x, sh: h, sw: w, kernel: k, kh: kh, kw: kw,
                                   rows: -win.pads.top, rowStep: win.dilations.h, cols: -win.pads.left, colStep: win.dilations.w,
                                   into: y, dh: oh, dw: ow, start: bias?[ch] ?? 0, accumulate: false, scratch: scratch)
                    continue
                }
                Self.correlateStrided(x, sh: h, sw: w, kernel: k, kh: kh, kw: kw,
                                      rows: -win.pads.top, rowStride: win.strides.h, rowStep: win.dilations.h,
                                      cols: -win.pads.left, colStride: win.strides.w, colStep: win.dilations.w,
                                      into: y, dh: oh, dw: ow, start: bias?[ch] ?? 0, scratch: scratch)
            }
        }
    }

    /// The geometry of a strided depthwise plane backwards (the same for every plane): the
    /// zero-bordered copy of `dy` and, per phase of the input, its pixels and the taps that reach them.
    struct StridedBackwardPlan {
        struct Phase { var py: Int, px: Int, rows: Int, cols: Int, taps: [(kernelIndex: Int, offset: Int)] }
        var rowLo: Int, colLo: Int, paddedRows: Int, paddedCols: Int
        var phases: [Phase]

        init(_ conv: Conv2D, h: Int, w: Int, oh: Int, ow: Int) {
            let win = conv.window, (kh, kw) = (win.kernel.h, win.kernel.w)
            let (sh, sw, dh, dw, top, left) = (win.strides.h, win.strides.w, win.dilations.h, win.dilations.w, win.pads.top, win.pads.left)
            func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
            // For phase p: the taps t with (p + pad − t·d) divisible by s, and their offset into dy.
            func taps(_ p: Int, stride s: Int, count n: Int, dilation d: Int, pad: Int) -> [(Int, Int)] {
                (0..<n).compactMap { t in let v = p + pad - t * d; return ((v % s) + s) % s == 0 ? (t, floorDiv(v, s)) : nil }
            }
            let rowTaps = (0..<sh).map { taps($0, stride: sh, count: kh, dilation: dh, pad: top) }
            let colTaps = (0..<sw).map { taps($0, stride: sw, count: kw, dilation: dw, pad: left) }
            let rowOffsets = rowTaps.flatMap { $0.map(\.1) }, colOffsets = colTaps.flatMap { $0.map(\.1) }
            let aMax = (h + sh - 1) / sh, bGroups = ((w + sw - 1) / sw + 7) / 8
            rowLo = min(0, rowOffsets.min() ?? 0)
            colLo = min(0, colOffsets.min() ?? 0)
            paddedRows = max(oh - 1, aMax - 1 + (rowOffsets.max() ?? 0)) - rowLo + 1
            paddedCols = max(ow - 1, bGroups * 8 - 1 + (colOffsets.max() ?? 0)) - colLo + 1
            var phases: [Phase] = []
            for py in 0..<sh {
                for px in 0..<sw {
                    let rows = (h - py + sh - 1) / sh, cols = (w - px + sw - 1) / sw
                    guard rows > 0, cols > 0 else { continue }
                    let (rl, cl, pc) = (rowLo, colLo, paddedCols)
                    let list = rowTaps[py].flatMap { ky, oy in colTaps[px].map { kx, ox in (ky * kw + kx, (oy - rl) * pc + ox - cl) } }
                    phases.append(Phase(py: py, px: px, rows: rows, cols: cols, taps: list))
                }
            }
            self.phases = phases
        }
    }

    /// A strided depthwise plane backwards, `dx (+)= wᵀ ⊛ dy`, by the input's phases: the input
    /// pixels `(py + sh·a, px + sw·b)` of one phase receive `Σ k[ky, kx] · dy[a + oy(ky), b + ox(kx)]`
    /// over the taps that reach them — a unit-stride correlation, eight pixels of a phase row at a
    /// time, on a zero-bordered copy of `dy`.
    func stridedTransposed(_ dy: UnsafePointer<Float>, kernel k: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                           accumulate: Bool, plan: StridedBackwardPlan, w: Int, oh: Int, ow: Int, scratch: CorrelationScratch) {
        let (sh, sw) = (window.strides.h, window.strides.w), pcol = plan.paddedCols
        let padded = scratch.reserve(plan.paddedRows * pcol)
        padded.update(repeating: 0, count: plan.paddedRows * pcol)
        for r in 0..<oh { (padded + (r - plan.rowLo) * pcol - plan.colLo).update(from: dy + r * ow, count: ow) }
        for phase in plan.phases {
            for a in 0..<phase.rows {
                let row = dx + (phase.py + sh * a) * w + phase.px
                for g in 0..<((phase.cols + 7) / 8) {
                    var acc = SIMD8<Float>(repeating: 0)
                    let base = UnsafePointer(padded) + a * pcol + g * 8
                    for tap in phase.taps { acc += k[tap.kernelIndex] * UnsafeRawPointer(base + tap.offset).loadUnaligned(as: SIMD8<Float>.self) }
                    for t in 0..<min(8, phase.cols - g * 8) {
                        let i = (g * 8 + t) * sw
                        row[i] = accumulate ? row[i] + acc[t] : acc[t]
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
        let plan = win.strides == (1, 1) ? nil : StridedBackwardPlan(self, h: h, w: w, oh: oh, ow: ow)
        Parallel.forEachRange(n * c) { planes in
            let scratch = CorrelationScratch()
            for p in planes {
                let ch = p % c, dx = pdx + p * h * w, dy = pdy + p * oh * ow, k = pw + ch * kh * kw
                if win.strides == (1, 1) {
                    // dx[r, c] = Σ k[i, j] · dy[r + top − i·dh, c + left − j·dw]
                    Self.correlate(dy, sh: oh, sw: ow, kernel: k, kh: kh, kw: kw,
                                   rows: win.pads.top, rowStep: -win.dilations.h, cols: win.pads.left, colStep: -win.dilations.w,
                                   into: dx, dh: h, dw: w, start: 0, accumulate: accumulate, scratch: scratch)
                } else {
                    if let plan { stridedTransposed(dy, kernel: k, into: dx, accumulate: accumulate, plan: plan, w: w, oh: oh, ow: ow, scratch: scratch) }
                }
                epilogue?.apply(pdx, offset: p * h * w, count: h * w)
            }
        }
    }
}
