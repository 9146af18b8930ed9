import COpenBLAS
import Dispatch
import Foundation
import Synchronization

/// Typed access to OpenBLAS (single precision, row-major), parallelised by ExplainKit itself.
///
/// OpenBLAS runs single-threaded; `gemm` splits large products into column (or row) blocks and
/// runs them on `BLAS.threads` cores. Many of the products in a network are too small or too
/// oddly shaped for OpenBLAS's own threading to pay off (e.g. 64 × 2 240 × 576 in a VGG band),
/// while splitting them ourselves keeps both cores busy, lets im2col run in parallel too, and
/// makes the thread count a per-process setting that does not depend on OpenBLAS's build.
public enum BLAS {
    private static let threadCount = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount)
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// The number of threads used for one product (default: all cores).
    public static var threads: Int { threadCount.load(ordering: .relaxed) }

    /// Sets the number of threads; values outside 1...1024 are rejected.
    public static func setThreads(_ n: Int) throws {
        guard n >= 1 && n <= 1024 else { throw ExplainError.argument("thread count must be in 1...1024, got \(n)") }
        threadCount.store(n, ordering: .relaxed)
    }

    /// The processor kernel OpenBLAS selected (for benchmark reports).
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The OpenBLAS kernel (`OPENBLAS_CORETYPE`) that runs the instruction sets a processor's
    /// `/proc/cpuinfo` flags show — `SkylakeX` for AVX-512 F, BW, VL and DQ, `Haswell` for AVX2
    /// with FMA — or nil. For processors OpenBLAS does not recognise (it then picks `Prescott`).
    public static func kernel(forCPUFlags flags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major, with `op(A)` of shape m×k and `op(B)` k×n.
    ///
    /// With `rowBias` (m values), `C = alpha · op(A) · op(B) + rowBias · 1ᵀ` instead (`beta` is not
    /// used): each thread fills its own block of C with the bias just before its product adds onto
    /// it, so the fill runs in parallel and the block is still in cache when the product reads it.
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        rowBias: UnsafePointer<Float>? = nil,
        parallel: Bool = true
    ) {
        _ = configured
        if m == 0 || n == 0 { return }
        precondition(m < Int(Int32.max) && n < Int(Int32.max) && k < Int(Int32.max), "GEMM dimension over 2^31")
        let beta: Float = rowBias == nil ? beta : 1
        if k == 0 {
            if let rowBias { fill(c, ldc: ldc, rows: 0..<m, columns: 0..<n, with: rowBias); return }
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        let work = Double(m) * Double(n) * Double(k)
        let t = threads
        let pieces = !parallel || work < 2_000_000 ? 1 : min(t, max(n / 64, m / 16, 1))
        if pieces <= 1 {
            if let rowBias { fill(c, ldc: ldc, rows: 0..<m, columns: 0..<n, with: rowBias) }
            single(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        nonisolated(unsafe) let rowBias = rowBias
        let (ai, bi, ci) = (UInt(bitPattern: a), UInt(bitPattern: b), UInt(bitPattern: c))
        // Rows (of A) split evenly unless there are few; narrow products lose more by splitting columns.
        let splitColumns = m < 32 * pieces || n >= 512 * pieces
        Parallel.perform(iterations: pieces) { p in
            let a = UnsafePointer<Float>(bitPattern: ai)!, b = UnsafePointer<Float>(bitPattern: bi)!
            let c = UnsafeMutablePointer<Float>(bitPattern: ci)!
            if splitColumns {
                // Column blocks of width multiple of 16 for aligned kernels.
                let step = ((n + pieces - 1) / pieces + 15) / 16 * 16
                let j0 = min(n, p * step), j1 = min(n, j0 + step)
                if j1 > j0 {
                    if let rowBias { fill(c, ldc: ldc, rows: 0..<m, columns: j0..<j1, with: rowBias) }
                    single(transA, transB, m, j1 - j0, k, alpha, a, lda, transB ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc)
                }
            } else {
                let i0 = m * p / pieces, i1 = m * (p + 1) / pieces
                if i1 > i0 {
                    if let rowBias { fill(c, ldc: ldc, rows: i0..<i1, columns: 0..<n, with: rowBias) }
                    single(transA, transB, i1 - i0, n, k, alpha, transA ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc)
                }
            }
        }
    }

    /// `y = alpha · op(A) · x + beta · y` for a row-major m×n matrix A (`op(A) = Aᵀ` when `trans`).
    /// Without transposition the rows are split across threads.
    public static func gemv(
        trans: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        _ = configured
        if m == 0 || n == 0 { return }
        precondition(m < Int(Int32.max) && n < Int(Int32.max), "GEMV dimension over 2^31")
        let rows = trans ? n : m
        let pieces = Double(m) * Double(n) < 1_000_000 ? 1 : min(threads, max(1, rows / 64))
        let (ai, xi, yi) = (UInt(bitPattern: a), UInt(bitPattern: x), UInt(bitPattern: y))
        Parallel.perform(iterations: pieces) { p in
            let a = UnsafePointer<Float>(bitPattern: ai)!, x = UnsafePointer<Float>(bitPattern: xi)!
            let y = UnsafeMutablePointer<Float>(bitPattern: yi)!
            let r0 = rows * p / pieces, r1 = rows * (p + 1) / pieces
            guard r1 > r0 else { return }
            if trans {
                // y[r0..<r1] = A[:, r0..<r1]ᵀ · x
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(m), Int32(r1 - r0), alpha, a + r0, Int32(lda), x, 1, beta, y + r0, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(r1 - r0), Int32(n), alpha, a + r0 * lda, Int32(lda), x, 1, beta, y + r0, 1)
            }
        }
    }

    /// `y = Aᵀ · x` for a row-major m×n matrix A, reading only the rows where `x` is non-zero.
    ///
    /// A batch-1 backward pass through a dense layer is bound by reading the weight matrix; after a
    /// Relu half of the cotangent is zero, so skipping those rows halves the traffic. Falls back to
    /// `gemv` when few entries are zero. Column blocks stay in cache while the rows stream through.
    public static func gemvTransposedSkippingZeros(
        m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    ) {
        _ = configured
        if n == 0 { return }
        var rows: [Int32] = []
        rows.reserveCapacity(m)
        for i in 0..<m where x[i] != 0 { rows.append(Int32(i)) }
        if m == 0 || rows.count * 5 > m * 4 || Double(m) * Double(n) < 1_000_000 {
            gemv(trans: true, m: m, n: n, a: a, lda: lda, x: x, y: y)
            return
        }
        rows.withUnsafeBufferPointer { rows in
            nonisolated(unsafe) let (rows, a, x, y) = (rows, a, x, y)
            Parallel.forEachRange(n, grain: 2048) { range in
                let block = 8192
                for j0 in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                    let width = min(block, range.upperBound - j0)
                    (y + j0).update(repeating: 0, count: width)
                    for i in rows {
                        let r = Int(i)
                        cblas_saxpy(Int32(width), x[r], a + r * lda + j0, 1, y + j0, 1)
                    }
                }
            }
        }
    }

    /// `C[i, j] = bias[i]` over a block of a row-major matrix.
    private static func fill(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Range<Int>, columns: Range<Int>, with bias: UnsafePointer<Float>) {
        for i in rows { (c + i * ldc + columns.lowerBound).update(repeating: bias[i], count: columns.count) }
    }

    @inline(__always)
    private static func single(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
