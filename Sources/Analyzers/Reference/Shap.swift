import ExplainCore

/// A set of reference inputs (a "background" distribution) for the SHAP-style methods: one or more
/// samples shaped like one input sample, or a single value for every element.
public struct BaselineSet: Sendable {
    /// `(B, …)`: B baselines of one sample's shape.
    public let samples: Tensor

    /// The baselines of the `baselines` option: `file:B.npy` with B samples (or one sample's shape),
    /// else a number (default 0) for a single baseline.
    public init(from options: Options, like input: Tensor) throws {
        var one = input.shape
        one[0] = 1
        if let t = try options.tensor("baselines") {
            if t.shape == Array(input.shape.dropFirst()) { samples = try t.reshaped(one); return }
            guard t.rank == input.rank, Array(t.shape.dropFirst()) == Array(input.shape.dropFirst()), t.shape[0] >= 1 else {
                throw ExplainError.shape("baselines \(Shape.format(t.shape)): give (B, \(input.shape.dropFirst().map(String.init).joined(separator: ", "))) — B reference samples shaped like the input's")
            }
            try t.requireFinite("the baselines")
            samples = t
        } else {
            samples = try Baseline.parse(options.string("baselines", default: "0"), key: "baselines").batch(like: try input.samples(0..<1))
        }
    }

    public var count: Int { samples.shape[0] }
    public static let parameter = Parameter("baselines", default: "0", "file:B.npy: reference samples (the background distribution), or one value")
}

/// GradientSHAP (Lundberg & Lee 2017; Captum `GradientShap`): expected gradients — the mean over
/// random draws of `(x + ε − x0) ⊙ ∇f_t(x0 + α (x + ε − x0))`, with `x0` drawn from the baselines,
/// `α ~ U(0, 1)` and `ε ~ N(0, σ²)` per element. Its expectation is Integrated Gradients averaged over
/// the baselines, so `Σ R ≈ f_t(x) − mean f_t(x0)`.
public struct GradientShap: Analyzer {
    public let id = "gradient_shap"
    public let model: ExplainableModel
    public let samples: Int
    public let stdev: Double
    public let seed: UInt64
    public let batchSize: Int
    let baselines: @Sendable (Tensor) throws -> BaselineSet
    let gradient: BackpropAnalyzer

    public init(model: ExplainableModel, baselines: @escaping @Sendable (Tensor) throws -> BaselineSet, samples: Int = 5, stdev: Double = 0,
                seed: UInt64 = 0, batchSize: Int = 16) throws {
        guard samples >= 1 else { throw ExplainError.argument("samples must be ≥ 1") }
        guard stdev >= 0, stdev.isFinite else { throw ExplainError.argument("stdev must be ≥ 0") }
        self.gradient = try BackpropAnalyzer(id: "gradient", model: model)
        self.model = gradient.model
        self.baselines = baselines
        self.samples = samples
        self.stdev = stdev
        self.seed = seed
        self.batchSize = batchSize
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, seedTensor, picked) = try model.cleanPass(input, target: target)
        let set = try baselines(input)
        let n = input.shape[0], per = input.count / n
        var rng = SeededGenerator(seed: seed)
        var total = [Double](repeating: 0, count: input.count), diagnostics: [String] = []
        for s in 0..<n {
            // The draws: baseline index, α and the noisy input, per copy.
            let chosen = (0..<samples).map { _ in Int(rng.next() % UInt64(set.count)) }
            let alphas = (0..<samples).map { _ in Float(Double(rng.next() >> 11) * 0x1.0p-53) }
            var noisy = [Float](repeating: 0, count: samples * per)
            noisy.withUnsafeMutableBufferPointer { p in
                if stdev > 0 { rng.fillGaussian(p) }
                for c in 0..<samples { for i in 0..<per { p[c * per + i] = input.scalars[s * per + i] + Float(stdev) * p[c * per + i] } }
            }
            diagnostics += try gradient.analyzeCopies(of: s, in: input, count: samples, batchSize: batchSize, target: target, resolved: picked) { c, p in
                let b = chosen[c] * per
                for i in 0..<per { p[i] = set.samples.scalars[b + i] + alphas[c] * (noisy[c * per + i] - set.samples.scalars[b + i]) }
            } use: { c, g in
                let b = chosen[c] * per
                for i in 0..<per { total[s * per + i] += Double(g[i]) * Double(noisy[c * per + i] - set.samples.scalars[b + i]) }
            }
        }
        let values = Tensor(shape: input.shape) { p in for i in 0..<p.count { p[i] = Float(total[i] / Double(samples)) } }
        var a = Attribution(values: values, output: output, targets: picked, diagnostics: Array(Set(diagnostics)).sorted())
        a.delta = try ShapCompleteness.delta(a, seed: seedTensor, model: model, baselines: set)
        return a
    }
}

/// DeepLIFT-SHAP (Lundberg & Lee 2017; Captum `DeepLiftShap`): DeepLIFT averaged over every baseline
/// of the set; summation to delta becomes `Σ R = f_t(x) − mean f_t(x0)`.
public struct DeepLiftShap: Analyzer {
    public let id = "deeplift_shap"
    public let deeplift: BackpropAnalyzer
    public let batchSize: Int
    let baselines: @Sendable (Tensor) throws -> BaselineSet

    public init(deeplift: BackpropAnalyzer, baselines: @escaping @Sendable (Tensor) throws -> BaselineSet, batchSize: Int = 16) {
        self.deeplift = deeplift
        self.baselines = baselines
        self.batchSize = max(1, batchSize)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let model = deeplift.model
        let (output, seedTensor, picked) = try model.cleanPass(input, target: target)
        let set = try baselines(input)
        let n = input.shape[0], per = input.count / n, b = set.count
        var total = [Double](repeating: 0, count: input.count), diagnostics: [String] = []
        let size = BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per)
        for s in 0..<n {
            let sample = try input.sample(s)
            for start in stride(from: 0, to: b, by: size) {
                let m = min(size, b - start)
                // m copies of the sample, each against its own baseline.
                var analyzer = deeplift
                analyzer.baseline = .tensor(try set.samples.samples(start..<(start + m)))
                let a = try analyzer.analyze(try Tensor.concatenateBatches([Tensor](repeating: sample, count: m)),
                                             target: try target.copies(ofSample: s, count: m, resolved: picked))
                a.values.withUnsafeBufferPointer { p in
                    for c in 0..<m { for i in 0..<per { total[s * per + i] += Double(p[c * per + i]) } }
                }
                diagnostics += a.diagnostics
            }
        }
        let values = Tensor(shape: input.shape) { p in for i in 0..<p.count { p[i] = Float(total[i] / Double(b)) } }
        var a = Attribution(values: values, output: output, targets: picked, diagnostics: Array(Set(diagnostics)).sorted())
        a.delta = try ShapCompleteness.delta(a, seed: seedTensor, model: model, baselines: set)
        return a
    }
}

enum ShapCompleteness {
    /// Σ R − Σ seed ⊙ (f(x) − mean_k f(x0_k)), per sample.
    static func delta(_ a: Attribution, seed: Tensor, model: ExplainableModel, baselines set: BaselineSet) throws -> [Double] {
        let reference = try BatchChunks.predict(model.graph, set.samples, output: model.output)
        let k = reference.count / set.count
        let mean = (0..<k).map { j in (0..<set.count).reduce(0.0) { $0 + Double(reference.scalars[$1 * k + j]) } / Double(set.count) }
        let n = a.output.shape[0]
        return (0..<n).map { s in
            let change = (0..<k).reduce(0.0) { $0 + Double(seed.scalars[s * k + $1]) * (Double(a.output.scalars[s * k + $1]) - mean[$1]) }
            return a.sums[s] - change
        }
    }
}
