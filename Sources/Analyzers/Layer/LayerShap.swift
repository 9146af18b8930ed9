import ExplainCore

/// Layer DeepLIFT-SHAP (Captum's `LayerDeepLiftShap`): Layer DeepLIFT averaged over a set of
/// baselines, `R = mean_j m_A^(j) ⊙ (A(x) − A(x0_j))`; when every path to the output crosses the
/// layer, `Σ R = f_t(x) − mean_j f_t(x0_j)` (the `delta`). Copies of a sample run against a batch of
/// baselines at once. The result is shaped like the layer.
public struct LayerDeepLiftShap: Analyzer {
    public let id = "layer_deeplift_shap"
    /// The DeepLIFT analyzer (its rules; its own baseline is replaced by each of the set's).
    public let deeplift: BackpropAnalyzer
    public let layer: LayerChoice
    public let batchSize: Int
    let baselines: @Sendable (Tensor) throws -> BaselineSet

    public init(deeplift: BackpropAnalyzer, layer: String?, baselines: @escaping @Sendable (Tensor) throws -> BaselineSet, batchSize: Int = 16) throws {
        self.deeplift = deeplift
        self.layer = try LayerChoice(layer, in: deeplift.model)
        self.baselines = baselines
        self.batchSize = max(1, batchSize)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let model = deeplift.model
        let (output, seedTensor, picked) = try model.cleanPass(input, target: target)
        let v = try layer.value(in: model, inputShape: input.shape)
        let set = try baselines(input)
        let n = input.shape[0], b = set.count
        var total: [Double] = [], layerShape: [Int] = []
        for s in 0..<n {
            try set.againstEach(sample: s, of: input, analyzer: deeplift, batchSize: batchSize, target: target, resolved: picked) { analyzer, copies, t, m in
                let pass = try analyzer.layerPass(copies, target: t, layer: v)
                let reference = pass.referenceActivation ?? Tensor(shape: pass.activation.shape)
                let l = pass.cotangent.count / m
                if total.isEmpty {
                    layerShape = Array(pass.cotangent.shape.dropFirst())
                    total = [Double](repeating: 0, count: n * l)
                }
                pass.cotangent.withUnsafeBufferPointer { g in pass.activation.withUnsafeBufferPointer { a in reference.withUnsafeBufferPointer { r in
                    for c in 0..<m { for i in 0..<l { total[s * l + i] += Double(g[c * l + i]) * Double(a[c * l + i] - r[c * l + i]) } }
                } } }
            }
        }
        let values = Tensor(shape: [n] + layerShape) { p in for i in 0..<p.count { p[i] = Float(total[i] / Double(b)) } }
        var a = Attribution(values: values, output: output, targets: picked, diagnostics: layer.note(v, in: model))
        a.delta = try set.completenessDelta(a, seed: seedTensor, model: model)
        return a
    }
}

/// Layer GradientSHAP (Captum's `LayerGradientShap`): the mean over random draws of
/// `(A(x + ε) − A(x0)) ⊙ ∂f_t/∂A (x0 + α (x + ε − x0))`, with `x0` drawn from the baselines,
/// `α ~ U(0, 1)` and `ε ~ N(0, stdev²)` per element (the draws of `gradient_shap`). The result is
/// shaped like the layer; `delta` compares Σ R with `f_t(x) − mean f_t(x0)` (met in expectation
/// where every path crosses the layer).
public struct LayerGradientShap: SplitsItsOwnBatches {
    public let id = "layer_gradient_shap"
    public let model: ExplainableModel
    public let layer: LayerChoice
    public let samples: Int
    public let stdev: Double
    public let seed: UInt64
    /// Draw as Captum does after `np.random.seed(seed)` and `torch.manual_seed(seed)` (`ShapDraws.captum`).
    public let captumDraws: Bool
    public let batchSize: Int
    let baselines: @Sendable (Tensor) throws -> BaselineSet
    let gradient: BackpropAnalyzer

    public init(model: ExplainableModel, layer: String?, baselines: @escaping @Sendable (Tensor) throws -> BaselineSet, samples: Int = 5,
                stdev: Double = 0, seed: UInt64 = 0, batchSize: Int = 16, captumDraws: Bool = false) throws {
        if captumDraws { _ = try RandomDraws.peerSeed(seed) }
        self.captumDraws = captumDraws
        guard samples >= 1 else { throw ExplainError.argument("samples must be ≥ 1") }
        guard stdev >= 0, stdev.isFinite else { throw ExplainError.argument("stdev must be ≥ 0") }
        self.gradient = try BackpropAnalyzer(id: "gradient", model: model)
        self.model = gradient.model
        self.layer = try LayerChoice(layer, in: model)
        self.baselines = baselines
        self.samples = samples
        self.stdev = stdev
        self.seed = seed
        self.batchSize = max(1, batchSize)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, seedTensor, picked) = try model.cleanPass(input, target: target)
        let v = try layer.value(in: model, inputShape: input.shape)
        let set = try baselines(input)
        let baselineLayer = try BatchChunks.predict(model.graph, set.samples, output: v)
        let n = input.shape[0], per = input.count / n, l = baselineLayer.count / set.count
        let layerShape = Array(baselineLayer.shape.dropFirst())
        var rng = SeededGenerator(seed: seed)
        let batchDraws = captumDraws ? try ShapDraws.captum(batch: input, count: samples, baselines: set.count, stdev: stdev, seed: try RandomDraws.peerSeed(seed)) : nil
        var total = [Double](repeating: 0, count: n * l)
        let size = BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per, graph: model.graph)
        for s in 0..<n {
            let draws = batchDraws?[s] ?? ShapDraws(sample: s, of: input, count: samples, baselines: set.count, stdev: stdev, using: &rng)
            for start in stride(from: 0, to: samples, by: size) {
                let m = min(size, samples - start)
                var shape = input.shape
                shape[0] = m
                let noisy = try Tensor(shape: shape, scalars: Array(draws.noisy[(start * per)..<((start + m) * per)]))
                let points = Tensor(shape: shape) { p in
                    for c in 0..<m { draws.point(start + c, baselines: set, into: UnsafeMutableBufferPointer(rebasing: p[(c * per)..<((c + 1) * per)])) }
                }
                let gradients = try gradient.layerPass(points, target: try target.copies(ofSample: s, count: m, resolved: picked), layer: v).cotangent
                let noisyLayer = try BatchChunks.predict(model.graph, noisy, output: v)
                gradients.withUnsafeBufferPointer { g in noisyLayer.withUnsafeBufferPointer { a in baselineLayer.withUnsafeBufferPointer { r in
                    for c in 0..<m {
                        let b = draws.baselines[start + c] * l
                        for i in 0..<l { total[s * l + i] += Double(g[c * l + i]) * Double(a[c * l + i] - r[b + i]) }
                    }
                } } }
            }
        }
        let values = Tensor(shape: [n] + layerShape) { p in for i in 0..<p.count { p[i] = Float(total[i] / Double(samples)) } }
        var a = Attribution(values: values, output: output, targets: picked, diagnostics: layer.note(v, in: model))
        a.delta = try set.completenessDelta(a, seed: seedTensor, model: model)
        return a
    }
}
