/// Iteration over a (possibly broadcast) pair of operands laid out by strides.
///
/// Dimensions are coalesced first, so a same-shape or per-channel broadcast runs as a few long
/// contiguous inner loops. `body` receives the offsets of the first element of each inner row
/// in the output (contiguous), in `a` and in `b`, the row length and the inner strides of a and b.
struct StridedPair {
    var shape: [Int]
    var stridesA: [Int]
    var stridesB: [Int]

        init(shape: [Int], stridesA: [Int], stridesB: [Int]) {
        // Drop size-1 dimensions, then merge neighbours that are contiguous for every operand.
        var s: [Int] = [], sa: [Int] = [], sb: [Int] = []
        for i in 0..<shape.count where shape[i] != 1 {
            s.append(shape[i]); sa.append(stridesA[i]); sb.append(stridesB[i])
        }
        if s.isEmpty { s = [1]; sa = [0]; sb = [0] }
        var ms = [s[s.count - 1]], ma = [sa[s.count - 1]], mb = [sb[s.count - 1]]
        for i in stride(from: s.count - 2, through: 0, by: -1) {
            let inner = ms[0]
            if sa[i] == ma[0] * inner && sb[i] == mb[0] * inner {
                ms[0] *= s[i]
            } else {
                ms.insert(s[i], at: 0); ma.insert(sa[i], at: 0); mb.insert(sb[i], at: 0)
            }
        }
        self.shape = ms
        self.stridesA = ma
        self.stridesB = mb
    }

        func forEachRow(_ body: (_ out: Int, _ a: Int, _ b: Int, _ length: Int, _ strideA: Int, _ strideB: Int) -> Void) {
        let r = shape.count
        let inner = shape[r - 1]
        let ia = stridesA[r - 1], ib = stridesB[r - 1]
        if r == 1 {
            body(0, 0, 0, inner, ia, ib)
            return
        }
        var index = [Int](repeating: 0, count: r - 1)
        var offA = 0, offB = 0, out = 0
        let rows = shape[0..<(r - 1)].reduce(1, *)
        for _ in 0..<rows {
            body(out, offA, offB, inner, ia, ib)
            out &+= inner
            var d = r - 2
            while d >= 0 {
                index[d] &+= 1
                offA &+= stridesA[d]
                offB &+= stridesB[d]
                if index[d] < shape[d] { break }
                offA &-= stridesA[d] &* shape[d]
                offB &-= stridesB[d] &* shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

/// A binary element-wise function, specialised at compile time for fast loops.
public protocol BinaryFunction {
    static func apply(_ a: Float, _ b: Float) -> Float
}

extension Tensor {
    /// Applies `F` element-wise with NumPy broadcasting.
    public static func broadcasting<F: BinaryFunction>(_ a: Tensor, _ b: Tensor, _ f: F.Type) throws -> Tensor {
        if a.shape == b.shape {
            // Same shapes (residual sums, Input × Gradient): one flat loop, split over the cores when large.
            let n = a.count
            return Tensor(shape: a.shape) { out in
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        nonisolated(unsafe) let (pa, pb, out) = (pa, pb, out)
                        Parallel.forEachRange(n) { r in for i in r { out[i] = F.apply(pa[i], pb[i]) } }
                    }
                }
            }
        }
        let shape = try Shape.broadcast(a.shape, b.shape)
        if shape.contains(0) { return Tensor(shape: shape) }
        let loop = StridedPair(
            shape: shape,
            stridesA: Shape.broadcastStrides(a.shape, into: shape),
            stridesB: Shape.broadcastStrides(b.shape, into: shape))
        return Tensor(shape: shape) { out in
            let po = out.baseAddress!
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let ba = pa.baseAddress!, bb = pb.baseAddress!
                    loop.forEachRow { o, oa, ob, n, sa, sb in
                        if sa == 1 && sb == 1 {
                            for i in 0..<n { po[o &+ i] = F.apply(ba[oa &+ i], bb[ob &+ i]) }
                        } else if sa == 1 {
                            let y = bb[ob]
                            for i in 0..<n { po[o &+ i] = F.apply(ba[oa &+ i], y) }
                        } else if sb == 1 {
                            let x = ba[oa]
                            for i in 0..<n { po[o &+ i] = F.apply(x, bb[ob &+ i]) }
                        } else {
                            for i in 0..<n { po[o &+ i] = F.apply(ba[oa &+ i &* sa], bb[ob &+ i &* sb]) }
                        }
                    }
                }
            }
        }
    }

    /// Sums this tensor over the dimensions that were broadcast from `target`
    /// (the adjoint of broadcasting `target` to `self.shape`).
    public func summed(toShape target: [Int]) throws -> Tensor {
        if target == shape { return self }
        guard (try? Shape.broadcast(target, shape)) == shape else {
            throw ExplainError.shape("cannot reduce \(Shape.format(shape)) to \(Shape.format(target))")
        }
        var result = Tensor(shape: target)
        if shape.contains(0) { return result }
        let loop = StridedPair(
            shape: shape,
            stridesA: Shape.strides(shape),
            stridesB: Shape.broadcastStrides(target, into: shape))
        result.withUnsafeMutableBufferPointer { dst in
            let pd = dst.baseAddress!
            self.withUnsafeBufferPointer { src in
                let ps = src.baseAddress!
                loop.forEachRow { _, oa, ob, n, sa, sb in
                    if sb == 0 {
                        var acc: Float = 0
                        for i in 0..<n { acc += ps[oa &+ i &* sa] }
                        pd[ob] += acc
                    } else {
                        for i in 0..<n { pd[ob &+ i &* sb] += ps[oa &+ i &* sa] }
                    }
                }
            }
        }
        return result
    }

    /// The tensor with its dimensions permuted: `result.shape[i] == shape[perm[i]]`.
    public func transposed(_ perm: [Int]) throws -> Tensor {
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw ExplainError.argument("permutation \(perm) is not a permutation of 0..<\(rank)")
        }
        let outShape = perm.map { shape[$0] }
        if outShape.contains(0) { return Tensor(shape: outShape) }
        let inStrides = Shape.strides(shape)
        let permuted = perm.map { inStrides[$0] }
        let loop = StridedPair(shape: outShape, stridesA: permuted, stridesB: [Int](repeating: 0, count: rank))
        return Tensor(shape: outShape) { out in
            let po = out.baseAddress!
            self.withUnsafeBufferPointer { src in
                let ps = src.baseAddress!
                loop.forEachRow { o, oa, _, n, sa, _ in
                    for i in 0..<n { po[o &+ i] = ps[oa &+ i &* sa] }
                }
            }
        }
    }
}

/// `a + b`.
public enum AddFunction: BinaryFunction { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
/// `a - b`.
public enum SubtractFunction: BinaryFunction { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
/// `a * b`.
public enum MultiplyFunction: BinaryFunction { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
/// `a / b`.
public enum DivideFunction: BinaryFunction { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a / b } }
