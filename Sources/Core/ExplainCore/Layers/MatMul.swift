/// NumPy-style matrix product (ONNX `MatMul`) with broadcasting over leading dimensions.
///
/// Either both operands are runtime inputs, or the right operand is a constant held by the layer
/// (`x · W` from tf2onnx/Keras exports); then the layer has one input.
public struct MatMul: Layer {
    /// The constant right operand, or nil when it is the second runtime input.
    public let constantRight: Tensor?

    public init(constantRight: Tensor? = nil) throws {
        if let c = constantRight, c.rank == 0 { throw ExplainError.shape("MatMul operand must have rank ≥ 1") }
        self.constantRight = constantRight
    }

    public var kind: LayerKind { .matmul }
    public var arity: Int { constantRight == nil ? 2 : 1 }
    public var parameterCount: Int { constantRight?.count ?? 0 }
    public var pullbackReadsOutput: Bool { false }
    public var description: String {
        constantRight.map { "MatMul(· × constant \(Shape.format($0.shape)))" } ?? "MatMul"
    }

    struct Plan {
        var a: [Int], b: [Int]            // promoted to rank ≥ 2
        var batch: [Int]
        var m: Int, k: Int, n: Int
        var out: [Int]                    // final output shape (1-D promotions removed)
        var full: [Int]                   // batch + [m, n]
    }

    func plan(_ sa: [Int], _ sb: [Int]) throws -> Plan {
        guard !sa.isEmpty, !sb.isEmpty else { throw ExplainError.shape("MatMul operands must have rank ≥ 1") }
        let a = sa.count == 1 ? [1, sa[0]] : sa
        let b = sb.count == 1 ? [sb[0], 1] : sb
        let (m, k) = (a[a.count - 2], a[a.count - 1])
        let (k2, n) = (b[b.count - 2], b[b.count - 1])
        guard k == k2 else {
            throw ExplainError.shape("MatMul inner dimensions differ: \(Shape.format(sa)) × \(Shape.format(sb))")
        }
        let batch = try Shape.broadcast(Array(a.dropLast(2)), Array(b.dropLast(2)))
        var out = batch
        if sa.count > 1 { out.append(m) }
        if sb.count > 1 { out.append(n) }
        return Plan(a: a, b: b, batch: batch, m: m, k: k, n: n, out: out, full: batch + [m, n])
    }

    private func operands(_ inputs: [Tensor]) -> (Tensor, Tensor) {
        (inputs[0], constantRight ?? inputs[1])
    }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, arity)
        return try plan(inputShapes[0], constantRight?.shape ?? inputShapes[1]).out
    }

    public func flops(_ inputShapes: [[Int]]) -> Double {
        guard inputShapes.count == arity, let p = try? plan(inputShapes[0], constantRight?.shape ?? inputShapes[1]) else { return 0 }
        return 2 * Double(p.batch.reduce(1, *)) * Double(p.m * p.k * p.n)
    }

    /// Calls `body(offsetA, offsetB, offsetOut)` (in elements) for every matrix of the batch.
    /// Runs `body(index, offsetA, offsetB, offsetOut, parallel)` for every matrix product of the
    /// broadcast batch. With several products they run side by side, one per thread, each
    /// single-threaded (`parallel` false): the heads of an attention layer are too small to split
    /// well one at a time. A few large products run one after the other, each split across threads. `body` must write only the outputs of its own product.
    private func forEachMatrix(_ p: Plan, _ body: (Int, Int, Int, Int, Bool) -> Void) {
        let aBatch = Array(p.a.dropLast(2)), bBatch = Array(p.b.dropLast(2))
        let loop = StridedPair(
            shape: p.batch,
            stridesA: Shape.broadcastStrides(aBatch, into: p.batch).map { $0 * p.m * p.k },
            stridesB: Shape.broadcastStrides(bBatch, into: p.batch).map { $0 * p.k * p.n })
        var offsets: [(a: Int, b: Int, out: Int)] = []
        loop.forEachRow { o, oa, ob, len, sa, sb in
            for i in 0..<len { offsets.append((oa + i * sa, ob + i * sb, (o + i) * p.m * p.n)) }
        }
        let large = Double(p.m) * Double(p.n) * Double(p.k) >= 8_000_000
        if offsets.count < 2 || BLAS.threads < 2 || (large && offsets.count < 4 * BLAS.threads) {
            for (i, o) in offsets.enumerated() { body(i, o.a, o.b, o.out, true) }
            return
        }
        Parallel.forEachRange(offsets.count, grain: 1) { range in
            for i in range { body(i, offsets[i].a, offsets[i].b, offsets[i].out, false) }
        }
    }

    /// Rows of the single product when the right operand is one matrix shared by the whole batch:
    /// the left operand `(…, m, k)` is then one `(rows, k)` matrix (channels-last Linear layers of
    /// ConvNeXt and transformers), and one GEMM replaces a product per leading index.
    private func sharedRightRows(_ p: Plan) -> Int? {
        p.b.count == 2 ? p.batch.reduce(p.m, *) : nil
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        _ = try outputShape(inputs.map(\.shape))
        let (x, y) = operands(inputs)
        let p = try plan(x.shape, y.shape)
        return Tensor(shape: p.out) { out in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    if let rows = sharedRightRows(p) {
                        BLAS.gemm(m: rows, n: p.n, k: p.k, a: px.baseAddress!, lda: p.k, b: py.baseAddress!, ldb: p.n, c: out.baseAddress!, ldc: p.n)
                        return
                    }
                    nonisolated(unsafe) let (px, py, out) = (px, py, out)
                    forEachMatrix(p) { _, oa, ob, oo, parallel in
                        BLAS.gemm(m: p.m, n: p.n, k: p.k, a: px.baseAddress! + oa, lda: p.k,
                                  b: py.baseAddress! + ob, ldb: p.n, c: out.baseAddress! + oo, ldc: p.n, parallel: parallel)
                    }
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let (x, y) = operands(inputs)
        let p = try plan(x.shape, y.shape)
        if let rows = sharedRightRows(p) {
            // dA = dY · Bᵀ and dB = Aᵀ · dY over all rows at once (dB summed over the batch by the product).
            let da = Tensor(shape: x.shape) { pda in
                cotangent.withUnsafeBufferPointer { pg in y.withUnsafeBufferPointer { py in
                    BLAS.gemm(transB: true, m: rows, n: p.k, k: p.n, a: pg.baseAddress!, lda: p.n, b: py.baseAddress!, ldb: p.n,
                              c: pda.baseAddress!, ldc: p.k)
                } }
            }
            if constantRight != nil { return [da] }
            let db = Tensor(shape: [p.k, p.n]) { pdb in
                x.withUnsafeBufferPointer { px in cotangent.withUnsafeBufferPointer { pg in
                    BLAS.gemm(transA: true, m: p.k, n: p.n, k: rows, a: px.baseAddress!, lda: p.k, b: pg.baseAddress!, ldb: p.n,
                              c: pdb.baseAddress!, ldc: p.n)
                } }
            }
            return [da, try db.reshaped(y.shape)]
        }
        let fullA = p.batch + [p.m, p.k], fullB = p.batch + [p.k, p.n]
        var da = Tensor(shape: fullA)
        var db = Tensor(shape: constantRight == nil ? fullB : [0])
        da.withUnsafeMutableBufferPointer { pda in
            db.withUnsafeMutableBufferPointer { pdb in
                cotangent.withUnsafeBufferPointer { pg in
                    x.withUnsafeBufferPointer { px in
                        y.withUnsafeBufferPointer { py in
                            nonisolated(unsafe) let (pda, pdb, pg, px, py) = (pda, pdb, pg, px, py)
                            forEachMatrix(p) { index, oa, ob, oo, parallel in
                                // dA = dY · Bᵀ ; dB = Aᵀ · dY (per matrix of the broadcast batch)
                                BLAS.gemm(transB: true, m: p.m, n: p.k, k: p.n, a: pg.baseAddress! + oo, lda: p.n,
                                          b: py.baseAddress! + ob, ldb: p.n,
                                          c: pda.baseAddress! + index * p.m * p.k, ldc: p.k, parallel: parallel)
                                if constantRight == nil {
                                    BLAS.gemm(transA: true, m: p.k, n: p.n, k: p.m, a: px.baseAddress! + oa, lda: p.k,
                                              b: pg.baseAddress! + oo, ldb: p.n,
                                              c: pdb.baseAddress! + index * p.k * p.n, ldc: p.n, parallel: parallel)
                                }
                            }
                        }
                    }
                }
            }
        }
        let gradA = try da.summed(toShape: p.a).reshaped(x.shape)
        if constantRight != nil { return [gradA] }
        return [gradA, try db.summed(toShape: p.b).reshaped(y.shape)]
    }
}
