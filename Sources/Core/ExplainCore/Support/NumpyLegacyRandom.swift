/// numpy's legacy random state (`np.random.seed`, `np.random.RandomState`): the Mersenne Twister
/// MT19937 (Matsumoto & Nishimura 1998) seeded with `init_genrand`, and the draws that Python
/// peers make from it, bit for bit, so that a method seeded like its peer draws what the peer draws
/// (e.g. shap's `PermutationExplainer(seed=…)` shuffles).
public struct NumpyLegacyRandom: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var position = 624

    /// `np.random.seed(seed)` for an integer seed in 0…2³² − 1.
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
}
