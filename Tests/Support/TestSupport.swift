import ExplainArrays
import ExplainCore
import Foundation

/// Paths and numeric helpers shared by the test targets.
public enum TestPaths {
    /// The repository root (found from this file's location).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var fixtures: String { root + "/Tests/Fixtures" }
    public static var reference: String { fixtures + "/reference" }
    /// Captum layer-attribution fixtures (Tools/make_layer_fixtures.py).
    public static var layer: String { fixtures + "/layer" }
    public static var models: String { fixtures + "/models" }
    public static var arrays: String { fixtures + "/arrays" }
    public static var images: String { fixtures + "/images" }
    /// Models exported with a fixed batch size (Tools/make_fixed_batch_models.py).
    public static var fixedBatch: String { fixtures + "/fixed-batch" }

    /// Sub-folders of a folder, sorted.
    public static func folders(in path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + $0, isDirectory: &dir) && dir.boolValue
        }
    }
}

/// A deterministic random source for tests (the engine's SplitMix64).
public struct TestRandom: RandomNumberGenerator {
    var generator: SeededGenerator
    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    public mutating func next() -> UInt64 { generator.next() }

    /// A tensor of uniform values in `range`.
    public mutating func tensor(_ shape: [Int], _ range: ClosedRange<Float> = -1...1) -> Tensor {
        var g = self
        let t = Tensor(shape: shape) { p in for i in 0..<p.count { p[i] = Float.random(in: range, using: &g) } }
        self = g
        return t
    }
}

/// Comparison in the fixtures' convention: max over samples of the relative L2 error, and max |Δ|.
public struct Deviation: CustomStringConvertible {
    public var relL2: Double
    public var maxAbs: Double

    public init(_ a: Tensor, _ b: Tensor) {
        let n = max(a.shape.first ?? 1, 1)
        let per = a.count / n
        var rel = 0.0, mx = 0.0
        for s in 0..<n {
            var num = 0.0, den = 0.0
            for i in (s * per)..<((s + 1) * per) {
                let d = Double(a.scalars[i]) - Double(b.scalars[i])
                num += d * d
                den += Double(b.scalars[i]) * Double(b.scalars[i])
                mx = max(mx, abs(d))
            }
            rel = max(rel, den == 0 ? (num == 0 ? 0 : .infinity) : (num / den).squareRoot())
        }
        relL2 = rel
        maxAbs = mx
    }

    public var description: String { String(format: "rel L2 %.3g, max |Δ| %.3g", relL2, maxAbs) }
}

/// `Σ a·b` in Double.
public func dot(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.scalars, b.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}
