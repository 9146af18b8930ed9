import ExplainCore
import Foundation

/// Turns one sample's attribution into a colored image.
public struct HeatmapRenderer: Sendable {
    /// How channels are combined into one map.
    public enum Reduction: String, Sendable, CaseIterable {
        /// Σ_c a_c (signed).
        case sum
        /// Σ_c |a_c|.
        case absSum = "abs_sum"
        /// The channel value with the largest magnitude (signed).
        case maxAbs = "max_abs"
    }

    /// How values are scaled into the colormap.
    public enum Normalization: Sendable, Equatable {
        /// Divide by max |a| (0 stays at the colormap's centre for diverging maps).
        case symmetric
        /// Divide by the given percentile of |a| (e.g. 99.5) and clip.
        case percentile(Double)
    }

    public var reduction: Reduction
    public var normalization: Normalization
    public var colormap: Colormap
    /// zennit's rendering instead of `colormap`: a 256-color palette (`ZennitPalette.palette`), the
    /// map scaled symmetrically by its largest magnitude in float and truncated to a byte, as
    /// `zennit.image.imgify(…, symmetric=True)` does.
    public var zennitPalette: [UInt8]?

    public init(reduction: Reduction = .sum, normalization: Normalization = .symmetric, colormap: Colormap = .seismic) {
        self.reduction = reduction
        self.normalization = normalization
        self.colormap = colormap
    }

    /// A renderer for a colormap named on the command line: one of `Colormap`, or `zennit:NAME` /
    /// `zennit:CODE` for zennit's colors at palette `level`.
    public static func named(_ colormap: String, level: Double = 1, reduction: Reduction = .sum) throws -> HeatmapRenderer {
        guard colormap.hasPrefix("zennit:") else { return HeatmapRenderer(reduction: reduction, colormap: try Colormap.named(colormap)) }
        guard level.isFinite, level > 0 else { throw ExplainError(.invalidArgument, "palette level \(level): give a positive number") }
        var renderer = HeatmapRenderer(reduction: reduction, colormap: .bwr)
        renderer.zennitPalette = try ZennitPalette.named(String(colormap.dropFirst(7))).palette(level: level)
        return renderer
    }

    /// Reduces a `(C, H, W)`, `(1, C, H, W)` or `(H, W)` attribution to an `H × W` map.
    public func reduce(_ a: Tensor) throws -> (map: [Double], width: Int, height: Int) {
        var shape = a.shape
        if shape.count == 4 {
            guard shape[0] == 1 else { throw ExplainError.shape("render one sample at a time, got \(Shape.format(a.shape))") }
            shape.removeFirst()
        }
        if shape.count == 2 { shape.insert(1, at: 0) }
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw ExplainError.shape("a heatmap needs a (C, H, W) attribution, got \(Shape.format(a.shape))")
        }
        guard a.isFinite else { throw ExplainError(.nonFinite, "the attribution contains NaN or infinity; nothing to render") }
        let (c, h, w) = (shape[0], shape[1], shape[2])
        var map = [Double](repeating: 0, count: h * w)
        a.withUnsafeBufferPointer { p in
            for i in 0..<(h * w) {
                var acc = 0.0
                for k in 0..<c {
                    let v = Double(p[k * h * w + i])
                    switch reduction {
                    case .sum: acc += v
                    case .absSum: acc += abs(v)
                    case .maxAbs: if abs(v) > abs(acc) { acc = v }
                    }
                }
                map[i] = acc
            }
        }
        return (map, w, h)
    }

    /// Maps reduced values to [0, 1] colormap positions.
    public func normalize(_ map: [Double]) -> [Double] {
        let magnitudes = map.map(abs)
        var scale: Double
        switch normalization {
        case .symmetric: scale = magnitudes.max() ?? 0
        case .percentile(let p):
            let sorted = magnitudes.sorted()
            let k = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count - 1)).rounded())))
            scale = sorted.isEmpty ? 0 : sorted[k]
            if scale == 0 { scale = sorted.last ?? 0 }
        }
        if scale == 0 { return map.map { _ in colormap.isDiverging ? 0.5 : 0 } }   // all-zero maps render neutral
        return map.map { v in
            let r = min(max(v / scale, -1), 1)
            return colormap.isDiverging ? (r + 1) / 2 : max(r, 0)
        }
    }

    /// Renders an attribution as an RGB image, bilinearly resized to `size` when given, and blended
    /// over a grayscale copy of `overlay` (same size) with opacity `alpha` when given.
    public func render(_ attribution: Tensor, size: (width: Int, height: Int)? = nil,
                       overlay: Image? = nil, alpha: Double = 0.6) throws -> Image {
        let (raw, w, h) = try reduce(attribution)
        var positions = zennitPalette == nil ? normalize(raw) : Self.zennitPositions(raw)
        var (outW, outH) = (w, h)
        if let size, size != (w, h) {
            guard size.width > 0, size.height > 0, size.width * size.height <= Image.maxPixels else {
                throw ExplainError(.invalidArgument, "heatmap size \(size) is not valid")
            }
            positions = Self.resize(positions, w, h, size.width, size.height)
            (outW, outH) = size
        }
        if let overlay, overlay.width != outW || overlay.height != outH {
            throw ExplainError.shape("overlay image is \(overlay.width)×\(overlay.height), the heatmap \(outW)×\(outH)")
        }
        var pixels = [UInt8](repeating: 0, count: outW * outH * 3)
        for i in 0..<(outW * outH) {
            var (r, g, b): (UInt8, UInt8, UInt8)
            if let palette = zennitPalette {
                // imgify: (a − vmin) / (vmax − vmin) · 255, clipped and truncated to a byte (in float).
                let k = Int(min(max(Float(positions[i]) * 255, 0), 255).rounded(.towardZero))
                (r, g, b) = (palette[3 * k], palette[3 * k + 1], palette[3 * k + 2])
            } else {
                (r, g, b) = colormap.color(positions[i])
            }
            if let overlay {
                let o = overlay.channels >= 3
                    ? (Double(overlay.pixels[i * overlay.channels]) * 0.299 + Double(overlay.pixels[i * overlay.channels + 1]) * 0.587
                       + Double(overlay.pixels[i * overlay.channels + 2]) * 0.114)
                    : Double(overlay.pixels[i * overlay.channels])
                func blend(_ c: UInt8) -> UInt8 { UInt8(max(0, min(255, (alpha * Double(c) + (1 - alpha) * o).rounded()))) }
                (r, g, b) = (blend(r), blend(g), blend(b))
            }
            pixels[i * 3] = r; pixels[i * 3 + 1] = g; pixels[i * 3 + 2] = b
        }
        return Image(validWidth: outW, height: outH, channels: 3, pixels: pixels)
    }

    /// zennit's symmetric interval norm in float: `(a + m) / (2m)`, `m = max |a|` (0 / 0 gives NaN
    /// there, which becomes byte 0; here the position 0).
    static func zennitPositions(_ map: [Double]) -> [Double] {
        let values = map.map { Float($0) }
        let m = values.map(abs).max() ?? 0
        guard m > 0 else { return values.map { _ in 0 } }
        return values.map { Double(($0 - (-m)) / (m - (-m))) }
    }

    /// Bilinear resize with half-pixel centres and edge clamping (`Bilinear.resize`).
    public static func resize(_ src: [Double], _ w: Int, _ h: Int, _ outW: Int, _ outH: Int) -> [Double] {
        var out = [Double](repeating: 0, count: outW * outH)
        guard w > 0, h > 0, src.count >= w * h else { return out }
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in Bilinear.resize(s, height: h, width: w, into: d, height: outH, width: outW) }
        }
        return out
    }
}
