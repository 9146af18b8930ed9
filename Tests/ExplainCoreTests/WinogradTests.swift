import ExplainCore
import ExplainTestSupport
import Testing

/// Winograd F(2×2, 3×3) against im2col + GEMM: forward and transposed products, odd sizes,
/// asymmetric padding, batches, how far a NaN spreads.
@Suite struct WinogradTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var channels: (in: Int, out: Int)
        var shape: (n: Int, h: Int, w: Int)
        var pads: (Int, Int, Int, Int)
        var bias = true
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "pad 1, even", channels: (3, 5), shape: (1, 8, 8), pads: (1, 1, 1, 1)),
        Case(name: "pad 1, odd sizes, batch 3", channels: (4, 6), shape: (3, 7, 9), pads: (1, 1, 1, 1)),
        Case(name: "no padding", channels: (5, 4), shape: (2, 9, 6), pads: (0, 0, 0, 0), bias: false),
        Case(name: "asymmetric padding", channels: (3, 3), shape: (2, 6, 7), pads: (2, 0, 1, 2)),
        Case(name: "one output channel", channels: (8, 1), shape: (2, 5, 5), pads: (1, 1, 1, 1)),
        Case(name: "one input channel", channels: (1, 8), shape: (4, 16, 16), pads: (1, 1, 1, 1)),
        Case(name: "wide, several bands", channels: (40, 36), shape: (1, 30, 70), pads: (1, 1, 1, 1)),
        Case(name: "batch 2, two bands each", channels: (6, 5), shape: (2, 64, 40), pads: (1, 1, 1, 1)),
        Case(name: "batch 5 of small planes side by side", channels: (7, 9), shape: (5, 7, 7), pads: (1, 1, 1, 1)),
        Case(name: "tiny plane", channels: (2, 3), shape: (2, 3, 3), pads: (0, 0, 0, 0)),
    ]

    func layers(_ c: Case, seed: UInt64 = 7) throws -> (Conv2D, Conv2D, Tensor) {
        var rng = TestRandom(seed: seed)
        let w = rng.tensor([c.channels.out, c.channels.in, 3, 3])
        let b = c.bias ? rng.tensor([c.channels.out]) : nil
        let reference = try Conv2D(weight: w, bias: b, pads: c.pads, algorithm: .im2col)
        let winograd = reference.with(algorithm: .winograd)
        return (reference, winograd, rng.tensor([c.shape.n, c.channels.in, c.shape.h, c.shape.w]))
    }

    @Test(arguments: cases) func forwardMatchesIm2col(_ c: Case) throws {
        let (reference, winograd, x) = try layers(c)
        #expect(winograd.isWinograd && !reference.isWinograd)
        let d = Deviation(try winograd.forward([x]), try reference.forward([x]))
        #expect(d.relL2 < 1e-6, "\(d)")
    }

    @Test(arguments: cases) func transposedMatchesIm2col(_ c: Case) throws {
        let (reference, winograd, x) = try layers(c)
        let y = try reference.forward([x])
        var rng = TestRandom(seed: 11)
        let g = rng.tensor(y.shape)
        let d = Deviation(try winograd.pullback(inputs: [x], output: y, cotangent: g)[0],
                          try reference.pullback(inputs: [x], output: y, cotangent: g)[0])
        #expect(d.relL2 < 1e-6, "\(d)")
    }

    /// A NaN reaches every output im2col gives NaN, and at most the 2×2 output tiles whose 4×4
    /// input tile holds it; outputs elsewhere are unaffected.
    @Test func nanStaysWithinItsTiles() throws {
        let c = Case(name: "nan", channels: (3, 3), shape: (1, 8, 8), pads: (1, 1, 1, 1))
        let (reference, winograd, clean) = try layers(c)
        var x = clean
        x.withUnsafeMutableBufferPointer { $0[1 * 64 + 3 * 8 + 3] = .nan }   // channel 1, row 3, col 3
        let a = try winograd.forward([x]), b = try reference.forward([x])
        var spread = 0
        for ch in 0..<3 {
            for i in 0..<8 {
                for j in 0..<8 {
                    let k = ch * 64 + i * 8 + j
                    if b.scalars[k].isNaN { #expect(a.scalars[k].isNaN) }
                    if a.scalars[k].isNaN { spread += 1 }
                    // Output tile (i/2, j/2) reads input rows 2(i/2)−1 ..< 2(i/2)+3: row 3 lies in tiles 1 and 2.
                    if !(1...2).contains(i / 2) || !(1...2).contains(j / 2) {
                        #expect(a.scalars[k].isFinite && abs(a.scalars[k] - b.scalars[k]) < 1e-5)
                    }
                }
            }
        }
        #expect(spread >= 27)   // im2col's 3×3 window in each of the 3 output channels
    }

    @Test func automaticPicksWinogradOnlyWhereItPays() throws {
        var rng = TestRandom(seed: 1)
        let wide = try Conv2D(weight: rng.tensor([32, 32, 3, 3]), pads: (1, 1, 1, 1))
        let narrow = try Conv2D(weight: rng.tensor([16, 16, 3, 3]), pads: (1, 1, 1, 1))
        let strided = try Conv2D(weight: rng.tensor([64, 64, 3, 3]), strides: (2, 2), pads: (1, 1, 1, 1))
        let grouped = try Conv2D(weight: rng.tensor([64, 32, 3, 3]), pads: (1, 1, 1, 1), groups: 2, algorithm: .winograd)
        #expect(wide.isWinograd)
        #expect(!narrow.isWinograd && narrow.with(algorithm: .winograd).isWinograd)
        #expect(!strided.isWinograd && !strided.with(algorithm: .winograd).isWinograd)
        #expect(!grouped.isWinograd)
        #expect(!wide.with(algorithm: .im2col).isWinograd)
        #expect(throws: ExplainError.self) { try ConvAlgorithm.parse("fft") }
    }
}
