import ExplainCore
import Foundation

/// Turns an image into a model input `(1, C, H, W)`: optional grayscale, bilinear resize, center
/// crop, scaling, per-channel mean/std, channel order. Given as CLI options or a JSON file:
///
///     {"grayscale": true, "resize": [16, 16], "scale": 0.0039215686, "mean": [0.5], "std": [0.25]}
public struct Preprocessing: Codable, Sendable, Equatable {
    /// Convert to one gray channel (ITU-R 601 luma) first.
    public var grayscale: Bool = false
    /// Resize to `[height, width]` (bilinear, half-pixel centres).
    public var resize: [Int]? = nil
    /// Then crop the centre `[height, width]`.
    public var centerCrop: [Int]? = nil
    /// Multiply the 0…255 values by this (1/255 maps to [0, 1]).
    public var scale: Double = 1.0 / 255.0
    /// Per-channel mean and standard deviation, applied after scaling: `(v − mean) / std`.
    public var mean: [Double]? = nil
    public var std: [Double]? = nil
    /// `"rgb"` or `"bgr"`.
    public var channelOrder: String = "rgb"

    enum CodingKeys: String, CodingKey {
        case grayscale, resize, scale, mean, std
        case centerCrop = "center_crop"
        case channelOrder = "channel_order"
    }

    public init(grayscale: Bool = false, resize: [Int]? = nil, centerCrop: [Int]? = nil, scale: Double = 1.0 / 255.0,
                mean: [Double]? = nil, std: [Double]? = nil, channelOrder: String = "rgb") {
        self.grayscale = grayscale
        self.resize = resize
        self.centerCrop = centerCrop
        self.scale = scale
        self.mean = mean
        self.std = std
        self.channelOrder = channelOrder
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        grayscale = try c.decodeIfPresent(Bool.self, forKey: .grayscale) ?? false
        resize = try c.decodeIfPresent([Int].self, forKey: .resize)
        centerCrop = try c.decodeIfPresent([Int].self, forKey: .centerCrop)
        scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? 1.0 / 255.0
        mean = try c.decodeIfPresent([Double].self, forKey: .mean)
        std = try c.decodeIfPresent([Double].self, forKey: .std)
        channelOrder = try c.decodeIfPresent(String.self, forKey: .channelOrder) ?? "rgb"
    }

    /// Reads a JSON spec.
    public static func load(path: String) throws -> Preprocessing {
        guard let data = FileManager.default.contents(atPath: path) else { throw ExplainError(.io, "cannot read the preprocessing spec", file: path) }
        do { return try JSONDecoder().decode(Preprocessing.self, from: data) } catch {
            throw ExplainError(.malformedFile, "not a valid preprocessing spec: \(error)", file: path)
        }
    }

    /// The input tensor `(1, C, H, W)` for an image.
    public func tensor(from image: Image) throws -> Tensor {
        guard channelOrder == "rgb" || channelOrder == "bgr" else {
            throw ExplainError(.invalidArgument, "channel_order '\(channelOrder)' must be rgb or bgr")
        }
        // Planes of doubles, alpha dropped.
        var c = grayscale ? 1 : min(image.channels, 3) == 2 ? 1 : min(image.channels, 3)
        var h = image.height, w = image.width
        var planes = [[Double]](repeating: [Double](repeating: 0, count: h * w), count: c)
        for i in 0..<(h * w) {
            let p = i * image.channels
            if grayscale && image.channels >= 3 {
                planes[0][i] = 0.299 * Double(image.pixels[p]) + 0.587 * Double(image.pixels[p + 1]) + 0.114 * Double(image.pixels[p + 2])
            } else {
                for k in 0..<c { planes[k][i] = Double(image.pixels[p + k]) }
            }
        }
        if let size = resize {
            guard size.count == 2, size.allSatisfy({ $0 > 0 && $0 <= 16_384 }) else {
                throw ExplainError(.invalidArgument, "resize \(size) must be [height, width] with positive values ≤ 16384")
            }
            planes = planes.map { HeatmapRenderer.resize($0, w, h, size[1], size[0]) }
            (h, w) = (size[0], size[1])
        }
        if let crop = centerCrop {
            guard crop.count == 2, crop[0] > 0, crop[1] > 0, crop[0] <= h, crop[1] <= w else {
                throw ExplainError(.invalidArgument, "center_crop \(crop) must be [height, width] within the \(h)×\(w) image")
            }
            let top = (h - crop[0]) / 2, left = (w - crop[1]) / 2
            let width = w
            planes = planes.map { p -> [Double] in
                var out: [Double] = []
                out.reserveCapacity(crop[0] * crop[1])
                for y in 0..<crop[0] {
                    let start = (top + y) * width + left
                    out.append(contentsOf: p[start..<(start + crop[1])])
                }
                return out
            }
            (h, w) = (crop[0], crop[1])
        }
        if channelOrder == "bgr" && c == 3 { planes.reverse() }
        if let mean, mean.count != c && mean.count != 1 { throw ExplainError(.invalidArgument, "mean has \(mean.count) values for \(c) channels") }
        if let std, std.count != c && std.count != 1 { throw ExplainError(.invalidArgument, "std has \(std.count) values for \(c) channels") }
        if let std, std.contains(where: { !($0 > 0) }) { throw ExplainError(.invalidArgument, "std values must be positive") }
        var scalars: [Float] = []
        scalars.reserveCapacity(c * h * w)
        for k in 0..<c {
            let m = mean.map { $0.count == 1 ? $0[0] : $0[k] } ?? 0, s = std.map { $0.count == 1 ? $0[0] : $0[k] } ?? 1
            for v in planes[k] { scalars.append(Float((v * scale - m) / s)) }
        }
        c = planes.count
        return try Tensor(shape: [1, c, h, w], scalars: scalars)
    }
}
