import CExplainSupport

/// Where a tensor is `> 0`, one bit per element (32× smaller than the tensor): what a backward pass
/// needs of a Relu's output when no other step reads its values. The forward pass records it while
/// applying the Relu (`relu(_:)`, `reluInPlace(_:)`) and can then free the output itself.
///
/// Bit i (row-major element order) is bit `i % 8` of byte `i / 8`; NaN counts as not positive, as in
/// `Kernels.keepWherePositive`.
public struct PositiveMask: Sendable {
    /// The shape of the tensor the mask was taken from.
    public let shape: [Int]
    /// The number of elements (bits).
    public let count: Int
    let bytes: [UInt8]

    /// `max(x, 0)` (NaN kept) written over `x`, and its mask.
    public static func reluInPlace(_ x: inout Tensor) -> PositiveMask {
        let n = x.count
        let bytes = [UInt8](unsafeUninitializedCapacity: (n + 7) / 8) { bits, initialized in
            x.withUnsafeMutableBufferPointer { p in run(p.baseAddress.map { UnsafePointer($0) }, p.baseAddress, n, bits.baseAddress) }
            initialized = (n + 7) / 8
        }
        return PositiveMask(shape: x.shape, count: n, bytes: bytes)
    }

    /// `max(x, 0)` (NaN kept) as a new tensor, and its mask.
    public static func relu(_ x: Tensor) -> (output: Tensor, mask: PositiveMask) {
        let n = x.count
        var bytes: [UInt8] = []
        let y = Tensor(shape: x.shape) { out in
            bytes = [UInt8](unsafeUninitializedCapacity: (n + 7) / 8) { bits, initialized in
                x.withUnsafeBufferPointer { p in run(p.baseAddress, out.baseAddress, n, bits.baseAddress) }
                initialized = (n + 7) / 8
            }
        }
        return (y, PositiveMask(shape: x.shape, count: n, bytes: bytes))
    }

    /// The Relu kernel over whole bytes of the mask, split over the cores.
    private static func run(_ source: UnsafePointer<Float>?, _ target: UnsafeMutablePointer<Float>?, _ n: Int,
                            _ mask: UnsafeMutablePointer<UInt8>?) {
        guard n > 0, let source, let target, let mask else { return }
        nonisolated(unsafe) let (x, y, bits) = (source, target, mask)
        // Pieces of whole bytes, so that no two workers write the same byte.
        Parallel.forEachRange((n + 7) / 8, grain: 1 << 13) { r in
            let first = r.lowerBound * 8, last = min(n, r.upperBound * 8)
            explain_relu_mask(x + first, y + first, last - first, bits + r.lowerBound)
        }
    }

    /// Zeroes `g` (shaped like the mask's tensor) where the mask is clear.
    public func keep(_ g: inout Tensor) throws {
        guard g.shape == shape else {
            throw ExplainError.shape("mask \(Shape.format(shape)) does not match gradient \(Shape.format(g.shape))")
        }
        g.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            nonisolated(unsafe) let g = base
            Parallel.forEachRange(count) { r in apply(to: g, offset: r.lowerBound, count: r.count) }
        }
    }

    /// Zeroes `g[offset ..< offset + count]` where bits `offset ..< offset + count` are clear (`g`
    /// laid out like the mask's tensor).
    func apply(to g: UnsafeMutablePointer<Float>, offset: Int, count: Int) {
        bytes.withUnsafeBufferPointer { b in explain_keep_where_bits(b.baseAddress!, offset, g + offset, count) }
    }

    /// The mask as a tensor of 0 and 1 (tests, diagnostics).
    public var tensor: Tensor {
        Tensor(shape: shape) { out in for i in 0..<count { out[i] = (bytes[i >> 3] >> UInt8(i & 7)) & 1 == 1 ? 1 : 0 } }
    }
}
