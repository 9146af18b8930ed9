import ExplainCore

/// What perturbed features become in Quantus's random metrics: a fill value (`black`, `white`,
/// `mean`, a number), or a uniform draw in `[low, high)` per sample and perturbation (Quantus's
/// `perturb_baseline="uniform"`, the default of `MonotonicityCorrelation`).
public enum PerturbationFill: Sendable, Equatable, CustomStringConvertible {
    case fixed(FillValue)
    case uniform(low: Float, high: Float)

    /// Parses `uniform`, `uniform:LOW,HIGH` or what `FillValue` reads.
    public init(_ text: String) throws {
        if text == "uniform" { self = .uniform(low: 0, high: 1); return }
        if text.hasPrefix("uniform:") {
            let parts = text.dropFirst(8).split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let low = parts[0], let high = parts[1], low.isFinite, high.isFinite, low <= high else {
                throw ExplainError.argument("fill = '\(text)': give uniform:LOW,HIGH with LOW ≤ HIGH (or uniform for [0, 1))")
            }
            self = .uniform(low: low, high: high)
            return
        }
        self = .fixed(try FillValue(text))
    }

    /// The value for one sample's features of a fixed fill (nil for a uniform one, whose values are drawn).
    func fixedValue(for sample: UnsafeBufferPointer<Float>) -> Float? {
        if case .fixed(let v) = self { return v.value(for: sample) }
        return nil
    }

    /// Whether the values are drawn.
    public var isUniform: Bool { if case .uniform = self { true } else { false } }

    public var description: String {
        switch self {
        case .fixed(let v): v.description
        case .uniform(let low, let high): low == 0 && high == 1 ? "uniform" : "uniform:\(low),\(high)"
        }
    }
}

/// numpy's legacy generator drawn as Quantus 0.6.0 draws from it (`np.random.seed(seed)` before the
/// metric is called), so that a random metric here gives Quantus's numbers on the same seed.
///
/// Quantus's batched perturbation builds its table of baselines eagerly (`get_baseline_dict`): every
/// call with a named baseline (`black`, `white`, `mean`, `uniform`) draws one uniform double per
/// sample of its batch, used or not; a numeric baseline draws nothing. Quantus's batches hold 64
/// samples (its `batch_size`), and its draws run batch by batch.
struct QuantusDraws {
    var mt: MersenneTwister

    init(seed: UInt64) throws { mt = MersenneTwister(seed: try RandomDraws.peerSeed(seed)) }

    /// Checks what every Quantus-seeded metric takes: a numpy seed and a batch size of 1 or more.
    static func check(seed: UInt64, quantusBatch: Int) throws {
        _ = try RandomDraws.peerSeed(seed)
        guard quantusBatch >= 1 else { throw ExplainError.argument("quantus batch = \(quantusBatch): give 1 or more") }
    }

    /// `np.random.choice(n, k, replace=False)`: the first k of a permutation of `0..<n`.
    mutating func subset(_ n: Int, _ k: Int) -> [Int] { Array(mt.permutation(n).prefix(k)) }

    /// One perturbation call's baseline draws for `count` samples: the values a uniform fill takes
    /// (nil for a fixed fill, whose named values still cost their draws).
    mutating func baselines(_ fill: PerturbationFill, count: Int) -> [Float]? {
        switch fill {
        case .fixed(.value):
            return nil
        case .fixed:
            for _ in 0..<count { _ = mt.nextDouble() }
            return nil
        case .uniform(let low, let high):
            return (0..<count).map { _ in Float(Double(low) + Double(high - low) * mt.nextDouble()) }
        }
    }

    /// The sample ranges of Quantus's batches.
    static func batches(_ n: Int, size: Int) -> [Range<Int>] {
        stride(from: 0, to: n, by: max(size, 1)).map { $0..<min(n, $0 + max(size, 1)) }
    }
}
