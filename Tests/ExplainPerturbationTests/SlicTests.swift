import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// SLIC superpixels against scikit-image 0.26, label for label (`Tests/Fixtures/arrays/slic_cases.npz`,
/// `Tools/make_slic_fixture.py`), and their use as feature groups.
struct SlicTests {
    /// RGB images in Lab (scikit-image's default) and not, grey digits, a two-channel image with
    /// fewer iterations, and more segments requested than pixels allow.
    @Test(arguments: [("rgb_default", 100, 10.0, nil as Bool?, 10), ("rgb_k30_c5", 30, 5.0, nil, 10), ("rgb_k12_nolab", 12, 3.0, false, 10),
                      ("gray_digit_default", 100, 10.0, nil, 10), ("gray_digit_k16_c01", 16, 0.1, nil, 10), ("two_channel_k9", 9, 2.0, nil, 4),
                      ("rgb_k200_small_segments", 200, 20.0, nil, 10)])
    func labelsAreScikitImages(_ name: String, _ k: Int, _ compactness: Double, _ lab: Bool?, _ iterations: Int) throws {
        let a = try NumpyArchive.read(path: TestPaths.arrays + "/slic_cases.npz")
        let image = try #require(a[name + "_image"]), want = try #require(a[name + "_labels"]).integers()
        var p = Superpixels.Parameters()
        (p.segments, p.compactness, p.convertToLab, p.iterations) = (k, compactness, lab, iterations)
        let (h, w, c) = (image.shape[0], image.shape[1], image.shape[2])
        let got = try Superpixels.slic(image.doubles(), height: h, width: w, channels: c, p)
        let wrong = zip(got, want).filter { $0 != $1 }.count
        #expect(got.count == want.count && wrong == 0, "\(name): \(wrong) of \(want.count) pixels differ")
    }

    /// As feature groups (`--set slic=k`): one segmentation per image shared by its channels, ids
    /// 0…M−1; a sharp edge between two flat halves is never crossed.
    @Test func groupsShareTheSegmentsAcrossChannels() throws {
        let halves = Tensor(shape: [1, 2, 8, 8]) { p in for i in 0..<p.count { p[i] = i % 8 < 4 ? 0 : 1 } }
        var p = Superpixels.Parameters()
        (p.segments, p.compactness) = (4, 0.1)
        let four = try FeatureGroups(slic: p, input: halves)
        for g in 0..<four.count[0] {
            let sides = Set((0..<64).filter { four.index[0][$0] == g }.map { $0 % 8 < 4 })
            #expect(sides.count == 1, "segment \(g) crosses the edge")
        }
        #expect(four.count[0] >= 2 && (0..<64).allSatisfy { four.index[0][64 + $0] == four.index[0][$0] })
        var rng = TestRandom(seed: 6)
        let image = rng.tensor([2, 1, 16, 16], 0...1)
        p.segments = 16
        let groups = try FeatureGroups(slic: p, input: image)
        for s in 0..<2 { #expect(Set(groups.index[s]) == Set(0..<groups.count[s])) }
    }
}
