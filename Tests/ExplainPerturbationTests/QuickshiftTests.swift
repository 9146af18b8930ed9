import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// Quick shift superpixels and numpy's PCG64 against scikit-image 0.26 and numpy
/// (`Tests/Fixtures/arrays/quickshift_cases.npz`, `Tools/make_quickshift_fixture.py`).
struct QuickshiftTests {
    static func archive() throws -> [String: NumpyArray] { try NumpyArchive.read(path: TestPaths.arrays + "/quickshift_cases.npz") }

    /// The raw 64-bit stream is numpy's bit for bit (SeedSequence seeding included); normals from
    /// the ziggurat agree to 1e-9 relative (tables computed, not numpy's stored ones).
    @Test func pcg64IsNumpys() throws {
        let a = try Self.archive()
        for seed in [UInt64(42), 7] {
            let values = try #require(a["pcg_raw_s\(seed)"]).integers()   // (low, high) 32-bit halves
            var rng = NumpyPCG64(seed: seed)
            for i in 0..<8 {
                let x = rng.nextUInt64()
                #expect(Int(x & 0xFFFF_FFFF) == values[2 * i] && Int(x >> 32) == values[2 * i + 1], "seed \(seed), draw \(i)")
            }
        }
        for (key, seed) in [("pcg_normal_s42", UInt64(42)), ("pcg_normal_s123456789", 123_456_789)] {
            guard case .float64(let want) = try #require(a[key]).elements else { Issue.record("\(key) is not float64"); continue }
            var rng = NumpyPCG64(seed: seed)
            for (i, w) in want.enumerated() {
                let g = rng.standardNormal()
                #expect(abs(g - w) <= 1e-9 * max(1, abs(w)), "\(key)[\(i)]: \(g) vs \(w)")
            }
        }
    }

    /// Segment ids equal scikit-image's, pixel for pixel: lime_image's max_dist and ratio, flat
    /// colour blocks (ties broken by the noise), no Lab conversion with another seed, and a grey
    /// image segmented as grey RGB.
    @Test func labelsAreScikitImages() throws {
        let a = try Self.archive()
        let cases: [(String, String, [String: String])] = [
            ("a", "a", ["quickshift": "2,200,0.2"]), ("a", "a2", ["quickshift": "4,8,0.5"]),
            ("b", "b", ["quickshift": "3,6,0.5"]), ("c", "c", ["quickshift": "2,3,1", "convert2lab": "false", "quickshift_seed": "7"]),
            ("d", "d", ["quickshift": "1.5,200,0.2"]),
        ]
        for (image, labels, options) in cases {
            let x = try #require(a["\(image)_image"]).tensor()
            let want = try #require(a["\(labels)_labels"]).integers()
            let groups = try FeatureGroups.from(Options(options), input: x) { FeatureGroups(elementsOf: x) }
            let plane = x.shape[2] * x.shape[3]
            #expect(Array(groups.index[0].prefix(plane)) == want, "\(labels)")
            #expect(groups.count[0] == Int((want.max() ?? 0) + 1))
        }
        // lime's parameters by name; bad parameters are named errors.
        let x = try #require(a["a_image"]).tensor()
        #expect(throws: Never.self) { _ = try FeatureGroups.from(Options(["quickshift": "lime"]), input: x) { FeatureGroups(elementsOf: x) } }
        for bad in [["quickshift": "0,200,0.2"], ["quickshift": "4,200"], ["quickshift": "4,-1,0.2"], ["quickshift": "lime", "convert2lab": "maybe"],
                    ["quickshift": "2,3,1", "convert2lab": "true"]] {
            let input = bad["convert2lab"] == "true" ? try Tensor(shape: [1, 2, 4, 4], scalars: [Float](repeating: 0.5, count: 32)) : x
            #expect(throws: ExplainError.self, "\(bad)") { _ = try FeatureGroups.from(Options(bad), input: input) { FeatureGroups(elementsOf: input) } }
        }
    }
}
