import ExplainCore
import Foundation

/// What Quantus's robustness metrics share: explanations of perturbed copies of a batch, each
/// sample's explanation flattened in Double, scaled by its largest magnitude (`normalise`, per
/// sample) and made absolute (`absolute`) as Quantus prepares them.
enum Explained {
    /// Per sample: the values of `t` (batch first), prepared.
    static func rows(_ t: Tensor, normalise: Bool, absolute: Bool) -> [[Double]] {
        let n = t.shape.first ?? 0, per = n > 0 ? t.count / n : 0
        return t.withUnsafeBufferPointer { p in
            (0..<n).map { s in
                var v = (0..<per).map { Double(p[s * per + $0]) }
                if normalise, let top = v.map(abs).max(), top > 0 { v = v.map { $0 / top } }
                return absolute ? v.map(abs) : v
            }
        }
    }

    /// The explanation of `input` by `analyzer` for `target`, checked to keep its shape.
    static func explain(_ analyzer: any Analyzer, _ input: Tensor, _ target: Target, like base: Tensor) throws -> Tensor {
        let a = try analyzer.analyze(input, target: target).values
        if a.shape != base.shape { throw ExplainError.shape("the explanation changed shape under perturbation: \(Shape.format(base.shape)) → \(Shape.format(a.shape))") }
        return a
    }

    /// The arg-max class of each sample's output.
    static func classes(_ model: ExplainableModel, _ input: Tensor) throws -> (classes: [Int], output: Tensor) {
        let out = try BatchChunks.predict(model.graph, input, output: model.output)
        let n = input.shape[0], k = out.count / max(n, 1)
        return ((0..<n).map { s in (0..<k).max { out.scalars[s * k + $0] < out.scalars[s * k + $1] } ?? 0 }, out)
    }

    /// A Quantus batch: its samples, their inputs and targets, and their explanations of `input`.
    struct Batch {
        let range: Range<Int>, input: Tensor, target: Target, explanation: Tensor
    }

    /// Explains `input` once and splits it, the targets and the explanations into Quantus's batches.
    static func batches(_ analyzer: any Analyzer, input: Tensor, target: Target, size: Int) throws -> [Batch] {
        try input.requireFinite("the input")
        let base = try analyzer.analyze(input, target: target)
        let fixed = base.sameTargets(or: target), n = input.shape[0]
        return try QuantusDraws.batches(n, size: size).map {
            Batch(range: $0, input: try input.samples($0), target: try fixed.samples($0, of: n), explanation: try base.values.samples($0))
        }
    }

    /// Euclidean distance of two rows.
    static func distance(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    }
}

/// Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018, "On the robustness of interpretability
/// methods"; Quantus `LocalLipschitzEstimate`): the largest ratio `‖Φ(x) − Φ(x̃)‖₂ / ‖x − x̃‖₂` over
/// `samples` copies `x̃ = x + N(mean, std²)` per element, explanations scaled per sample by their
/// largest magnitude. Lower is more robust. Noise drawn as Quantus draws it after
/// `np.random.seed(seed)` (numpy's legacy normals, one `(batch, features)` array per copy).
public struct LocalLipschitzEstimate: Sendable {
    public let samples: Int
    public let mean: Double
    public let std: Double
    public let seed: UInt64
    public let quantusBatch: Int

    public init(samples: Int = 200, mean: Double = 0, std: Double = 0.1, seed: UInt64 = 0, quantusBatch: Int = 64) throws {
        guard samples >= 1, samples <= 100_000 else { throw ExplainError.argument("samples = \(samples): give 1…100000") }
        guard std > 0, std.isFinite, mean.isFinite else { throw ExplainError.argument("the noise needs a finite mean and a standard deviation > 0") }
        try QuantusDraws.check(seed: seed, quantusBatch: quantusBatch)
        (self.samples, self.mean, self.std, self.seed, self.quantusBatch) = (samples, mean, std, seed, quantusBatch)
    }

    /// Per sample: the estimate for `analyzer`'s explanations of `target`.
    public func evaluate(_ analyzer: any Analyzer, input: Tensor, target: Target) throws -> [Double] {
        var mt = MersenneTwister(seed: try RandomDraws.peerSeed(seed))
        var result = [Double]()
        for part in try Explained.batches(analyzer, input: input, target: target, size: quantusBatch) {
            let (batch, x, t, own) = (part.range, part.input, part.target, part.explanation)
            let a = Explained.rows(own, normalise: true, absolute: false)
            let xs = Explained.rows(x, normalise: false, absolute: false)
            var worst = [Double](repeating: -.infinity, count: batch.count)
            for _ in 0..<samples {
                let moved = Tensor(shape: x.shape) { p in
                    for i in 0..<p.count { p[i] = Float(Double(x.scalars[i]) + (mean + std * mt.legacyGauss())) }
                }
                let b = Explained.rows(try Explained.explain(analyzer, moved, t, like: own), normalise: true, absolute: false)
                let ms = Explained.rows(moved, normalise: false, absolute: false)
                for s in 0..<batch.count {
                    worst[s] = max(worst[s], Explained.distance(a[s], b[s]) / (Explained.distance(xs[s], ms[s]) + 1e-10))
                }
            }
            result += worst
        }
        return result
    }
}

/// Relative input, output and representation stability (Agarwal et al. 2022, "Rethinking stability
/// for attribution-based explanations"; Quantus `RelativeInputStability`, `RelativeOutputStability`,
/// `RelativeRepresentationStability`): the largest relative change of the explanation per relative
/// change of the input (RIS), of the logits (ROS) or of a hidden layer's output (RRS) over `samples`
/// copies `x̃ = x + U(low, high)` per element whose predicted class stays:
///
///     RIS = max ‖(Φ(x) − Φ(x̃)) / Φ(x)‖₂ / max(‖(x − x̃) / x‖₂, ε)     (elementwise ratios; 0 → ε)
///     ROS = max ‖(Φ(x) − Φ(x̃)) / Φ(x)‖₂ / max(‖h(x) − h(x̃)‖₂, ε)
///     RRS = max ‖(Φ(x) − Φ(x̃)) / Φ(x)‖₂ / max(‖(L(x) − L(x̃)) / L(x)‖₂, ε)   (L: the layer's output)
///
/// with ε = `epsMin`. Lower is more stable. Noise drawn as Quantus draws it after
/// `np.random.seed(seed)`. Copies whose class changes are left out, as the paper's maximum runs
/// over the copies with the same prediction (NaN when all change); Quantus 0.6.0 turns the whole
/// score into NaN when any copy changes class.
public struct RelativeStability: Sendable {
    public enum Kind: Sendable, Equatable {
        case input, output
        /// The output of the graph value (node) with this name.
        case representation(String)
    }
    public let kind: Kind
    public let samples: Int
    public let low: Double, high: Double
    public let epsMin: Double
    public let seed: UInt64
    public let quantusBatch: Int

    public init(kind: Kind, samples: Int = 200, low: Double = 0.02, high: Double = 0.2, epsMin: Double = 1e-6, seed: UInt64 = 0,
                quantusBatch: Int = 64) throws {
        guard samples >= 1, samples <= 100_000 else { throw ExplainError.argument("samples = \(samples): give 1…100000") }
        guard low.isFinite, high.isFinite, low < high else { throw ExplainError.argument("noise range \(low)…\(high): give finite bounds, low < high") }
        guard epsMin > 0, epsMin.isFinite else { throw ExplainError.argument("eps_min = \(epsMin): give a finite value > 0") }
        try QuantusDraws.check(seed: seed, quantusBatch: quantusBatch)
        (self.kind, self.samples, self.low, self.high, self.epsMin, self.seed, self.quantusBatch) = (kind, samples, low, high, epsMin, seed, quantusBatch)
    }

    /// Per sample: RIS or ROS of `analyzer`'s explanations of `target` (`model`: the model explained).
    public func evaluate(_ analyzer: any Analyzer, model: ExplainableModel, input: Tensor, target: Target) throws -> [Double] {
        var mt = MersenneTwister(seed: try RandomDraws.peerSeed(seed))
        var result = [Double]()
        for part in try Explained.batches(analyzer, input: input, target: target, size: quantusBatch) {
            let (batch, x, t, own) = (part.range, part.input, part.target, part.explanation)
            let e = Explained.rows(own, normalise: false, absolute: false)
            let xs = Explained.rows(x, normalise: false, absolute: false)
            let (labels, logits) = try Explained.classes(model, x)
            let h = try representation(model, x, logits: logits)
            var worst = [Double](repeating: -.infinity, count: batch.count)
            for _ in 0..<samples {
                let moved = Tensor(shape: x.shape) { p in
                    for i in 0..<p.count { p[i] = Float(Double(x.scalars[i]) + low + (high - low) * mt.nextDouble()) }
                }
                let es = Explained.rows(try Explained.explain(analyzer, moved, t, like: own), normalise: false, absolute: false)
                let (movedLabels, movedLogits) = try Explained.classes(model, moved)
                let ms = Explained.rows(moved, normalise: false, absolute: false), hs = try representation(model, moved, logits: movedLogits)
                for s in 0..<batch.count where movedLabels[s] == labels[s] {
                    let numerator = relative(e[s], es[s])
                    var denominator = switch kind {
                    case .input: relative(xs[s], ms[s])
                    case .output: Explained.distance(h[s], hs[s])
                    case .representation: relative(h[s], hs[s])
                    }
                    if denominator == 0 { denominator = epsMin }
                    worst[s] = max(worst[s], numerator / denominator)
                }
            }
            result += worst.map { $0 == -.infinity ? .nan : $0 }
        }
        return result
    }

    /// Per sample: the logits (ROS), the named layer's output (RRS) or nothing (RIS), flattened.
    func representation(_ model: ExplainableModel, _ x: Tensor, logits: Tensor) throws -> [[Double]] {
        switch kind {
        case .input: return []
        case .output: return Explained.rows(logits, normalise: false, absolute: false)
        case .representation(let name):
            let value = try model.graph.value(named: name)
            return Explained.rows(try BatchChunks.predict(model.graph, x, output: value), normalise: false, absolute: false)
        }
    }

    /// `‖(u − v) / u‖₂` with a zero `u_i` replaced by `epsMin`.
    func relative(_ u: [Double], _ v: [Double]) -> Double {
        zip(u, v).reduce(0.0) { acc, p in let r = (p.0 - p.1) / (p.0 == 0 ? epsMin : p.0); return acc + r * r }.squareRoot()
    }
}
