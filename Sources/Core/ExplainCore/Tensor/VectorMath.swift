/// Element-wise functions on eight lanes, for the kernels that apply them to whole tensors.
enum VectorMath {
    typealias V = SIMD8<Float>

    /// `eʸ` for `y ≤ 0` (Cody–Waite reduction, Cephes' polynomial; relative error ≈ 1e-7); 0 below
    /// −87, where the result leaves float's normal range.
    @inline(__always) static func exp(_ x: V) -> V {
        let underflow = x .< V(repeating: -87)
        let y = x.replacing(with: V(repeating: -87), where: underflow)
        let shifted = y * 1.44269504 + 12582912   // 1.5 · 2²³: rounds k = round(y / ln 2) into the low bits
        let k = shifted - 12582912
        let ki = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let r = y - k * 0.693359375 + k * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        return ((p * r * r + r + 1) * unsafeBitCast((ki &+ 127) &<< 23, to: V.self)).replacing(with: 0, where: underflow)
    }
}
