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
    public static func allFinite(_ p: UnsafePointer<Float>, count n: Int) -> Bool {
        let bits = UnsafeRawPointer(p).assumingMemoryBound(to: UInt32.self)
        var acc: UInt32 = 0
        for i in 0..<n { acc = max(acc, bits[i] & 0x7F80_0000) }
        return acc < 0x7F80_0000
    }
}
