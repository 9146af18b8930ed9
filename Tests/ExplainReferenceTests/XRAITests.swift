import ExplainKit
import ExplainKitTestSupport
import ExplainTestSupport
import Foundation
import Testing

/// XRAI: its region growing against Google PAIR saliency 0.2.1 (the `xrai*` cases of
/// Tests/Fixtures/pair, run in `ReferenceTests`), its segmentation against scikit-image 0.26 and
/// PAIR's region pipeline (Tools/make_xrai_segmentation_fixture.py), and the map's properties.
@Suite struct XRAITests {
    static func archive() throws -> [String: NumpyArray] { try NumpyArchive.read(path: TestPaths.arrays + "/felzenszwalb_cases.npz") }

    static func doubles(_ a: NumpyArray?) throws -> [Double] {
        guard case .float64(let v)? = a?.elements else { throw ExplainError.argument("expected float64") }
        return v
    }

    @Test func felzenszwalbEqualsScikitImage() throws {
        let archive = try Self.archive()
        for (name, shape, scale, sigma, minSize) in [("a", (3, 20, 24), 50.0, 0.8, 10), ("b", (1, 17, 15), 20.0, 0.5, 5)] {
            let image = try Self.doubles(archive[name + "_image"])
            let expected = try #require(archive[name + "_labels"]).integers()
            let got = Felzenszwalb.segment(image, channels: shape.0, height: shape.1, width: shape.2, scale: scale, sigma: sigma, minSize: minSize)
            #expect(got == expected, "\(name): \(Set(got).count) segments, scikit-image \(Set(expected).count)")
        }
    }

    @Test func dilationByADiskEqualsScikitImage() throws {
        let archive = try Self.archive()
        let mask = try #require(archive["d_mask"]).integers().map { $0 != 0 }
        let expected = try #require(archive["d_dilated"]).integers().map { $0 != 0 }
        #expect(XRAI.dilate(mask, height: 30, width: 28, radius: 5) == expected)
    }

    /// PAIR's regions: six scales, dilated — each region's size and first pixel, in PAIR's order —
    /// of a 224 × 224 image, of a small one (resized up to 224 × 224 by cubic splines and the labels
    /// back) and of one whose rows shrink (anti-aliased) while its columns stretch.
    @Test(arguments: [("c", 1, 224, 224), ("e", 3, 16, 16), ("f", 1, 300, 40)])
    func regionsArePairs(_ name: String, _ c: Int, _ h: Int, _ w: Int) throws {
        let archive = try Self.archive()
        let image = try #require(archive[name + "_image"]).tensor().scalars
        let masks = XRAI.felzenszwalbRegions(image, channels: c, height: h, width: w)
        let sizes = try #require(archive[name + "_sizes"]).integers(), first = try #require(archive[name + "_first"]).integers()
        #expect(masks.count == sizes.count)
        #expect(masks.map(\.count) == sizes)
        #expect(masks.map { $0.first ?? -1 } == first)
    }

    /// Every pixel gets the gain of the region that covered it, and the gains fall with the rank;
    /// given one region per pixel block, the map is the blocks' mean attribution; the segments
    /// extra ranks the regions.
    @Test func mapFollowsTheRegionsGains() throws {
        let (model, x, _) = try FixtureModels.load("digits-cnn")
        let one = try x.sample(0)
        // 4 × 4 blocks of 4 × 4 pixels as one label map.
        let blockOf: [Int] = (0..<256).map { (p: Int) -> Int in (p / 16) / 4 * 4 + (p % 16) / 4 }
        let labels = try Tensor(shape: [1, 16, 16], scalars: blockOf.map { Float($0) })
        var options = Options(["steps": "8", "min_pixel_diff": "1", "segments": "file:blocks"])
        options.tensors["segments"] = labels
        let r = try FixtureModels.registry.makeAnalyzer("xrai", model: model, options: options).analyze(one, target: .index(3))
        // With disjoint regions every block is added once: its value is its mean IG (black and white baselines, max over channels).
        let q = try PathQuadrature(.linspace, steps: 8)
        let scalars = one.scalars
        let (lo, hi) = (scalars.min() ?? 0, scalars.max() ?? 0)
        let black = try IntegratedGradients(model: model, baseline: .channels([lo]), quadrature: q).analyze(one, target: .index(3)).values.scalars
        let white = try IntegratedGradients(model: model, baseline: .channels([hi]), quadrature: q).analyze(one, target: .index(3)).values.scalars
        let values = r.values.scalars
        for block in 0..<16 {
            let pixels = (0..<256).filter { blockOf[$0] == block }
            var sum = 0.0
            for p in pixels { sum += (Double(black[p]) + Double(white[p])) / 2 }
            let mean = sum / Double(pixels.count)
            for p in pixels {
                let off = abs(Double(values[p]) - mean)
                #expect(off < 1e-5 * max(1, abs(mean)), "block \(block)")
            }
        }
        let ranks = try #require(r.extras["segments"]).scalars
        let byRank = Dictionary(grouping: 0..<256) { Int(ranks[$0]) }
        #expect(byRank.count == 16)
        let gains = (1...16).map { Double(r.values.scalars[byRank[$0]?.first ?? 0]) }
        #expect(zip(gains, gains.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func badInputGetsNamedErrors() throws {
        let (model, x, _) = try FixtureModels.load("digits-cnn")
        var options = Options(["segments": "file:s"])
        options.tensors["segments"] = Tensor(shape: [4, 8, 8])
        let shape = #expect(throws: ExplainError.self) { try FixtureModels.registry.makeAnalyzer("xrai", model: model, options: options).analyze(x, target: .max) }
        #expect(shape?.message.contains("label maps") == true)
        options.tensors["segments"] = x
        let fractions = #expect(throws: ExplainError.self) { try FixtureModels.registry.makeAnalyzer("xrai", model: model, options: options).analyze(x, target: .max) }
        #expect(fractions?.message.contains("integer labels") == true)
        #expect(throws: ExplainError.self) { try FixtureModels.registry.makeAnalyzer("xrai", model: model, options: Options(["algorithm": "greedy"])) }
        let mlp = try FixtureModels.load("cancer-mlp")
        let rank = #expect(throws: ExplainError.self) { try FixtureModels.registry.makeAnalyzer("xrai", model: mlp.model).analyze(mlp.input, target: .max) }
        #expect(rank?.message.contains("(N, C, H, W)") == true)
    }
}
