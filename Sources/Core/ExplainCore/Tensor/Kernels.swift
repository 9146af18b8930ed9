/// Branch-free element-wise kernels on raw buffers (SIMD8 lanes plus a scalar tail).
///
/// Selects like `x > 0 ? g : 0` compile to unpredictable branches when written as scalar loops;
/// these kernels use vector masks instead.
public enum Kernels {
    /// `g[i] = x[i] > 0 ? g[i] : 0` (NaN in x gives 0).
    public static func keepWherePositive(_ x: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i &+ 8 <= n {
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(g + i).storeBytes(of: gv.replacing(with: 0, where: .!(xv .> 0)), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < n {
            if !(x[i] > 0) { g[i] = 0 }
            i &+= 1
        }
    }

    /// `y[i] += a · x[i]`.
    @inline(__always)
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        let av = SIMD8<Float>(repeating: a)
        while i &+ 8 <= n {
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: yv + av * xv, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < n { y[i] += a * x[i]; i &+= 1 }
    }

    /// `g[i] = x[i] · g[i]`.
    public static func multiply(_ x: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i &+ 8 <= n {
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(g + i).storeBytes(of: xv * gv, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < n { g[i] = x[i] * g[i]; i &+= 1 }
    }

    /// `out[i] = x[i] > 0 && g[i] > 0 ? g[i] : 0`, or without the `x` mask when `x` is nil.
    public static func positivePart(_ g: UnsafePointer<Float>, maskedBy x: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i &+ 8 <= n {
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
            var keep = gv .> 0
            if let x { keep = keep .& (UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) .> 0) }
            UnsafeMutableRawPointer(out + i).storeBytes(of: gv.replacing(with: 0, where: .!keep), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < n {
            out[i] = g[i] > 0 && (x.map { $0[i] > 0 } ?? true) ? g[i] : 0
            i &+= 1
        }
    }

    /// Whether every element is finite: the largest exponent field must be below all-ones.
    /// (An all-ones exponent plus one carries into the sign bit, which the OR collects.)
    public static func allFinite(_ p: UnsafePointer<Float>, count n: Int) -> Bool {
        let raw = UnsafeRawPointer(p)
        var acc = SIMD8<UInt32>(repeating: 0)
        let exponent = SIMD8<UInt32>(repeating: 0x7F80_0000), one = SIMD8<UInt32>(repeating: 0x0080_0000)
        var i = 0
        while i &+ 8 <= n {
            acc |= (raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<UInt32>.self) & exponent) &+ one
            i &+= 8
        }
        var tail: UInt32 = 0
        while i < n {
            tail |= (raw.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self) & 0x7F80_0000) &+ 0x0080_0000
            i &+= 1
        }
        for k in 0..<8 { tail |= acc[k] }
        return tail & 0x8000_0000 == 0
    }
}

extension Kernels {
    /// The smallest and largest element (NaN-free input assumed; NaNs are skipped).
    public static func minMax(_ p: UnsafePointer<Float>, count n: Int) -> (min: Float, max: Float) {
        var lo = SIMD8<Float>(repeating: .infinity), hi = SIMD8<Float>(repeating: -.infinity)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i &+ 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            lo = lo.replacing(with: v, where: v .< lo)
            hi = hi.replacing(with: v, where: v .> hi)
            i &+= 8
        }
        var a = lo.min(), b = hi.max()
        while i < n { a = Swift.min(a, p[i]); b = Swift.max(b, p[i]); i &+= 1 }
        return (a, b)
    }

    /// `Σ p[i]` in 16 float lanes (a fixed order: the same input always gives the same sum).
    public static func sum(_ p: UnsafePointer<Float>, count n: Int) -> Float {
        var a = SIMD8<Float>(repeating: 0), b = SIMD8<Float>(repeating: 0)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i &+ 16 <= n {
            a += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            b += raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            i &+= 16
        }
        var total = (a + b).sum()
        while i < n { total += p[i]; i &+= 1 }
        return total
    }

    /// Which entries an LRP ratio keeps.
    public enum SignMask: Sendable { case all, positive, negative }
}
