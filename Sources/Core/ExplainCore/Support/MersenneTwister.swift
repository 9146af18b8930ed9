import Foundation
/// The Mersenne Twister MT19937 (Matsumoto & Nishimura 1998) seeded with `init_genrand`, as numpy's
/// legacy random state (`np.random.seed`, `RandomState`) and torch's CPU generator
/// (`torch.manual_seed`) both seed it, and the draws that Python peers make from it, bit for bit,
/// so that a method seeded like its peer draws what the peer draws (shap's
/// `PermutationExplainer(seed=…)` shuffles and KernelExplainer's samples, `torch.randperm`).
public struct MersenneTwister: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var position = 624
    /// torch's cached second Box–Muller normal (`next_double_normal_sample`); seeding clears it.
    private var cachedNormal: Double?
    /// numpy's cached second polar normal (`legacy_gauss`); seeding clears it.
    private var cachedGauss: Double?

    /// `np.random.seed(seed)` or `torch.manual_seed(seed)` for an integer seed in 0…2³² − 1.
    public init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32 random bits (`genrand_int32`, tempered).
    public mutating func nextUInt32() -> UInt32 {
        if position >= 624 {
            for i in 0..<624 {
                let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
                state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
            }
            position = 0
        }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A uniform integer in `0...max` by masked rejection (numpy's `random_interval`).
    public mutating func interval(_ max: UInt64) -> UInt64 {
        guard max > 0 else { return 0 }
        var mask = max
        for shift: UInt64 in [1, 2, 4, 8, 16, 32] { mask |= mask >> shift }
        while true {
            let value: UInt64
            if max <= 0xFFFF_FFFF {
                value = UInt64(nextUInt32()) & mask
            } else {
                value = ((UInt64(nextUInt32()) << 32) | UInt64(nextUInt32())) & mask
            }
            if value <= max { return value }
        }
    }

    /// A uniform double in [0, 1) from 53 random bits (`random_sample`, `rk_double`).
    public mutating func nextDouble() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864 + b) / 9_007_199_254_740_992
    }

    /// One standard normal as numpy's legacy generator draws it (`RandomState.normal`,
    /// `standard_normal`): Marsaglia's polar method on `2u − 1` pairs of `nextDouble`, rejected
    /// outside the unit disc; `f · x2` is returned and `f · x1` kept for the next call.
    public mutating func legacyGauss() -> Double {
        if let cached = cachedGauss {
            cachedGauss = nil
            return cached
        }
        while true {
            let x1 = 2 * nextDouble() - 1, x2 = 2 * nextDouble() - 1
            let r2 = x1 * x1 + x2 * x2
            guard r2 < 1, r2 != 0 else { continue }
            let f = (-2 * log(r2) / r2).squareRoot()
            cachedGauss = f * x1
            return f * x2
        }
    }

    /// `RandomState.choice(count, size, p=p)` (with replacement): each draw is the first index whose
    /// normalised cumulative probability exceeds a uniform double.
    public mutating func choice(_ count: Int, size: Int, p: [Double]) -> [Int] {
        var cdf = [Double](repeating: 0, count: count)
        var total = 0.0
        for i in 0..<min(count, p.count) { total += p[i]; cdf[i] = total }
        let last = cdf.last ?? 1
        for i in cdf.indices { cdf[i] /= last }
        return (0..<size).map { _ in
            let u = nextDouble()
            var lo = 0, hi = count   // first index with cdf > u (searchsorted, side='right')
            while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] <= u { lo = mid + 1 } else { hi = mid } }
            return lo
        }
    }

    /// `RandomState.permutation(n)`: `0..<n` shuffled.
    public mutating func permutation(_ n: Int) -> [Int] {
        var items = Array(0..<max(n, 0))
        shuffle(&items)
        return items
    }

    /// Shuffles in place as `RandomState.shuffle` does a 1-D array (Fisher–Yates from the end).
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, Int(interval(UInt64(i))))
        }
    }

    /// `torch.randperm(n)` on the CPU (n below 2³² / 20): `0..<n` with element i swapped with
    /// element i + (32 random bits mod (n − i)), i = 0 … n − 2.
    public mutating func torchPermutation(_ n: Int) -> [Int] {
        var items = Array(0..<max(n, 0))
        guard n > 1 else { return items }
        for i in 0..<(n - 1) {
            items.swapAt(i, i + Int(UInt64(nextUInt32()) % UInt64(n - i)))
        }
        return items
    }
}

extension MersenneTwister {
    /// `torch.randn(count)` / `Tensor.normal_(0, 1)` on a contiguous float tensor on the CPU.
    /// From 16 elements on: every element first gets a uniform float `(32 bits & (2²⁴ − 1)) / 2²⁴`,
    /// then blocks of 16 become normals by Box–Muller in float (`1 − u` of the first eight with
    /// the last eight), and when 16 does not divide the count the last 16 elements are drawn and
    /// transformed again (ATen's `normal_fill`); torch's AVX2 build evaluates log, sin and cos with
    /// vector approximations, so values can differ from these by an ulp or two. Below 16 elements
    /// each is `torchScalarNormal()` rounded to float.
    public mutating func torchStandardNormals(_ count: Int) -> [Float] {
        guard count >= 16 else { return (0..<max(count, 0)).map { _ in Float(torchScalarNormal()) } }
        var data = [Float](repeating: 0, count: count)
        for i in 0..<count { data[i] = Float(nextUInt32() & 0xFF_FFFF) * 0x1p-24 }
        func transform(_ start: Int) {
            for j in 0..<8 {
                let u1: Float = 1 - data[start + j], u2 = data[start + j + 8]
                let radius = (-2 * logf(u1)).squareRoot()
                let theta = Float(2 * Double.pi * Double(u2))
                data[start + j] = radius * cosf(theta)
                data[start + j + 8] = radius * sinf(theta)
            }
        }
        var i = 0
        while i + 16 <= count { transform(i); i += 16 }
        if count % 16 != 0 {
            for j in (count - 16)..<count { data[j] = Float(nextUInt32() & 0xFF_FFFF) * 0x1p-24 }
            transform(count - 16)
        }
        return data
    }
}

extension MersenneTwister {
    /// A uniform double in [0, 1) as torch's CPU generator draws it (`uniform_real_distribution<double>`):
    /// the low 53 bits of two 32-bit draws, the first one the high word.
    public mutating func torchDouble() -> Double {
        let high = UInt64(nextUInt32()), low = UInt64(nextUInt32())
        return Double(((high << 32) | low) & ((1 << 53) - 1)) * 0x1p-53
    }

    /// One standard normal by torch's scalar path (`at::normal_distribution<double>`, used for
    /// tensors of fewer than 16 elements): Box–Muller on two uniform doubles `u1`, `u2`,
    /// `√(−2 log(1 − u2)) · cos(2π u1)`, the sine half kept for the next call.
    public mutating func torchScalarNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = torchDouble(), u2 = torchDouble()
        let radius = (-2 * log1p(-u2)).squareRoot(), theta = 2 * Double.pi * u1
        cachedNormal = radius * sin(theta)
        return radius * cos(theta)
    }

    /// `Tensor.exponential_()` of `count` floats on the CPU (torch 2.5.1 with MKL): one 32-bit draw
    /// seeds MKL's MCG31 generator, `x₀ = seed mod (2³¹ − 1)` (1 if that is 0) and
    /// `x_{i+1} = 1132489760 · x_i mod (2³¹ − 1)`, and element i is `−log(x_i / (2³¹ − 1))`. MKL
    /// evaluates the logarithm in float, so values can differ from these by an ulp.
    public mutating func torchExponentials(_ count: Int) -> [Float] {
        let modulus: UInt64 = 0x7FFF_FFFF, multiplier: UInt64 = 1_132_489_760
        var x = UInt64(nextUInt32()) % modulus
        if x == 0 { x = 1 }
        return (0..<max(count, 0)).map { _ in
            let value = Float(-log(Double(x) / Double(modulus)))
            x = multiplier * x % modulus
            return value
        }
    }
}

/// Whose random draws a sampling method makes (`--set rng=…`): ExplainKit's own
/// (`SeededGenerator`), or a Python peer's reproduced bit for bit — numpy's legacy generator, torch's
/// CPU generator, Captum's mix of the two, or zennit's use of torch's
/// (`Docs/HowTo/ReproduceAPeersRandomDraws.md`).
public enum RandomDraws: String, Sendable, CaseIterable {
    case explainkit, numpy, torch, captum
    /// zennit's SmoothGrad: one `torch.randn_like(batch)` per noisy copy, the last copy without noise.
    case zennit
    /// lime's `LimeImageExplainer(random_state=seed)`: numpy's legacy generator as `explain_instance` draws from it.
    case lime

    /// Reads `rng` (default `explainkit`), accepting the draws a method can make.
    public static func from(_ options: Options, allowed: [RandomDraws]) throws -> RandomDraws {
        let name = options.string("rng", default: "explainkit")
        guard let draws = RandomDraws(rawValue: name), allowed.contains(draws) else {
            throw ExplainError(.invalidArgument, "rng = '\(name)': use \(allowed.map(\.rawValue).joined(separator: " or ")) here")
        }
        return draws
    }

    /// The `rng` parameter of a method whose peer draws are `peer`, described by `meaning`.
    public static func parameter(_ peer: RandomDraws, _ meaning: String) -> Parameter {
        Parameter("rng", default: "explainkit", "\(peer.rawValue): \(meaning)")
    }

    /// A torch or numpy seed: 0…2³² − 1.
    public static func peerSeed(_ seed: UInt64) throws -> UInt32 {
        guard seed <= UInt64(UInt32.max) else { throw ExplainError.argument("seed = \(seed): the peers' generators take seeds in 0…4294967295 here") }
        return UInt32(seed)
    }
}

/// Random permutations of a batch that move at least one sample, one per unit (feature, group or
/// neuron), for permutation importance: `out[u][s]` is the sample whose values sample `s` takes.
public enum BatchPermutation {
    /// ExplainKit's draws, or torch's (`torch.manual_seed(seed)` then `torch.randperm(n)` per unit,
    /// drawn again while it is the identity, as Captum's `FeaturePermutation` does).
    public static func draw(units: Int, batch n: Int, seed: UInt64, torch: Bool) throws -> [[Int]] {
        guard n >= 2 else { throw ExplainError.argument("permutations across the batch need at least 2 samples, got \(n)") }
        let identity = Array(0..<n)
        if torch {
            var mt = MersenneTwister(seed: try RandomDraws.peerSeed(seed))
            return (0..<units).map { _ in
                var perm = mt.torchPermutation(n)
                while perm == identity { perm = mt.torchPermutation(n) }
                return perm
            }
        }
        var rng = SeededGenerator(seed: seed)
        return (0..<units).map { _ in
            var perm = identity
            repeat { perm.shuffle(using: &rng) } while perm == identity
            return perm
        }
    }

    /// The `rng` parameter of the permutation methods.
    public static let parameter = RandomDraws.parameter(.torch, "each permutation is torch.randperm after torch.manual_seed(seed) (Captum's own draws)")
}
