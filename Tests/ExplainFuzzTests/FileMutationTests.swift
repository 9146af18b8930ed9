import ExplainKit
import ExplainTestSupport
import Foundation
import Testing

/// Damaged array and image files give named errors, never a crash: valid `.npy`, `.npz`, PNG and
/// JPEG files with bytes flipped (mostly in the header), truncated, extended, or with header
/// fields rewritten to absurd values. Decoded arrays are also turned into tensors.
@Suite struct FileMutationTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["EXPLAINKIT_FUZZ_ITERATIONS"] ?? "") ?? 300
    static let arrays = ["f4.npy", "f8.npy", "i8.npy", "u1.npy", "b1.npy", "v2.npy", "v3.npy", "scalar.npy",
                         "stored.npz", "road_cases.npz"]   // fortran, big-endian and deflated files are always rejected
    static let images = ["gradient.png", "gradient.jpg"]
    static let headerEdits = ["'shape': (1000000000000, 1000000000000)", "'shape': (-1, 3)", "'shape': (99999999999999999999,)",
                              "'descr': '<f2'", "'descr': '|O'", "'descr': '<U8'", "'fortran_order': True", "'shape': ()", "'shape': (0,)"]

    /// One mutation of `bytes`: flips, truncation, extension, or (for `.npy`) a header field rewritten.
    static func mutate(_ bytes: [UInt8], rng: inout TestRandom) -> [UInt8] {
        var b = bytes
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
        case 1: b += (0..<Int.random(in: 1...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 2:
            if let text = String(bytes: b.prefix(256), encoding: .isoLatin1), let r = text.range(of: "'shape': \\([^)]*\\)", options: .regularExpression),
               let edit = headerEdits.randomElement(using: &rng) {
                b = Array((text.replacingCharacters(in: r, with: edit)).unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }) + b.dropFirst(256)
            }
        default:
            let span = Int.random(in: 0..<2, using: &rng) == 0 ? min(b.count, 160) : b.count
            for _ in 0..<Int.random(in: 1...4, using: &rng) where span > 0 {
                b[Int.random(in: 0..<span, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        }
        return b
    }

    @Test(arguments: arrays + images)
    func damagedFilesFailCleanly(_ file: String) throws {
        let path = (file.hasSuffix(".png") || file.hasSuffix(".jpg") ? TestPaths.images : TestPaths.arrays) + "/" + file
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = TestRandom(seed: UInt64(file.utf8.count) &* 7919 &+ UInt64(original.count))
        var decoded = 0, rejected = 0
        for k in 0..<Self.iterations {
            let bytes = Self.mutate(original, rng: &rng)
            do {
                defer { decoded += 1 }
                if file.hasSuffix(".npy") {
                    let a = try Numpy.decode(bytes, file: file)
                    _ = try? a.tensor(); _ = try? a.integers()
                } else if file.hasSuffix(".npz") {
                    for (_, a) in try NumpyArchive.decode(bytes, file: file) { _ = try? a.tensor() }
                } else {
                    let image = try Image.decode(bytes, file: file)
                    _ = try image.pngData()
                }
            } catch is ExplainError {
                rejected += 1
            } catch {
                Issue.record("\(file) mutation \(k): \(type(of: error)) \(error) is not an ExplainError")
            }
        }
        // Both outcomes occur: the mutations reach past the first check and are caught by later ones.
        #expect(rejected > Self.iterations / 10 && decoded - rejected > 0, "\(file): \(decoded - rejected) decoded, \(rejected) rejected")
    }
}
