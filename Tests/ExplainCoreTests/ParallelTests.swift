import ExplainCore
import Testing

@Suite struct ParallelTests {
    @Test(arguments: [0, 1, 100, 131_071, 131_072, 1_000_003])
    func piecesCoverTheRangeOnce(_ count: Int) {
        let grain = 1 << 16
        var hits = [UInt8](repeating: 0, count: count)
        let pieces = Parallel.pieces(count, grain: grain)
        var seen = [Int](repeating: 0, count: pieces)
        hits.withUnsafeMutableBufferPointer { h in
            seen.withUnsafeMutableBufferPointer { s in
                nonisolated(unsafe) let (h, s) = (h, s)
                Parallel.forEachPiece(count, grain: grain) { piece, range in
                    s[piece] += 1
                    for i in range { h[i] += 1 }
                }
            }
        }
        #expect(hits.allSatisfy { $0 == 1 })
        #expect(count == 0 || seen.allSatisfy { $0 == 1 })
        #expect(pieces >= 1 && pieces <= max(1, BLAS.threads))
        if count < 2 * grain { #expect(pieces == 1) }
    }

    #if os(Linux)
    @Test func allocatorAcceptsTheKeepFreedMemorySettings() {
        #expect(Memory.keepFreedMemory())
    }
    #endif
}
