import CStb
import ExplainCore
import Foundation

/// An 8-bit image: `height × width × channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), row-major, interleaved.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0, (1...4).contains(channels) else {
            throw ExplainError(.invalidArgument, "image size \(width)×\(height)×\(channels) is not valid")
        }
        guard pixels.count == width * height * channels else {
            throw ExplainError(.shapeMismatch, "\(pixels.count) bytes do not fill a \(width)×\(height)×\(channels) image")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// For sizes that are consistent by construction.
    init(validWidth width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Largest image accepted when decoding (pixels), checked from the header before decoding.
    public static let maxPixels = 1 << 28

    /// Decodes PNG (8/16-bit, gray/RGB/RGBA/palette) or JPEG (baseline, progressive) bytes.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> Image {
        guard !bytes.isEmpty, bytes.count < Int(Int32.max) else { throw ExplainError(.malformedFile, "empty or oversized image file", file: file) }
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        guard let p = bytes.withUnsafeBufferPointer({ explain_stb_decode($0.baseAddress, Int32($0.count), &w, &h, &c) }) else {
            let reason = explain_stb_failure().map { String(cString: $0) } ?? "unknown reason"
            throw ExplainError(.malformedFile, "not a readable PNG or JPEG image (\(reason))", file: file)
        }
        defer { explain_stb_free(p) }
        let (width, height, channels) = (Int(w), Int(h), Int(c))
        guard width > 0, height > 0, width * height <= maxPixels, (1...4).contains(channels) else {
            throw ExplainError(.tooLarge, "image \(width)×\(height) is outside the supported size", file: file)
        }
        return try Image(width: width, height: height, channels: channels,
                         pixels: Array(UnsafeBufferPointer(start: p, count: width * height * channels)))
    }

    /// Reads a PNG or JPEG file.
    public static func read(path: String) throws -> Image {
        guard FileManager.default.fileExists(atPath: path) else { throw ExplainError(.io, "image file not found", file: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw ExplainError(.io, "cannot read the image file", file: path) }
        return try decode([UInt8](data), file: path)
    }

    /// Encodes as PNG.
    public func pngData() throws -> [UInt8] {
        var length: Int32 = 0
        guard let p = pixels.withUnsafeBufferPointer({
            explain_stb_encode_png($0.baseAddress, Int32(width), Int32(height), Int32(channels), &length)
        }) else { throw ExplainError(.io, "PNG encoding failed") }
        defer { explain_stb_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: Int(length)))
    }

    /// Writes a PNG file.
    public func writePNG(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(try pngData())) else {
            throw ExplainError(.io, "cannot write the PNG file (does the directory exist?)", file: path)
        }
    }

    /// The pixel value of channel `c` at (x, y).
    @inline(__always)
    public func value(_ x: Int, _ y: Int, _ c: Int) -> UInt8 { pixels[(y * width + x) * channels + c] }

    /// An RGB copy (gray replicated, alpha dropped).
    public var rgb: Image {
        if channels == 3 { return self }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            for k in 0..<3 {
                out[i * 3 + k] = channels >= 3 ? pixels[i * channels + k] : pixels[i * channels]
            }
        }
        return Image(validWidth: width, height: height, channels: 3, pixels: out)
    }
}
