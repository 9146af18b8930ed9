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

@Suite struct GridAndPreprocessingTests {
    @Test func gridSizeAndLabels() throws {
        let cell = try Image(width: 10, height: 10, channels: 3, pixels: [UInt8](repeating: 128, count: 300))
        let layout = GridLayout(cell: 10, gap: 2, labelScale: 1)
        for (r, c) in [(1, 1), (3, 2), (2, 5)] {
            let rows = (0..<r).map { GridLayout.Row(label: ["row \($0)"], cells: [Image](repeating: cell, count: c)) }
            let columns = (0..<c).map { "m\($0)" }
            let grid = try layout.render(rows: rows, columns: columns)
            #expect(grid.width == layout.labelWidth(rows) + c * 12 + 2)
            #expect(grid.height == layout.headerHeight(columns) + r * 12 + 2)
        }
        // A known glyph: "I" is drawn as dark pixels in the label area, nothing outside the text box.
        var canvas = try Canvas(width: 20, height: 12)
        canvas.text("I", x: 2, y: 2)
        let dark = canvas.image.pixels.enumerated().filter { $0.offset % 3 == 0 && $0.element == 0 }.map { $0.offset / 3 }
        #expect(!dark.isEmpty)
        let (w, h) = Canvas.textSize("I")
        #expect(dark.allSatisfy { ($0 % 20) >= 2 && ($0 % 20) < 2 + w && ($0 / 20) >= 2 && ($0 / 20) < 2 + h })
        #expect(throws: ExplainError.self) { try layout.render(rows: [GridLayout.Row(label: [], cells: [cell])], columns: ["a", "b"]) }
        #expect(GridLayout.wrap("lrp.epsilon_plus_flat", limit: 8) == ["lrp.", "epsilon_", "plus_", "flat"])
        #expect(GridLayout.wrap("true 3\npred 3", limit: 8) == ["true 3", "pred 3"])
        #expect(GridLayout.wrap("a\nlrp.epsilon_plus", limit: 8) == ["a", "lrp.", "epsilon_", "plus"])
    }

    @Test func preprocessingMatchesHandComputedValues() throws {
        // 2×2 RGB: grayscale, scale 1/255, mean 0.5, std 0.25.
        let img = try Image(width: 2, height: 2, channels: 3, pixels: [255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255])
        let gray = try Preprocessing(grayscale: true, mean: [0.5], std: [0.25]).tensor(from: img)
        #expect(gray.shape == [1, 1, 2, 2])
        let expected: [Double] = [255, 0, 0.299 * 255, 0.114 * 255].map { ($0 / 255 - 0.5) / 0.25 }
        for (a, b) in zip(gray.scalars, expected) { #expect(abs(Double(a) - b) < 1e-5) }
        // RGB planes, BGR order, per-channel mean.
        let bgr = try Preprocessing(scale: 1, mean: [1, 2, 3], channelOrder: "bgr").tensor(from: img)
        #expect(bgr.shape == [1, 3, 2, 2])
        #expect(Array(bgr.scalars[0..<4]) == [254, -1, -1, 254])   // blue plane − 1
        // Resize: a constant image stays constant; center crop keeps the middle.
        let flat = try Image(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 51, count: 16))
        let resized = try Preprocessing(resize: [3, 5]).tensor(from: flat)
        #expect(resized.shape == [1, 1, 3, 5] && resized.scalars.allSatisfy { abs($0 - 0.2) < 1e-6 })
        let ramp = try Image(width: 4, height: 1, channels: 1, pixels: [0, 10, 20, 30])
        #expect(try Preprocessing(centerCrop: [1, 2], scale: 1).tensor(from: ramp).scalars == [10, 20])
        #expect(throws: ExplainError.self) { try Preprocessing(centerCrop: [2, 2]).tensor(from: ramp) }
        #expect(throws: ExplainError.self) { try Preprocessing(std: [0]).tensor(from: ramp) }
    }
}
