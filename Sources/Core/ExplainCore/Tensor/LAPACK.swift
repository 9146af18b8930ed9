import COpenBLAS

/// Typed access to the LAPACK routines in OpenBLAS (Double precision).
public enum LAPACK {
    /// The largest (algebraic) eigenvalue of the symmetric `n × n` matrix `a` and a unit
    /// eigenvector for it (`dsyevr`, relatively robust representations). Only the lower triangle
    /// is read, so the storage order does not matter.
    public static func largestEigenpair(_ a: [Double], n: Int) throws -> (value: Double, vector: [Double]) {
        guard n >= 1, a.count == n * n else {
            throw ExplainError.shape("largestEigenpair needs an n × n matrix with n ≥ 1; got \(a.count) entries for n = \(n)")
        }
        guard n < Int(Int32.max / 64) else { throw ExplainError.argument("eigenproblem of order \(n) is too large") }
        guard a.allSatisfy(\.isFinite) else { throw ExplainError.argument("the \(n) × \(n) matrix of the eigenproblem has NaN or infinite entries") }
        var matrix = a
        var (n32, lda, il, iu, ldz) = (Int32(n), Int32(n), Int32(n), Int32(n), Int32(n))
        var (vl, vu, abstol) = (0.0, 0.0, 0.0)
        var (found, info) = (Int32(0), Int32(0))
        // W has n entries although one eigenvalue is asked for: dsyevr works in all of it on some paths.
        var value = [Double](repeating: 0, count: n), vector = [Double](repeating: 0, count: n), support = [Int32](repeating: 0, count: 2)
        // Workspace query, then the solve.
        var lwork = Int32(-1), liwork = Int32(-1)
        var workSize = [0.0], iworkSize = [Int32(0)]
        dsyevr_("V", "I", "L", &n32, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &value, &vector, &ldz, &support,
                &workSize, &lwork, &iworkSize, &liwork, &info, 1, 1, 1)
        guard info == 0 else { throw ExplainError.argument("LAPACK dsyevr workspace query failed (info \(info))") }
        lwork = Int32(workSize[0].rounded(.up))
        liwork = iworkSize[0]
        var work = [Double](repeating: 0, count: Int(max(1, lwork))), iwork = [Int32](repeating: 0, count: Int(max(1, liwork)))
        dsyevr_("V", "I", "L", &n32, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found, &value, &vector, &ldz, &support,
                &work, &lwork, &iwork, &liwork, &info, 1, 1, 1)
        guard info == 0, found == 1 else {
            throw ExplainError.argument("LAPACK dsyevr did not converge on a \(n) × \(n) symmetric matrix (info \(info)); check it for NaN or infinite entries")
        }
        return (value[0], vector)
    }

    /// Solves `A X = B` for a symmetric positive definite band matrix `A` of order `n` with `kd`
    /// sub-diagonals (`dpbsv`, banded Cholesky). `band[d + j * (kd + 1)]` holds `A[j + d][j]` for
    /// `d` in `0...kd` (LAPACK's lower band storage, column by column); `rhs` holds the `nrhs`
    /// columns of `B` one after the other. Returns `X` in the same layout.
    public static func solveBandedPositiveDefinite(band: [Double], n: Int, subdiagonals kd: Int, rhs: [Double], columns nrhs: Int) throws -> [Double] {
        guard n >= 1, kd >= 0, nrhs >= 1, band.count == (kd + 1) * n, rhs.count == n * nrhs else {
            throw ExplainError.shape("banded solve: \(band.count) band entries and \(rhs.count) right-hand sides do not fit n = \(n), kd = \(kd), \(nrhs) columns")
        }
        guard Double(n) * Double(kd + 1) < Double(Int32.max) else { throw ExplainError.argument("banded system of order \(n) and band \(kd) is too large") }
        var ab = band, b = rhs
        var (n32, kd32, nrhs32, ldab, ldb, info) = (Int32(n), Int32(kd), Int32(nrhs), Int32(kd + 1), Int32(n), Int32(0))
        dpbsv_("L", &n32, &kd32, &nrhs32, &ab, &ldab, &b, &ldb, &info, 1)
        guard info == 0 else {
            throw ExplainError.argument(info > 0 ? "the banded system is not positive definite (leading minor \(info))" : "LAPACK dpbsv rejected argument \(-info)")
        }
        return b
    }

    /// The minimum-norm least-squares solution `x` of `A x ≈ b` (`dgelsd`: singular value
    /// decomposition by divide and conquer). `a` is row-major `rows × cols`, `b` has `rows` entries;
    /// singular values at most `rcond` × the largest count as zero (so a rank-deficient `A` gets
    /// the shortest of its solutions, and a zero `A` the zero vector).
    public static func minimumNormLeastSquares(_ a: [Double], rows: Int, cols: Int, _ b: [Double], rcond: Double) throws -> [Double] {
        guard rows >= 1, cols >= 1, a.count == rows * cols, b.count == rows else {
            throw ExplainError.shape("least squares: \(a.count) matrix entries and \(b.count) right-hand sides do not fit \(rows) × \(cols)")
        }
        guard Double(rows) * Double(cols) < Double(Int32.max / 4), max(rows, cols) < Int(Int32.max / 64) else {
            throw ExplainError.argument("least-squares problem of \(rows) × \(cols) is too large")
        }
        guard a.allSatisfy(\.isFinite), b.allSatisfy(\.isFinite) else {
            throw ExplainError.argument("the \(rows) × \(cols) least-squares problem has NaN or infinite entries")
        }
        var columnMajor = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { columnMajor[c * rows + r] = a[r * cols + c] } }
        let ld = max(rows, cols)
        var rhs = b + [Double](repeating: 0, count: ld - rows)
        var singular = [Double](repeating: 0, count: min(rows, cols))
        var (m32, n32, nrhs, lda, ldb, cond) = (Int32(rows), Int32(cols), Int32(1), Int32(rows), Int32(ld), rcond)
        var (rank, info, lwork) = (Int32(0), Int32(0), Int32(-1))
        var workSize = [0.0], iworkSize = [Int32(0)]
        dgelsd_(&m32, &n32, &nrhs, &columnMajor, &lda, &rhs, &ldb, &singular, &cond, &rank, &workSize, &lwork, &iworkSize, &info)
        guard info == 0 else { throw ExplainError.argument("LAPACK dgelsd workspace query failed (info \(info))") }
        lwork = Int32(workSize[0].rounded(.up))
        var work = [Double](repeating: 0, count: Int(max(1, lwork))), iwork = [Int32](repeating: 0, count: Int(max(1, iworkSize[0])))
        dgelsd_(&m32, &n32, &nrhs, &columnMajor, &lda, &rhs, &ldb, &singular, &cond, &rank, &work, &lwork, &iwork, &info)
        guard info == 0 else {
            throw ExplainError.argument("LAPACK dgelsd did not converge on a \(rows) × \(cols) least-squares problem (info \(info))")
        }
        return Array(rhs.prefix(cols))
    }
}
