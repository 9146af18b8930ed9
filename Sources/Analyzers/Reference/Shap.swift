import ExplainCore

/// GradientSHAP (Lundberg & Lee 2017; Captum `GradientShap`): expected gradients — the mean over
/// random draws of `(x + ε − x0) ⊙ ∇f_t(x0 + α (x + ε − x0))`, with `x0` drawn from the baselines,
/// `α ~ U(0, 1)` and `ε ~ N(0, σ²)` per element. Its expectation is Integrated Gradients averaged over
/// the baselines, so `Σ R ≈ f_t(x) − mean f_t(x0)`.
public struct GradientShap: SplitsItsOwnBatches {
    public let id = "gradient_shap"
    public let model: ExplainableModel
    public let samples: Int
    public let stdev: Double
    public let seed: UInt64
    /// Draw as Captum does after `np.random.seed(seed)` and `torch.manual_seed(seed)` (`ShapDraws.captum`),
    /// or as shap's GradientExplainer with `rseed=seed` (`ShapDraws.shap`).
    public let draws: RandomDraws
    public let batchSize: Int
    let baselines: @Sendable (Tensor) throws -> BaselineSet
    let gradient: BackpropAnalyzer

    public init(model: ExplainableModel, baselines: @escaping @Sendable (Tensor) throws -> BaselineSet, samples: Int = 5, stdev: Double = 0,
                seed: UInt64 = 0, batchSize: Int = 16, draws: RandomDraws = .explainkit) throws {
        if draws != .explainkit { _ = try RandomDraws.peerSeed(seed) }
        if draws == .numpy, stdev > 0 {
            throw ExplainError.argument("rng = numpy reproduces shap's GradientExplainer without local smoothing: give stdev = 0")
        }
        self.draws = draws
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
        let batchDraws: [ShapDraws]? = switch draws {
        case .captum: try ShapDraws.captum(batch: input, count: samples, baselines: set.count, stdev: stdev, seed: try RandomDraws.peerSeed(seed))
        case .numpy: ShapDraws.shap(batch: input, count: samples, baselines: set.count, seed: try RandomDraws.peerSeed(seed))
        default: nil
        }
        var total = [Double](repeating: 0, count: input.count), diagnostics: [String] = []
        for s in 0..<n {
            let draws = batchDraws?[s] ?? ShapDraws(sample: s, of: input, count: samples, baselines: set.count, stdev: stdev, using: &rng)
            let (chosen, noisy) = (draws.baselines, draws.noisy)
            diagnostics += try gradient.analyzeCopies(of: s, in: input, count: samples, batchSize: batchSize, target: target, resolved: picked) { c, p in
                draws.point(c, baselines: set, into: p)
            } use: { c, g in
                let b = chosen[c] * per
                for i in 0..<per { total[s * per + i] += Double(g[i]) * Double(noisy[c * per + i] - set.samples.scalars[b + i]) }
            }
        }
        let values = Tensor(shape: input.shape) { p in for i in 0..<p.count { p[i] = Float(total[i] / Double(samples)) } }
        var a = Attribution(values: values, output: output, targets: picked, diagnostics: Array(Set(diagnostics)).sorted())
        a.delta = try set.completenessDelta(a, seed: seedTensor, model: model)
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
        for s in 0..<n {
            try set.againstEach(sample: s, of: input, analyzer: deeplift, batchSize: batchSize, target: target, resolved: picked) { analyzer, copies, t, m in
                let a = try analyzer.analyze(copies, target: t)
                a.values.withUnsafeBufferPointer { p in
                    for c in 0..<m { for i in 0..<per { total[s * per + i] += Double(p[c * per + i]) } }
                }
                diagnostics += a.diagnostics
            }
        }
        let values = Tensor(shape: input.shape) { p in for i in 0..<p.count { p[i] = Float(total[i] / Double(b)) } }
        var a = Attribution(values: values, output: output, targets: picked, diagnostics: Array(Set(diagnostics)).sorted())
        a.delta = try set.completenessDelta(a, seed: seedTensor, model: model)
        return a
    }
}
