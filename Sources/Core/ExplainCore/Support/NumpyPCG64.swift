import Foundation

/// numpy's default bit generator, PCG64 (O'Neill 2014: a 128-bit linear congruential state with the
/// XSL-RR output), seeded as `np.random.default_rng(seed)` seeds it (`SeedSequence(seed)`'s hash
/// mixing, then `pcg64_set_seed`), with the draws scikit-image makes from it: 53-bit doubles and
/// standard normals by numpy's 256-layer ziggurat. The raw stream is numpy's bit for bit; the
/// ziggurat's tables are computed here from Marsaglia & Tsang's recurrence (r = 3.6541528853610088,
/// v = 0.00492867323399) and agree with numpy's stored ones to about 1e-10 relative, so normals agree
/// to that precision and take the same accept / reject decisions.
public struct NumpyPCG64: Sendable {
    private var state: (high: UInt64, low: UInt64)
    private let increment: (high: UInt64, low: UInt64)
    private static let multiplier: (high: UInt64, low: UInt64) = (2_549_297_995_355_413_924, 4_865_540_595_714_422_341)

    /// `np.random.PCG64(seed)` / `np.random.default_rng(seed)` for a seed in 0…2⁶⁴ − 1.
    public init(seed: UInt64) {
        let words = Self.seedSequence(seed, words: 8)
        let v = (0..<4).map { UInt64(words[2 * $0]) | UInt64(words[2 * $0 + 1]) << 32 }
        // pcg_setseq_128_srandom_r: inc = (initseq << 1) | 1; step; state += initstate; step.
        increment = (v[2] << 1 | v[3] >> 63, v[3] << 1 | 1)
        state = (0, 0)
        step()
        state = Self.add(state, (v[0], v[1]))
        step()
    }

    /// The next 64 random bits (step, then XSL-RR of the new state).
    public mutating func nextUInt64() -> UInt64 {
        step()
        let x = state.high ^ state.low, rotation = state.high >> 58
        return x >> rotation | x << ((64 - rotation) & 63)
    }

    /// A uniform double in [0, 1): the top 53 bits of a 64-bit draw.
    public mutating func nextDouble() -> Double { Double(nextUInt64() >> 11) * 0x1p-53 }

    /// `Generator.standard_normal()`: numpy's ziggurat (256 layers, 52-bit magnitudes).
    public mutating func standardNormal() -> Double {
        let t = Ziggurat.tables
        while true {
            var r = nextUInt64()
            let index = Int(r & 0xFF)
            r >>= 8
            let negative = r & 1 == 1, magnitude = (r >> 1) & 0x000F_FFFF_FFFF_FFFF
            var x = Double(magnitude) * t.w[index]
            if negative { x = -x }
            if magnitude < t.k[index] { return x }
            if index == 0 {
                while true {
                    let xx = -Ziggurat.inverseR * log1p(-nextDouble()), yy = -log1p(-nextDouble())
                    if yy + yy > xx * xx { return (magnitude >> 8) & 1 == 1 ? -(Ziggurat.r + xx) : Ziggurat.r + xx }
                }
            }
            if (t.f[index - 1] - t.f[index]) * nextDouble() + t.f[index] < exp(-0.5 * x * x) { return x }
        }
    }

    private mutating func step() {
        state = Self.add(Self.multiply(state, Self.multiplier), increment)
    }

    private static func add(_ a: (high: UInt64, low: UInt64), _ b: (high: UInt64, low: UInt64)) -> (high: UInt64, low: UInt64) {
        let (low, carry) = a.low.addingReportingOverflow(b.low)
        return (a.high &+ b.high &+ (carry ? 1 : 0), low)
    }

    /// The low 128 bits of a 128 × 128-bit product.
    private static func multiply(_ a: (high: UInt64, low: UInt64), _ b: (high: UInt64, low: UInt64)) -> (high: UInt64, low: UInt64) {
        let (high, low) = a.low.multipliedFullWidth(by: b.low)
        return (high &+ a.low &* b.high &+ a.high &* b.low, low)
    }

    /// `SeedSequence(entropy).generate_state(words, np.uint32)` (numpy's hash mixing, pool of 4).
    static func seedSequence(_ entropy: UInt64, words: Int) -> [UInt32] {
        let (initA, multA, initB, multB): (UInt32, UInt32, UInt32, UInt32) = (0x43B0_D7E5, 0x931E_8875, 0x8B51_F9DD, 0x58F3_8DED)
        let (mixL, mixR): (UInt32, UInt32) = (0xCA01_F9DD, 0x4973_F715)
        var entropyWords = [UInt32]()
        var e = entropy
        repeat { entropyWords.append(UInt32(truncatingIfNeeded: e)); e >>= 32 } while e > 0
        var hashConstant = initA
        func hashmix(_ value: UInt32) -> UInt32 {
            var v = value ^ hashConstant
            hashConstant = hashConstant &* multA
            v = v &* hashConstant
            return v ^ v >> 16
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let r = (mixL &* x) &- (mixR &* y)
            return r ^ r >> 16
        }
        let padded = entropyWords + [UInt32](repeating: 0, count: max(0, 4 - entropyWords.count))
        var pool = (0..<4).map { hashmix(padded[$0]) }
        for source in 0..<4 { for target in 0..<4 where source != target { pool[target] = mix(pool[target], hashmix(pool[source])) } }
        for source in 4..<max(padded.count, 4) { for target in 0..<4 { pool[target] = mix(pool[target], hashmix(padded[source])) } }
        var constant = initB
        return (0..<words).map { i in
            var v = pool[i % 4] ^ constant
            constant = constant &* multB
            v = v &* constant
            return v ^ v >> 16
        }
    }

    /// The ziggurat's layers: `k` acceptance thresholds, `w` magnitude scales, `f` densities.
    enum Ziggurat {
        static let r = 3.6541528853610087963519472518, inverseR = 0.27366123732975827203338247596
        static let tables: (k: [UInt64], w: [Double], f: [Double]) = {
            let scale = 0x1p52, v = 0.00492867323399
            var k = [UInt64](repeating: 0, count: 256), w = [Double](repeating: 0, count: 256), f = [Double](repeating: 0, count: 256)
            var x = r, previous = r
            let q = v / exp(-0.5 * x * x)
            k[0] = UInt64(x / q * scale)
            w[0] = q / scale
            w[255] = x / scale
            f[0] = 1
            f[255] = exp(-0.5 * x * x)
            for i in stride(from: 254, through: 1, by: -1) {
                x = (-2 * log(v / x + exp(-0.5 * x * x))).squareRoot()
                k[i + 1] = UInt64(x / previous * scale)
                previous = x
                f[i] = exp(-0.5 * x * x)
                w[i] = x / scale
            }
            return (k, w, f)
        }()
    }
}
