import CExplainSupport
import Dispatch
import Synchronization

/// How a `Conv2D` computes its products.
public enum ConvAlgorithm: String, Sendable, CaseIterable {
    /// Winograd where the geometry allows it and it pays off (3×3, stride 1, ≥ 32 channels in and
    /// out), im2col + GEMM elsewhere.
    case automatic
    /// Always im2col (or the plain GEMM of a 1×1 convolution) + GEMM.
    case im2col
    /// Winograd F(2×2, 3×3) wherever the geometry allows it (3×3, stride 1, no dilation, no groups,
    /// top/left padding ≤ 2), im2col + GEMM elsewhere.
    case winograd

    /// Parses a command-line value; the error lists the known values.
    public static func parse(_ text: String) throws -> ConvAlgorithm {
        guard let a = ConvAlgorithm(rawValue: text) else {
            throw ExplainError.argument("unknown convolution algorithm '\(text)'; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return a
    }
}

/// Winograd F(2×2, 3×3) convolution (Lavin & Gray 2016) for 3×3 / stride-1 layers, forward and
/// transposed (the input gradient): each 4×4 input tile (stride 2) is transformed, the 16
/// transformed components are multiplied with the transformed filters as 16 GEMMs over all tiles
/// of a band, and each tile's 2×2 outputs are transformed back. 2.25× fewer multiplications than
/// im2col + GEMM; the rounding error stays at the level of a plain GEMM (tested against it and
/// against the reference fixtures).
///
/// The filter transforms are made on first use and kept with the layer (one for the forward, one
/// for the transposed product): 16/9 of the weight's size each.
final class WinogradFilters: Sendable {
    let weight: Tensor
    /// The forward and transposed transforms, made on first use.
    private let cache = Mutex<(forward: Tensor?, transposed: Tensor?)>((nil, nil))

    init(weight: Tensor) { self.weight = weight }

    /// Whether a layer's geometry allows the transform (both directions).
    static func applies(window: Window2D, groups: Int) -> Bool {
        window.kernel == (3, 3) && window.strides == (1, 1) && window.dilations == (1, 1) && groups == 1
            && window.pads.top <= 2 && window.pads.left <= 2
    }

    /// Whether `automatic` picks Winograd: enough channels for the GEMMs to dominate the transforms.
    static func pays(inChannels: Int, outChannels: Int) -> Bool { inChannels >= 32 && outChannels >= 32 }

    /// `(16, K, C)` for the forward, `(16, C, K)` for the transposed product.
    func filters(transposed: Bool) -> Tensor {
        cache.withLock { cached in
            if let done = transposed ? cached.transposed : cached.forward { return done }
            let (k, c) = (weight.shape[0], weight.shape[1])
            let rows = transposed ? c : k, cols = transposed ? k : c
            let u = Tensor(shape: [16, rows, cols]) { out in
                weight.withUnsafeBufferPointer { w in
                    nonisolated(unsafe) let (w, out) = (w.baseAddress!, out.baseAddress!)
                    Parallel.forEachRange(rows, grain: max(1, (1 << 14) / max(1, cols))) { r in
                        explain_winograd_filter(w, rows, cols, transposed ? 1 : 0, r.lowerBound, r.upperBound, out)
                    }
                }
            }
            if transposed { cached.transposed = u } else { cached.forward = u }
            return u
        }
    }

    /// Tile columns per band: the band's transformed input and GEMM output (16 · (C + K) floats per
    /// tile) stay within a few MB, and each GEMM gets at least 64 columns.
    static func bandColumns(inChannels: Int, outChannels: Int) -> Int {
        max(64, min(512, (1 << 18) / max(1, inChannels + outChannels)))
    }

    /// `y[s] = conv(x[s])` for every sample: `x` (n, C, h, w) → `y` (n, K, oh, ow), with zero padding
    /// `padTop`/`padLeft` (bottom/right padding follows from the output size). `u` holds the
    /// transformed filters (16, K, C); `bias` (K) or nil.
    static func convolve(
        _ x: UnsafePointer<Float>, samples n: Int, inChannels c: Int, h: Int, w: Int,
        filters u: UnsafePointer<Float>, outChannels k: Int, bias: UnsafePointer<Float>?,
        padTop: Int, padLeft: Int, outH oh: Int, outW ow: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
        epilogue: InputEpilogue.Raw? = nil
    ) {
        let tilesH = (oh + 1) / 2, tilesW = (ow + 1) / 2, perSample = tilesH * tilesW
        let budget = bandColumns(inChannels: c, outChannels: k)
        // Work items: bands of tile rows of one sample, or — for small planes (< 128 tiles) in a
        // batch — whole samples side by side, so that each GEMM still gets enough columns.
        var items: [(samples: Range<Int>, rows: Range<Int>)] = []
        if n > 1 && perSample < 128 && 2 * perSample <= budget {
            let group = budget / perSample
            for s0 in stride(from: 0, to: n, by: group) { items.append((s0..<min(n, s0 + group), 0..<tilesH)) }
        } else {
            let bandRows = max(1, min(tilesH, budget / max(1, tilesW)))
            for s in 0..<n {
                for r0 in stride(from: 0, to: tilesH, by: bandRows) { items.append((s..<s + 1, r0..<min(tilesH, r0 + bandRows))) }
            }
        }
        let cols = items.map { $0.samples.count * $0.rows.count * tilesW }.max() ?? 1
        let rowScratch = 4 * (2 * tilesW + 10)   // four padded rows with 8 floats of slack each (explain_winograd_input)
        // Several items: each worker takes a contiguous run of whole items (consecutive bands of a
        // sample share input rows); one item: the workers share it.
        let workers = max(1, min(BLAS.threads, items.count))
        let share = workers == 1 ? BLAS.threads : 1
        // The 16 component matrices sit `stride` floats apart: 32 more than their size, so that
        // the 16 streams of a transform do not fall on the same cache sets (4 KiB aliasing).
        let strideV = c * cols + 32, strideM = k * cols + 32
        let perWorker = 16 * (strideV + strideM) + share * rowScratch
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { buffer.deallocate() }
        nonisolated(unsafe) let (x, u, bias, y, scratch) = (x, u, bias, y, buffer)
        items.withUnsafeBufferPointer { itemList in
            nonisolated(unsafe) let itemList = itemList
            Parallel.perform(iterations: workers) { worker in
                let v = scratch + worker * perWorker
                let m = v + 16 * strideV
                let rowBuffers = m + 16 * strideM
                for item in (itemList.count * worker / workers)..<(itemList.count * (worker + 1) / workers) {
                    let (samples, rows) = itemList[item]
                    let block = rows.count * tilesW       // columns per sample
                    let ld = samples.count * block
                    // Component xi of channel i is row i of the xi-th (C × ld) matrix; sample j's
                    // tiles are columns j·block ..< (j + 1)·block.
                    split(c, into: share) { part, range in
                        for (j, s) in samples.enumerated() {
                            explain_winograd_input(x + (s * c + range.lowerBound) * h * w, range.count, h, w, padTop, padLeft,
                                                   tilesW, rows.lowerBound, rows.count, v + range.lowerBound * ld + j * block,
                                                   strideV, ld, rowBuffers + part * rowScratch)
                        }
                    }
                    split(16, into: share) { _, range in
                        for xi in range {
                            BLAS.gemm(m: k, n: ld, k: c, a: u + xi * k * c, lda: c, b: v + xi * strideV, ldb: ld,
                                      c: m + xi * strideM, ldc: ld, parallel: false)
                        }
                    }
                    split(k, into: share) { _, range in
                        for (j, s) in samples.enumerated() {
                            explain_winograd_output(m + range.lowerBound * ld + j * block, range.count, strideM, ld,
                                                    bias.map { $0 + range.lowerBound }, oh, ow, tilesW, rows.lowerBound, rows.count,
                                                    accumulate ? 1 : 0, y + (s * k + range.lowerBound) * oh * ow)
                            // The epilogue on the rows just written, while they are in cache.
                            guard let epilogue else { continue }
                            let first = 2 * rows.lowerBound, count = (min(oh, 2 * rows.upperBound) - first) * ow
                            for ch in range { epilogue.apply(y, offset: ((s * k + ch) * oh + first) * ow, count: count) }
                        }
                    }
                }
            }
        }
    }

    /// The convolution of `x` (n, C_in, h, w): the forward (`transposed == false`, with `bias`) or the
    /// transposed product, written into `y` (its shape is the output's) or, with `accumulate`, added
    /// to what `y` holds; then `epilogue` (its operand shaped like `y`; not with `accumulate`).
    func run(_ x: Tensor, transposed: Bool, bias: Tensor?, padTop: Int, padLeft: Int, into y: inout Tensor, accumulate: Bool,
             epilogue: InputEpilogue? = nil) {
        let u = filters(transposed: transposed)
        let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, oh, ow) = (y.shape[1], y.shape[2], y.shape[3])
        y.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress!
            x.withUnsafeBufferPointer { px in
                u.withUnsafeBufferPointer { pu in
                    InputEpilogue.withRaw(epilogue) { epilogue in
                        bias.withUnsafePointer { bias in
                            Self.convolve(px.baseAddress!, samples: n, inChannels: cin, h: h, w: w, filters: pu.baseAddress!,
                                          outChannels: cout, bias: bias, padTop: padTop, padLeft: padLeft,
                                          outH: oh, outW: ow, into: out, accumulate: accumulate, epilogue: epilogue)
                        }
                    }
                }
            }
        }
    }

    /// Runs `body(part, range)` for `parts` contiguous pieces of `0..<count` in parallel (inline for one).
    private static func split(_ count: Int, into parts: Int, _ body: (Int, Range<Int>) -> Void) {
        let parts = max(1, min(parts, count))
        if parts == 1 { body(0, 0..<count); return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            Parallel.perform(iterations: parts) { p in
                body(p, (count * p / parts)..<(count * (p + 1) / parts))
            }
        }
    }
}

extension Graph {
    /// A copy whose convolutions all use `algorithm` (e.g. `.im2col` for results that do not depend
    /// on the Winograd transform, or `.winograd` to check it on small models).
    public func withConvAlgorithm(_ algorithm: ConvAlgorithm) throws -> Graph {
        var g = self
        for (i, node) in nodes.enumerated() {
            if let conv = node.layer as? Conv2D, conv.algorithm != algorithm {
                g = try g.replacingLayer(at: i, with: conv.with(algorithm: algorithm))
            }
        }
        return g
    }
}
