import Dispatch

/// Splits loops over large arrays across `BLAS.threads` cores.
public enum Parallel {
    /// How many pieces `forEachRange` cuts `count` elements into (at least `grain` each, at most one per thread).
    public static func pieces(_ count: Int, grain: Int) -> Int { max(1, min(BLAS.threads, count / max(1, grain))) }

    /// Runs `body(piece, range)` on contiguous, disjoint sub-ranges covering `0..<count`, with
    /// `piece` in `0..<pieces(count, grain:)`; one range on the calling thread when `count < 2 · grain`
    /// or a single thread is configured. `body` must only write state owned by its piece.
    public static func forEachPiece(_ count: Int, grain: Int = 1 << 16, _ body: (Int, Range<Int>) -> Void) {
        let n = pieces(count, grain: grain)
        if n <= 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        perform(iterations: n) { p in body(p, (count * p / n)..<(count * (p + 1) / n)) }
    }

    /// Runs `body(i)` for every `i` in `0..<iterations`, in parallel: on the calling thread and
    /// ExplainKit's spinning workers (`SpinPool`), or through `DispatchQueue.concurrentPerform` while
    /// those run another region. Iterations must not wait for each other.
    public static func perform(iterations n: Int, _ body: (Int) -> Void) {
        if n <= 0 { return }
        if n == 1 { body(0); return }
        if SpinPool.shared.run(n, body) { return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: n) { body($0) }
        }
    }

    /// `forEachPiece` without the piece index.
    public static func forEachRange(_ count: Int, grain: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
        forEachPiece(count, grain: grain) { _, range in body(range) }
    }
}
