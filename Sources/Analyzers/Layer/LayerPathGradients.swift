import ExplainCore

/// Gradients at a layer along the straight path `x_k = x0 + α_k (x − x0)` in the input space
/// (Captum's `InternalInfluence` and `LayerConductance`):
///
/// - internal influence: `Σ_k w_k ∂f_t/∂A (x_k)` (Leino et al. 2018), not multiplied by anything;
/// - conductance: `Σ_{k<n} ∂f_t/∂A (x_k) ⊙ (A(x_{k+1}) − A(x_k))` over the n + 1 points of the
///   quadrature for n + 1 steps (Dhamdhere, Sundararajan & Yan 2018); summed over the layer it
///   approximates `f_t(x) − f_t(x0)` (reported as `delta`).
///
/// The path points of a sample run as batches of `batchSize`. The result is shaped like the layer.
public struct LayerPathGradients: Analyzer {
    /// Which path quantity.
    public enum Variant: String, Sendable {
        case internalInfluence = "internal_influence"
        case conductance = "layer_conductance"
    }

    public let id: String
    public let variant: Variant
    public let model: ExplainableModel
    public let layer: LayerChoice
    public let baseline: Baseline
    /// The path points (for conductance: the n + 1 points of the rule).
    public let quadrature: PathQuadrature
    public let batchSize: Int
    let gradient: BackpropAnalyzer

    public init(variant: Variant, model: ExplainableModel, layer: String?, baseline: Baseline = .zero,
                quadrature: PathQuadrature, batchSize: Int? = nil) throws {
        self.id = variant.rawValue
        self.variant = variant
        self.gradient = try BackpropAnalyzer(id: "gradient", model: model)
        self.model = gradient.model
        self.layer = try LayerChoice(layer, in: model)
        self.baseline = baseline
        guard variant != .conductance || quadrature.alphas.count >= 2 else {
            throw ExplainError.argument("conductance needs at least 2 path points")
        }
        self.quadrature = quadrature
        self.batchSize = max(1, batchSize ?? quadrature.alphas.count)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, seed, picked) = try model.cleanPass(input, target: target)
        let v = try layer.value(in: model, inputShape: input.shape)
        let x0 = try baseline.batch(like: input)
        let n = input.shape[0], per = input.count / n
        let points = quadrature.alphas.count
        var layerShape: [Int] = []
        var total: [Double] = []
        for s in 0..<n {
            var sum: [Double] = [], previous: [Float] = []
            var done = 0
            while done < points {
                let m = min(BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per, graph: model.graph), points - done)
                let first = done
                let copies = try input.pathPoints(sample: s, baseline: x0, alphas: quadrature.alphas[first..<(first + m)])
                let pass = try gradient.layerPass(copies, target: try target.copies(ofSample: s, count: m, resolved: picked), layer: v)
                let size = pass.cotangent.count / m
                if layerShape.isEmpty {
                    layerShape = Array(pass.cotangent.shape.dropFirst())
                    total = [Double](repeating: 0, count: n * size)
                }
                if sum.isEmpty { sum = [Double](repeating: 0, count: size) }
                if previous.count != size { previous = [Float](repeating: 0, count: size) }
                pass.cotangent.withUnsafeBufferPointer { g in pass.activation.withUnsafeBufferPointer { a in
                    for c in 0..<m {
                        let k = first + c, row = c * size
                        switch variant {
                        case .internalInfluence:
                            let w = quadrature.weights[k]
                            for i in 0..<size { sum[i] += w * Double(g[row + i]) }
                        case .conductance:
                            // Σ_{k<n} g_k ⊙ (A_{k+1} − A_k): add g_{k−1} ⊙ A_k, subtract g_k ⊙ A_k.
                            if k >= 1 { for i in 0..<size { sum[i] += Double(previous[i]) * Double(a[row + i]) } }
                            if k < points - 1 { for i in 0..<size { sum[i] -= Double(g[row + i]) * Double(a[row + i]) } }
                            for i in 0..<size { previous[i] = g[row + i] }
                        }
                    }
                } }
                done += m
            }
            for i in sum.indices { total[s * sum.count + i] = sum[i] }
        }
        let values = Tensor(shape: [n] + layerShape) { p in for i in 0..<p.count { p[i] = Float(total[i]) } }
        var attribution = Attribution(values: values, output: output, targets: picked, diagnostics: layer.note(v, in: model))
        if variant == .conductance {
            let referenceOutput = try BatchChunks.predict(model.graph, x0, output: model.output)
            let change = try Tensor.broadcasting(seed, try output.minus(baseline: referenceOutput), MultiplyFunction.self)
            attribution.delta = zip(attribution.sums, change.sampleSums).map { $0 - $1 }
        }
        return attribution
    }
}
