import Foundation
/// A small, fast, seedable random number generator (SplitMix64) for reproducible results
/// (random weights, noise for SmoothGrad, perturbation samples).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A tensor of values drawn uniformly from `[-bound, bound)`.
    public mutating func uniformTensor(_ shape: [Int], bound: Float) -> Tensor {
        var g = self
        let t = Tensor(shape: shape) { p in
            for i in 0..<p.count { p[i] = (2 * g.nextUnitFloat() - 1) * bound }
        }
        self = g
        return t
    }
}

extension SeededGenerator {
    /// Fills `buffer` with standard normal samples, both values of each Box–Muller pair used.
    public mutating func fillGaussian(_ buffer: UnsafeMutableBufferPointer<Float>) {
        var i = 0
        while i < buffer.count {
            var u1 = Double(next() >> 11) * 0x1.0p-53
            if u1 < 1e-300 { u1 = 1e-300 }
            let u2 = Double(next() >> 11) * 0x1.0p-53
            let r = (-2 * Foundation.log(u1)).squareRoot(), a = 2 * Double.pi * u2
            buffer[i] = Float(r * Foundation.cos(a))
            if i + 1 < buffer.count { buffer[i + 1] = Float(r * Foundation.sin(a)) }
            i += 2
        }
    }
}
