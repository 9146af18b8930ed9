import ExplainCore

/// What a perturbed feature becomes in Quantus's faithfulness metrics (`perturb_baseline`): the
/// sample's smallest value (`black`, Quantus's default), its largest (`white`), its mean, or a number.
public enum FillValue: Sendable, Equatable, CustomStringConvertible {
    case black
    case white
    case mean
    case value(Float)

    /// Parses `black`, `white`, `mean` or a number.
    public init(_ text: String) throws {
        switch text {
        case "black": self = .black
        case "white": self = .white
        case "mean": self = .mean
        default:
            guard let v = Float(text), v.isFinite else {
                throw ExplainError.argument("fill = '\(text)': give black (each sample's minimum), white (its maximum), mean, or a number")
            }
            self = .value(v)
        }
    }

    public var description: String {
        switch self {
        case .black: "black"
        case .white: "white"
        case .mean: "mean"
        case .value(let v): "\(v)"
        }
    }

    /// The value for one sample's features.
    func value(for sample: UnsafeBufferPointer<Float>) -> Float {
        switch self {
        case .black: sample.min() ?? 0
        case .white: sample.max() ?? 0
        case .mean: Float(sample.reduce(0.0) { $0 + Double($1) } / Double(Swift.max(sample.count, 1)))
        case .value(let v): v
        }
    }
}

/// What Quantus's faithfulness metrics share.
enum FaithfulnessInput {
    /// Feature indices of one sample sorted by `key` descending (ascending with `ascending`), ties by index.
    static func order(_ key: [Double], ascending: Bool = false) -> [Int] {
        key.indices.sorted { a, b in key[a] != key[b] ? (ascending ? key[a] < key[b] : key[a] > key[b]) : a < b }
    }
}

/// Faithfulness estimate (Alvarez-Melis & Jaakkola 2018, "Towards robust interpretability with
/// self-explaining neural networks"; Quantus `FaithfulnessEstimate`): the features, in steps of
/// `featuresInStep` in the order of decreasing attribution, are each set to the fill value alone
/// (starting again from x at every step); the score is the Pearson correlation, over the steps, of
/// the step's summed attribution and the drop `f_t(x) − f_t(x with the step's features filled)`.
/// 1: the attribution predicts every drop. One forward pass per step and sample.
public struct FaithfulnessEstimate: Sendable {
    public let featuresInStep: Int
    public let fill: FillValue
    public let batchSize: Int

    public init(featuresInStep: Int = 1, fill: FillValue = .black, batchSize: Int = 64) throws {
        guard featuresInStep >= 1 else { throw ExplainError.argument("features_in_step = \(featuresInStep): give 1 or more") }
        self.featuresInStep = featuresInStep
        self.fill = fill
        self.batchSize = batchSize
    }

    /// Per sample: the correlation (0 when the summed attributions or the drops do not vary).
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> [Double] {
        let (scorer, seed, a) = try Scorer.checked("faithfulness estimate", model: model, input: input, attribution: attribution, target: target,
                                                   batchSize: batchSize)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        let step = min(featuresInStep, max(per, 1))   // more features per step than there are: one step
        let steps = (per + step - 1) / step
        return try (0..<n).map { s in
            let values = (0..<per).map { Double(a.scalars[s * per + $0]) }
            let order = FaithfulnessInput.order(values)
            let chunks = (0..<steps).map { Array(order[($0 * step)..<min(per, ($0 + 1) * step)]) }
            let f = try input.withUnsafeBufferPointer { px in
                let sample = UnsafeBufferPointer(rebasing: px[(s * per)..<((s + 1) * per)])
                let v = fill.value(for: sample)
                // Copy 0: x; copy 1 + j: step j's features filled.
                return try scorer.scores(count: steps + 1, sampleShape: dims, seed: seed, sample: s) { j, out in
                    for i in 0..<per { out[i] = sample[i] }
                    if j > 0 { for i in chunks[j - 1] { out[i] = v } }
                }
            }
            let sums = chunks.map { $0.reduce(0.0) { $0 + values[$1] } }
            return Similarity.pearson(sums, (0..<steps).map { f[0] - f[1 + $0] })
        }
    }
}

/// Monotonicity (Arya et al. 2019, "One explanation does not fit all"; Quantus `Monotonicity`):
/// starting from an input whose every feature holds the fill value, the features are given back
/// their values in steps of `featuresInStep`, least attributed first (by |attribution| with
/// `absolute`, Quantus's default); the explanation is monotonic when `f_t` never decreases along the
/// way. Returns the verdict and the curve (`f_t` after each step) per sample.
///
/// Quantus 0.6.0's `Monotonicity` fills the chosen features with the fill value again (its
/// perturbation replaces by the baseline), so its inputs never change and it always returns True;
/// this is the paper's definition.
public struct Monotonicity: Sendable {
    public let featuresInStep: Int
    public let fill: FillValue
    public let absolute: Bool
    public let batchSize: Int

    public init(featuresInStep: Int = 1, fill: FillValue = .black, absolute: Bool = true, batchSize: Int = 64) throws {
        guard featuresInStep >= 1 else { throw ExplainError.argument("features_in_step = \(featuresInStep): give 1 or more") }
        self.featuresInStep = featuresInStep
        self.fill = fill
        self.absolute = absolute
        self.batchSize = batchSize
    }

    public struct Result: Sendable {
        public var monotonic: [Bool]
        public var curves: [[Double]]
    }

    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> Result {
        let (scorer, seed, a) = try Scorer.checked("monotonicity", model: model, input: input, attribution: attribution, target: target, batchSize: batchSize)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        let step = min(featuresInStep, max(per, 1))   // more features per step than there are: one step
        let steps = (per + step - 1) / step
        var result = Result(monotonic: [], curves: [])
        for s in 0..<n {
            let key = (0..<per).map { i -> Double in let v = Double(a.scalars[s * per + i]); return absolute ? abs(v) : v }
            let order = FaithfulnessInput.order(key, ascending: true)
            // rank[i]: the step (1-based) after which feature i holds its value again.
            var rank = [Int](repeating: 0, count: per)
            for (k, i) in order.enumerated() { rank[i] = k / step + 1 }
            let curve = try input.withUnsafeBufferPointer { px in
                let sample = UnsafeBufferPointer(rebasing: px[(s * per)..<((s + 1) * per)])
                let v = fill.value(for: sample)
                return try scorer.scores(count: steps, sampleShape: dims, seed: seed, sample: s) { j, out in
                    for i in 0..<per { out[i] = rank[i] <= j + 1 ? sample[i] : v }
                }
            }
            result.curves.append(curve)
            result.monotonic.append(zip(curve, curve.dropFirst()).allSatisfy { $1 >= $0 })
        }
        return result
    }
}
