import Dispatch
import ExplainCore
import Synchronization
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

    /// The element-wise activations split large tensors over the cores: every element is still
    /// `f(x)` and `g · f′(x)`, out of place and in place.
    @Test func activationsOnLargeTensorsMatchTheirScalarFormulas() throws {
        let n = 300_001
        let x = try Tensor(shape: [1, n], scalars: (0..<n).map { Float($0 % 997) / 97 - 5 })
        let g = try Tensor(shape: [1, n], scalars: (0..<n).map { Float($0 % 13) - 6 })
        let layers: [any ElementwiseActivation] = [LeakyRelu(alpha: 0.1), Sigmoid(), Tanh(), try Clip(low: -1, high: 2)]
        for layer in layers {
            let y = try layer.forward([x])
            var inPlace = x
            try layer.forwardInPlace(&inPlace)
            let dx = try layer.pullback(inputs: [x], output: y, cotangent: g)[0]
            var dxInPlace = g
            try layer.pullbackInPlace(inputs: [x], output: y, cotangent: &dxInPlace)
            var mismatches = 0
            for i in stride(from: 0, to: n, by: 7) {
                let f = layer.value(x.scalars[i]), d = g.scalars[i] * layer.derivative(x: x.scalars[i], y: f)
                if y.scalars[i] != f || inPlace.scalars[i] != f || dx.scalars[i] != d || dxInPlace.scalars[i] != d { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(layer)")
        }
    }

    #if os(Linux)
    @Test func allocatorAcceptsTheKeepFreedMemorySettings() {
        #expect(Memory.keepFreedMemory())
    }
    #endif

    /// `Parallel.perform` runs every iteration exactly once — through the spinning workers, or through
    /// `concurrentPerform` when they are busy: regions back to back, regions started from several
    /// threads at once, and regions inside regions.
    @Test func performRunsEveryIterationOnceUnderContention() {
        let rounds = 400
        let submitters = 4
        let counts = Mutex<[Int: Int]>([:])
        DispatchQueue.concurrentPerform(iterations: submitters) { submitter in
            for round in 0..<rounds {
                let n = 1 + (round * 7 + submitter) % 9
                var hits = [Int](repeating: 0, count: n * 3)
                hits.withUnsafeMutableBufferPointer { h in
                    nonisolated(unsafe) let h = h
                    Parallel.perform(iterations: n) { i in
                        h[i * 3] += 1
                        // A region inside the region (falls back while the pool is busy).
                        if round % 5 == 0 { Parallel.perform(iterations: 2) { j in h[i * 3 + 1 + j] += 1 } }
                        else { h[i * 3 + 1] += 1; h[i * 3 + 2] += 1 }
                    }
                }
                let bad = hits.filter { $0 != 1 }.count
                counts.withLock { $0[submitter, default: 0] += bad }
            }
        }
        #expect(counts.withLock { $0.values.reduce(0, +) } == 0)
    }

    /// `rowBias` makes the product `A·B + bias·1ᵀ` whether the product runs whole, split by rows
    /// or split by columns (each thread fills its own block), and it ignores `beta` (C may hold garbage).
    @Test(arguments: [(3, 5, 4), (40, 9, 300), (256, 1024, 64), (20, 2048, 128)])
    func gemmWithRowBiasAddsTheBiasOnce(_ size: (Int, Int, Int)) {
        let (m, n, k) = size
        let a = (0..<(m * k)).map { Float(($0 * 7) % 11) / 8 - 0.6 }
        let b = (0..<(k * n)).map { Float(($0 * 5) % 13) / 9 - 0.7 }
        let bias = (0..<m).map { Float($0 % 5) - 2.5 }
        var plain = [Float](repeating: 0, count: m * n), biased = [Float](repeating: .nan, count: m * n)
        BLAS.gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &plain, ldc: n)
        BLAS.gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: 7, c: &biased, ldc: n, rowBias: bias)
        var worst: Float = 0
        for i in 0..<m { for j in 0..<n { worst = max(worst, abs(biased[i * n + j] - (plain[i * n + j] + bias[i]))) } }
        #expect(worst <= 1e-4, "largest difference \(worst)")
    }

    /// The kernel named for processors OpenBLAS 0.3.21 does not recognise: AVX-512 (all four
    /// subsets) → SkylakeX, AVX2 with FMA → Haswell, anything less → keep OpenBLAS's choice.
    @Test func blasKernelFollowsTheInstructionSets() {
        #expect(BLAS.kernel(forCPUFlags: ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]) == "SkylakeX")
        #expect(BLAS.kernel(forCPUFlags: ["avx2", "fma", "avx512f"]) == "Haswell")
        #expect(BLAS.kernel(forCPUFlags: ["avx", "avx2"]) == nil)
        #expect(BLAS.kernel(forCPUFlags: ["sse2", "sse3"]) == nil)
    }
}
