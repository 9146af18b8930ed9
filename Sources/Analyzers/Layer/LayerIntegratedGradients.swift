import ExplainCore

/// Layer Integrated Gradients (Captum's `LayerIntegratedGradients`): Integrated Gradients in the
/// space of a layer's output `A`. The path runs from `A(x0)` to `A(x)`; the rest of the network
/// after the layer runs on the replaced values, and every other value it reads (a skip
/// connection around the layer) comes from `x`:
/// `R = (A(x) − A(x0)) ⊙ Σ_k w_k ∂f_t/∂A |_(A(x0) + α_k (A(x) − A(x0)))`.
///
/// Only the nodes after the layer rerun per path point (`Graph.tailActivations`). `delta` reports
/// completeness along that path: Σ R − (f_t(x) − f_t(x with A replaced by A(x0))); in a network
/// without connections around the layer that is f_t(x) − f_t(x0).
public struct LayerIntegratedGradients: Analyzer {
    public let id = "layer_integrated_gradients"
    public let model: ExplainableModel
    public let layer: LayerChoice
    public let baseline: Baseline
    public let quadrature: PathQuadrature
    public let batchSize: Int
    let bound: BoundGraph

    public init(model: ExplainableModel, layer: String?, baseline: Baseline = .zero, quadrature: PathQuadrature,
                batchSize: Int? = nil) throws {
        self.model = model
        self.layer = try LayerChoice(layer, in: model)
        self.baseline = baseline
        self.quadrature = quadrature
        self.batchSize = max(1, batchSize ?? quadrature.alphas.count)
        self.bound = try BoundGraph(model.graph)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (v, acts, output, a) = try layer.inputPass(input, model: model, instead: "integrated_gradients")
        let (seed, picked) = try target.seed(for: output)
        let g = model.graph
        let a0 = try BatchChunks.predict(g, try baseline.batch(like: input), output: v)
        let n = input.shape[0], size = a.count / n
        let difference = try a.minus(baseline: a0)
        let points = quadrature.alphas.count
        var total = [Double](repeating: 0, count: a.count)
        var pathEnds: [Double] = []
        for s in 0..<n {
            let b0 = a0.shape[0] == 1 ? 0 : s
            var done = 0
            while done < points {
                let m = min(BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: size, graph: model.graph), points - done)
                let first = done
                let replacement = try a.pathPoints(sample: s, baseline: a0, alphas: quadrature.alphas[first..<(first + m)])
                var tail = try g.tailActivations(from: v, replacement: replacement, base: acts, sample: s, outputs: [model.output])
                let (tailSeed, _) = try target.copies(ofSample: s, count: m, resolved: picked).seed(for: try tail.value(model.output))
                let gradient = try bound.backward(&tail, seeds: [model.output: tailSeed], to: [v], checkFinite: false).inputs[0]
                gradient.withUnsafeBufferPointer { pg in
                    for c in 0..<m {
                        let w = quadrature.weights[first + c]
                        for i in 0..<size { total[s * size + i] += w * Double(pg[c * size + i]) }
                    }
                }
                done += m
            }
            // The path's start: the rest of the network on A(x0) (and x elsewhere).
            let start = try g.forwardTail(from: v, replacement: try a0.sample(b0), base: acts, sample: s, outputs: [model.output])[0]
            let change = try Tensor.broadcasting(try seed.sample(s), try (try output.sample(s)).minus(baseline: start), MultiplyFunction.self)
            pathEnds.append(change.sampleSums[0])
        }
        let values = Tensor(shape: a.shape) { p in
            difference.withUnsafeBufferPointer { d in for i in 0..<p.count { p[i] = Float(total[i]) * d[i] } }
        }
        var attribution = Attribution(values: values, output: output, targets: picked, diagnostics: layer.note(v, in: model))
        attribution.delta = zip(attribution.sums, pathEnds).map { $0 - $1 }
        return attribution
    }
}
