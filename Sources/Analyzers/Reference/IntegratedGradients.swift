import ExplainCore

/// Integrated Gradients (Sundararajan, Taly & Yan 2017): the input's difference to a baseline
/// times the average gradient along the straight path between them,
/// `R = (x − x0) ⊙ Σ_k w_k ∇f_t(x0 + α_k (x − x0))`, with the quadrature of `PathQuadrature`.
///
/// The target is resolved on the input itself, so every point of the path explains the same
/// output. The path points of a sample run as batches of `batchSize` through the gradient
/// analyzer (which splits them further if memory requires). `delta` reports completeness:
/// Σ R − (f_t(x) − f_t(x0)), which tends to 0 as the number of steps grows.
public struct IntegratedGradients: Analyzer {
    public let id: String
    public let model: ExplainableModel
    public let baseline: Baseline
    public let quadrature: PathQuadrature
    public let batchSize: Int
    let gradient: BackpropAnalyzer

    public init(id: String = "integrated_gradients", model: ExplainableModel, baseline: Baseline = .zero,
                quadrature: PathQuadrature, batchSize: Int? = nil) throws {
        self.id = id
        self.gradient = try BackpropAnalyzer(id: "gradient", model: model)
        self.model = gradient.model
        self.baseline = baseline
        self.quadrature = quadrature
        self.batchSize = max(1, batchSize ?? quadrature.alphas.count)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, seed, picked) = try model.cleanPass(input, target: target)
        let x0 = try baseline.batch(like: input)
        let n = input.shape[0], per = input.count / n
        let referenceOutput = try BatchChunks.predict(model.graph, x0, output: model.output)
        let difference = try input.minus(baseline: x0)
        let steps = quadrature.alphas.count
        var total = [Double](repeating: 0, count: input.count)
        var diagnostics: [String] = []
        for s in 0..<n {
            let b0 = x0.shape[0] == 1 ? 0 : s
            diagnostics += try gradient.analyzeCopies(of: s, in: input, count: steps, batchSize: batchSize, target: target, resolved: picked) { c, p in
                let alpha = Float(quadrature.alphas[c])
                input.withUnsafeBufferPointer { px in x0.withUnsafeBufferPointer { pb in
                    for i in 0..<per {
                        let base = pb[b0 * per + i]
                        p[i] = base + alpha * (px[s * per + i] - base)
                    }
                } }
            } use: { c, g in
                let w = quadrature.weights[c]
                for i in 0..<per { total[s * per + i] += w * Double(g[i]) }
            }
        }
        let values = Tensor(shape: input.shape) { p in
            difference.withUnsafeBufferPointer { d in for i in 0..<p.count { p[i] = Float(total[i]) * d[i] } }
        }
        var attribution = Attribution(values: values, output: output, targets: picked, diagnostics: Array(Set(diagnostics)).sorted())
        let change = try Tensor.broadcasting(seed, try output.minus(baseline: referenceOutput), MultiplyFunction.self)
        attribution.delta = zip(attribution.sums, change.sampleSums).map { $0 - $1 }
        return attribution
    }
}
