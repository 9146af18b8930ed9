import ExplainCore
import ExplainTestSupport
import Testing

/// Relu outputs kept as bit masks (`PositiveMask`) and the placeholders that stand in for them.
@Suite struct PositiveMaskTests {
    /// Random values with exact zeros, negative zeros and NaNs sprinkled in.
    static func values(_ n: Int, seed: UInt64) -> Tensor {
        var rng = TestRandom(seed: seed)
        var t = rng.tensor([n])
        t.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: n, by: 7) { p[i] = 0 }
            for i in stride(from: 3, to: n, by: 11) { p[i] = -0.0 }
            for i in stride(from: 5, to: n, by: 13) { p[i] = .nan }
        }
        return t
    }

    /// Equal including NaNs (bit for bit).
    static func identical(_ a: Tensor, _ b: Tensor) -> Bool {
        a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    /// Lengths around a byte, and one split over the cores (more than 2¹³ bytes of mask).
    @Test(arguments: [1, 7, 8, 9, 37, 1000, 70_001])
    func reluAndMaskMatchTheLayer(_ n: Int) throws {
        let x = Self.values(n, seed: UInt64(n))
        let expected = try Relu().forward([x])
        let (y, mask) = PositiveMask.relu(x)
        var z = x
        let maskInPlace = PositiveMask.reluInPlace(&z)
        #expect(Self.identical(y, expected) && Self.identical(z, expected))
        let positive = Tensor(shape: x.shape) { out in for i in 0..<n { out[i] = x.scalars[i] > 0 ? 1 : 0 } }
        #expect(mask.tensor == positive && maskInPlace.tensor == positive)
        #expect(mask.count == n && mask.shape == [n])
    }

    /// `keep` zeroes exactly where the Relu's output is not > 0, like the mask from the output itself.
    @Test(arguments: [9, 1000, 70_001])
    func keepMatchesTheOutputMask(_ n: Int) throws {
        let x = Self.values(n, seed: 5)
        let (y, mask) = PositiveMask.relu(x)
        var rng = TestRandom(seed: 6)
        let g = rng.tensor([n])
        var byBits = g
        try mask.keep(&byBits)
        var byValues = g
        try Relu().pullbackInPlace(inputs: [x], output: y, cotangent: &byValues)
        #expect(byBits == byValues)
        var wrong = rng.tensor([n + 1])
        #expect(throws: ExplainError.self) { try mask.keep(&wrong) }
    }

    @Test func placeholderHasAShapeAndNoElements() {
        let p = Tensor.placeholder(shape: [2, 3, 4])
        #expect(p.isPlaceholder && p.count == 24 && p.shape == [2, 3, 4])
        #expect(!Tensor(shape: [2, 0]).isPlaceholder && !Tensor(shape: [3]).isPlaceholder && !Tensor(scalar: 0).isPlaceholder)
    }
}
