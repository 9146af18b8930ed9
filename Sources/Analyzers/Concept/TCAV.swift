import ExplainCore
import Foundation

/// Testing with Concept Activation Vectors (Kim et al. 2018, ICML; Captum `TCAV`): how much a
/// human concept, given by example inputs, drives a class at one layer.
///
/// 1. The concept activation vector (CAV) `v` is the normal of a linear classifier that separates
///    the layer's activations `A(x)` (flattened) of the concept's examples from those of a random
///    set: L2-regularised logistic regression (`LogisticRegression`, scikit-learn's objective with
///    `C`), `v` pointing toward the concept — Captum's CAV for the concept with that classifier.
/// 2. Each input's conceptual sensitivity is the directional derivative `S(x) = ∇_A f_t(x) · v`.
/// 3. The scores over the inputs: `sign_count` = share of inputs with `S > 0` (TCAV_Q of the
///    paper), `magnitude` = mean of `S` (what Captum's `interpret` returns under that name).
///
/// Scores against several random sets show whether a concept's score stands out from chance
/// (the paper's significance test compares them with random-vs-random scores).
public struct TCAV: Sendable {
    public let model: ExplainableModel
    /// The layer's value.
    public let layer: ValueID
    /// Inverse regularisation of the classifier (scikit-learn's `C`).
    public let c: Double

    /// A concept's score against one random set.
    public struct Score: Sendable {
        public var signCount: Double
        public var magnitude: Double
        /// Training accuracy of the classifier behind the CAV.
        public var accuracy: Double
        /// `S(x)` per input.
        public var sensitivities: [Double]
    }

    /// `layer`: a node or value name; nil takes the last hidden layer (`ExplainableModel.lastHiddenLayer`).
    public init(model: ExplainableModel, layer: String?, inputShape: [Int], c: Double = 1) throws {
        self.model = model
        if let layer {
            self.layer = try model.graph.value(named: layer)
        } else if let v = try model.lastHiddenLayer(inputShape: inputShape) {
            self.layer = v
        } else {
            throw ExplainError.argument("the model has no hidden layer before the explained output: give --layer")
        }
        guard c > 0, c.isFinite else { throw ExplainError(.invalidArgument, "C = \(c): the inverse regularisation must be positive") }
        self.c = c
    }

    /// The layer's activations of `examples`, one flattened row per example, in Double, and the
    /// shape of one example's activation.
    func activations(_ examples: Tensor) throws -> (rows: [[Double]], shape: [Int]) {
        guard examples.rank >= 1, examples.shape[0] >= 1 else { throw ExplainError.shape("an example set needs at least one sample") }
        try examples.requireFinite("the examples")
        let a = try BatchChunks.predict(model.graph, examples, output: layer)
        let per = a.count / examples.shape[0]
        let rows = a.withUnsafeBufferPointer { p in (0..<examples.shape[0]).map { i in (0..<per).map { Double(p[i * per + $0]) } } }
        return (rows, Array(a.shape.dropFirst()))
    }

    /// The CAV of `concept` against `random` (shaped like one sample of the layer) with the
    /// classifier's training accuracy.
    public func cav(concept: Tensor, random: Tensor) throws -> (vector: Tensor, accuracy: Double) {
        let (positives, shape) = try activations(concept), negatives = try activations(random).rows
        let fit = try LogisticRegression(samples: positives + negatives,
                                         positive: positives.map { _ in true } + negatives.map { _ in false }, c: c)
        return (try Tensor(shape: shape, scalars: fit.weights.map(Float.init)), fit.accuracy)
    }

    /// `S(x) = ∇_A f_t(x) · v` per input.
    public func sensitivities(_ inputs: Tensor, target: Target, cav: Tensor) throws -> [Double] {
        let pass = try BackpropAnalyzer(id: "gradient", model: model).layerPass(inputs, target: target, layer: layer)
        let g = pass.cotangent, n = inputs.shape[0], per = g.count / max(n, 1)
        guard per == cav.count else {
            throw ExplainError.shape("the CAV has \(cav.count) values, the layer \(per) per sample")
        }
        return g.withUnsafeBufferPointer { pg in cav.withUnsafeBufferPointer { pv in
            (0..<n).map { i in (0..<per).reduce(0.0) { $0 + Double(pg[i * per + $1]) * Double(pv[$1]) } }
        } }
    }

    /// The scores of `concept` against `random` on `inputs`.
    public func score(_ inputs: Tensor, target: Target, concept: Tensor, random: Tensor) throws -> Score {
        let (v, accuracy) = try cav(concept: concept, random: random)
        let s = try sensitivities(inputs, target: target, cav: v)
        return Score(signCount: Double(s.filter { $0 > 0 }.count) / Double(s.count), magnitude: s.reduce(0, +) / Double(s.count),
                     accuracy: accuracy, sensitivities: s)
    }
}
