import COpenBLAS

/// Thin, typed access to OpenBLAS (single precision, row-major).
public enum BLAS {
    /// The number of threads OpenBLAS uses for one call (default: all cores).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
    }

    /// Sets the number of OpenBLAS threads; values below 1 are rejected.
    public static func setThreads(_ n: Int) throws {
        guard n >= 1 && n <= 1024 else { throw ExplainError.argument("thread count must be in 1...1024, got \(n)") }
        openblas_set_num_threads(Int32(n))
    }

    /// The processor kernel OpenBLAS selected (for benchmark reports).
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major, with `op(A)` of shape m×k and `op(B)` k×n.
    @inlinable
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // OpenBLAS leaves C untouched for k == 0; make beta explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans,
            transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
