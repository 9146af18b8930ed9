import ExplainCore
import Foundation

/// Non-sensitivity (Nguyen & Martínez 2020; Quantus `NonSensitivity`): how many features break the
/// rule "a feature gets no attribution exactly when perturbing it does not change the output".
/// Features are filled alone (from x), in steps of `featuresInStep` in index order; a step leaves
/// the output unchanged when `|f_t(x̃) − f_t(x)| < eps`, a feature has no attribution when
/// `|a_i| / max|a| < eps`. The score counts the features where exactly one of the two holds (0 is
/// best). With more than one feature per step each feature takes its step's verdict (Quantus's
/// shapes only fit one feature per step). Attributions are scaled per sample.
public struct NonSensitivity: Sendable {
    public let eps: Double
    public let featuresInStep: Int
    public let fill: FillValue
    public let batchSize: Int

    public init(eps: Double = 1e-5, featuresInStep: Int = 1, fill: FillValue = .black, batchSize: Int = 64) throws {
        guard eps >= 0, eps.isFinite else { throw ExplainError.argument("eps = \(eps): give a finite value ≥ 0") }
        guard featuresInStep >= 1 else { throw ExplainError.argument("features_in_step = \(featuresInStep): give 1 or more") }
        self.eps = eps
        self.featuresInStep = featuresInStep
        self.fill = fill
        self.batchSize = batchSize
    }

    /// Per sample: the number of features that break the rule.
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target) throws -> [Int] {
        let (scorer, seed, a) = try Scorer.checked("non-sensitivity", model: model, input: input, attribution: attribution, target: target,
                                                   batchSize: batchSize)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / n
        let step = min(featuresInStep, max(per, 1)), steps = (per + step - 1) / step
        return try (0..<n).map { s in
            let magnitude = (0..<per).map { abs(Double(a.scalars[s * per + $0])) }
            let top = magnitude.max() ?? 0
            let f = try input.withUnsafeBufferPointer { px in
                let sample = UnsafeBufferPointer(rebasing: px[(s * per)..<((s + 1) * per)])
                let v = fill.value(for: sample)
                return try scorer.scores(count: steps + 1, sampleShape: dims, seed: seed, sample: s) { j, out in
                    for i in 0..<per { out[i] = sample[i] }
                    if j > 0 { for i in ((j - 1) * step)..<min(per, j * step) { out[i] = v } }
                }
            }
            return (0..<per).filter { i in
                let unchanged = abs(f[1 + i / step] - f[0]) < eps
                let silent = (top > 0 ? magnitude[i] / top : magnitude[i]) < eps
                return unchanged != silent
            }.count
        }
    }
}

/// Sufficiency (Dasgupta, Frost & Moshkovitz 2022, "Framework for evaluating faithfulness of local
/// explanations"; Quantus `Sufficiency`): within a batch, the explanations close to a sample's
/// should come with the same predicted class. Two samples are close when the standardised
/// Euclidean distance of their |attributions| (`seuclidean`: each feature divided by its variance
/// over the batch), divided by the largest such distance in the batch, is at most `threshold`.
/// Per sample: the share of the other close samples that the model gives the same class (0 when
/// none is close). Batches of `quantusBatch` samples are scored separately, as Quantus does.
///
/// Features whose attribution does not vary over the batch add nothing to the distance here; in
/// scipy's `seuclidean` they divide 0 by 0, which turns every distance, and so every score, into
/// Quantus's 0.
public struct Sufficiency: Sendable {
    public let threshold: Double
    public let absolute: Bool
    public let quantusBatch: Int

    public init(threshold: Double = 0.6, absolute: Bool = true, quantusBatch: Int = 64) throws {
        guard threshold.isFinite, threshold >= 0 else { throw ExplainError.argument("threshold = \(threshold): give a finite value ≥ 0") }
        guard quantusBatch >= 2 else { throw ExplainError.argument("quantus batch = \(quantusBatch): sufficiency compares samples, give 2 or more") }
        self.threshold = threshold
        self.absolute = absolute
        self.quantusBatch = quantusBatch
    }

    /// Per sample: the share of close samples with the same predicted class (arg-max of the output).
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor) throws -> [Double] {
        let n = input.shape.first ?? 0
        guard n >= 2, attribution.rank >= 1, attribution.shape[0] == n, attribution.count > 0 else {
            throw ExplainError.shape("sufficiency compares the samples of a batch: it needs 2 or more samples and one attribution per sample; got the input \(Shape.format(input.shape)) and the attribution \(Shape.format(attribution.shape))")
        }
        try attribution.requireFinite("the attribution")
        let classes = try Explained.classes(model, input).classes
        let per = attribution.count / n
        let values = (0..<n).map { s in (0..<per).map { i -> Double in let v = Double(attribution.scalars[s * per + i]); return absolute ? abs(v) : v } }
        var scores = [Double]()
        for batch in QuantusDraws.batches(n, size: quantusBatch) {
            scores += Self.shares(Array(values[batch]), classes: Array(classes[batch]), threshold: threshold)
        }
        return scores
    }

    /// The scores of one batch from its explanations (one row per sample, made absolute or not)
    /// and predicted classes.
    public static func shares(_ rows: [[Double]], classes: [Int], threshold: Double) -> [Double] {
        let m = rows.count, per = rows.first?.count ?? 0
        guard m >= 2 else { return [Double](repeating: 0, count: m) }
        // Per feature: 1 / variance over the batch (0 for features that do not vary).
        let inverse = (0..<per).map { i -> Double in
            let mean = rows.reduce(0.0) { $0 + $1[i] } / Double(m)
            let v = rows.reduce(0.0) { $0 + ($1[i] - mean) * ($1[i] - mean) } / Double(m - 1)
            return v > 0 ? 1 / v : 0
        }
        var distance = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
        for p in 0..<m {
            for q in (p + 1)..<m {
                var d = 0.0
                for i in 0..<per { let e = rows[p][i] - rows[q][i]; d += e * e * inverse[i] }
                distance[p][q] = d.squareRoot()
                distance[q][p] = distance[p][q]
            }
        }
        let largest = distance.joined().max() ?? 0
        return (0..<m).map { p in
            let close = (0..<m).filter { q in q != p && (largest > 0 ? distance[p][q] / largest : distance[p][q]) <= threshold }
            return close.isEmpty ? 0 : Double(close.filter { classes[$0] == classes[p] }.count) / Double(close.count)
        }
    }
}
