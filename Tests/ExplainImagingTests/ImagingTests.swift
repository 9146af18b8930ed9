import ExplainArrays
import ExplainCore
import ExplainImaging
import ExplainTestSupport
import Foundation
import Testing

@Suite struct ImageIOTests {
    @Test(arguments: [1, 3, 4])
    func pngRoundTrip(_ channels: Int) throws {
        var rng = TestRandom(seed: UInt64(channels))
        let pixels = (0..<(7 * 5 * channels)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let image = try Image(width: 7, height: 5, channels: channels, pixels: pixels)
        let back = try Image.decode(try image.pngData())
        #expect(back == image)
    }

    @Test func readsPngAndJpeg() throws {
        let dir = TestPaths.fixtures + "/images"
        let expected = try Numpy.read(path: dir + "/gradient_rgb.npy").integers()
        let png = try Image.read(path: dir + "/gradient.png")
        #expect(png.width == 8 && png.height == 6 && png.channels == 3)
        #expect(png.pixels.map(Int.init) == expected)
        let jpeg = try Image.read(path: dir + "/gradient.jpg")
        #expect(jpeg.width == 8 && jpeg.height == 6 && jpeg.channels == 3)
        // Same decoded pixels as PIL/libjpeg, up to the IDCT/upsampling rounding of the two decoders.
        let pil = try Numpy.read(path: dir + "/gradient_jpg_pil.npy").integers()
        let err = zip(jpeg.pixels.map(Int.init), pil).map { abs($0 - $1) }.max() ?? 0
        #expect(err <= 4, "max difference to PIL \(err)")
    }

    @Test func badFilesNameTheFile() throws {
        let dir = TestPaths.fixtures + "/images"
        do { _ = try Image.read(path: dir + "/missing.png"); Issue.record("expected an error") } catch let e as ExplainError {
            #expect(e.file?.hasSuffix("missing.png") == true)
        }
        let png = try Files.read(dir + "/gradient.png")
        #expect(throws: ExplainError.self) { try Image.decode(Array(png.prefix(40)), file: "cut.png") }
        #expect(throws: ExplainError.self) { try Image.decode(Array("not an image at all".utf8), file: "x.png") }
        do { _ = try Image.read(path: TestPaths.reference + "/digits-cnn/input.npy"); Issue.record("expected an error") } catch let e as ExplainError {
            #expect(e.code == .malformedFile)
            #expect(e.file?.hasSuffix("input.npy") == true)
        }
    }
}

@Suite struct HeatmapTests {
    @Test func colormapEndpointsAndMidpoint() {
        #expect(Colormap.bwr.color(0) == (0, 0, 255))
        #expect(Colormap.bwr.color(0.5) == (255, 255, 255))
        #expect(Colormap.bwr.color(1) == (255, 0, 0))
        #expect(Colormap.seismic.color(0.5) == (255, 255, 255))
        #expect(Colormap.coldnhot.color(0.5) == (0, 0, 0))
        #expect(Colormap.gray.color(0) == (0, 0, 0) && Colormap.gray.color(1) == (255, 255, 255))
        #expect(Colormap.hot.color(1) == (255, 255, 255))
        #expect(Colormap.viridis.color(1) == (253, 231, 37))
        #expect(Colormap.bwr.color(-3) == Colormap.bwr.color(0))   // clamped
    }

    @Test func normalisationEdgeCases() throws {
        let r = HeatmapRenderer(reduction: .sum, normalization: .symmetric, colormap: .bwr)
        // All zero: neutral everywhere.
        let zero = try r.render(Tensor(shape: [1, 2, 2]))
        #expect(zero.pixels.allSatisfy { $0 == 255 })
        // A single non-zero value takes the end of the map; the rest stays neutral.
        let single = try r.render(try Tensor(shape: [1, 1, 2], scalars: [0, -3]))
        #expect(Array(single.pixels[0..<3]) == [255, 255, 255])
        #expect(Array(single.pixels[3..<6]) == [0, 0, 255])
        // NaN is an error, not a picture.
        #expect(throws: ExplainError.self) { try r.render(try Tensor(shape: [1, 1, 2], scalars: [.nan, 1])) }
        // Percentile clipping saturates the outlier's neighbours less.
        let p = HeatmapRenderer(reduction: .absSum, normalization: .percentile(50), colormap: .gray)
        let clipped = p.normalize([1, 2, 100])
        #expect(clipped == [0.5, 1, 1])
        // Channel reductions.
        let t = try Tensor(shape: [2, 1, 1], scalars: [2, -3])
        #expect(try HeatmapRenderer(reduction: .sum).reduce(t).map == [-1])
        #expect(try HeatmapRenderer(reduction: .absSum).reduce(t).map == [5])
        #expect(try HeatmapRenderer(reduction: .maxAbs).reduce(t).map == [-3])
    }

    @Test func upscalingAndOverlay() throws {
        let r = HeatmapRenderer(colormap: .gray)
        let up = try r.render(try Tensor(shape: [1, 1, 2], scalars: [0, 1]), size: (4, 1))
        #expect(up.width == 4 && up.height == 1)
        let row = stride(from: 0, to: 12, by: 3).map { up.pixels[$0] }
        #expect(row == row.sorted() && row.first == 0 && row.last == 255)
        let overlay = try Image(width: 4, height: 1, channels: 1, pixels: [100, 100, 100, 100])
        let blended = try r.render(try Tensor(shape: [1, 1, 2], scalars: [0, 1]), size: (4, 1), overlay: overlay, alpha: 0.5)
        #expect(blended.pixels[0] == 50)      // 0.5·0 + 0.5·100
        #expect(blended.pixels[9] == 178)     // 0.5·255 + 0.5·100, rounded
        #expect(throws: ExplainError.self) { try r.render(Tensor(shape: [1, 1, 2]), overlay: overlay) }
    }
}
