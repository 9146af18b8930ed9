import ExplainCore

/// Neuron conductance (Captum's `NeuronConductance`; Dhamdhere, Sundararajan & Yan 2018): how
/// much each input feature drives the target output *through* one neuron `y_n` of a layer,
/// `R = (x − x0) ⊙ Σ_k w_k ∂f_t/∂y_n (x_k) · ∂y_n/∂x (x_k)` along `x_k = x0 + α_k (x − x0)`.
/// Summed over all neurons of a layer that every path to the output crosses it is Integrated
/// Gradients with the same quadrature (the chain rule). The result is input-shaped.
///
/// Each batch of path points runs two gradient passes: from the target down to the layer (the
/// neuron's share `∂f_t/∂y_n`) and from the neuron to the input.
public struct NeuronConductance: Analyzer {
    public let id = "neuron_conductance"
    public let model: ExplainableModel
    public let layer: LayerChoice
    /// The neuron: a flat (row-major) index in one sample's layer output, Captum's index tuple, or
    /// in each sample the neuron with the largest value there (the most active one).
    public let neuron: NeuronSelector
    public let baseline: Baseline
    public let quadrature: PathQuadrature
    public let batchSize: Int
    let gradient: BackpropAnalyzer

    public init(model: ExplainableModel, layer: String?, neuron: NeuronSelector, baseline: Baseline = .zero, quadrature: PathQuadrature,
                batchSize: Int? = nil) throws {
        self.gradient = try BackpropAnalyzer(id: "gradient", model: model)
        self.model = gradient.model
        self.layer = try LayerChoice(layer, in: model)
        self.neuron = neuron
        self.baseline = baseline
        self.quadrature = quadrature
        self.batchSize = max(1, batchSize ?? quadrature.alphas.count)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, _, picked) = try model.cleanPass(input, target: target)
        let v = try layer.value(in: model, inputShape: input.shape)
        let shapes = try model.graph.inferShapes([[1] + input.shape.dropFirst()])
        let size = shapes[v].map { $0.dropFirst().reduce(1, *) } ?? 0
        // The neuron of each sample: the given one, or the most active.
        let neurons = try neuron.neurons(for: input, layer: v, in: model)
        // The neuron's own gradient: the layer's value explained at that index.
        let throughNeuron = try BackpropAnalyzer(id: "gradient", model: ExplainableModel(graph: model.graph, output: v))
        let x0 = try baseline.batch(like: input)
        let n = input.shape[0], per = input.count / n
        let points = quadrature.alphas.count
        var total = [Double](repeating: 0, count: input.count)
        for s in 0..<n {
            let neuron = neurons[s]
            var done = 0
            while done < points {
                let m = min(BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per, graph: model.graph), points - done)
                let first = done
                let copies = try input.pathPoints(sample: s, baseline: x0, alphas: quadrature.alphas[first..<(first + m)])
                let share = try gradient.layerPass(copies, target: try target.copies(ofSample: s, count: m, resolved: picked), layer: v).cotangent
                let inner = try throughNeuron.analyze(copies, target: .index(neuron)).values
                share.withUnsafeBufferPointer { sh in inner.withUnsafeBufferPointer { g in
                    for c in 0..<m {
                        let w = quadrature.weights[first + c] * Double(sh[c * size + neuron])
                        guard w != 0 else { continue }
                        for i in 0..<per { total[s * per + i] += w * Double(g[c * per + i]) }
                    }
                } }
                done += m
            }
        }
        let difference = try input.minus(baseline: x0)
        let values = Tensor(shape: input.shape) { p in
            difference.withUnsafeBufferPointer { d in for i in 0..<p.count { p[i] = Float(total[i]) * d[i] } }
        }
        var notes = layer.note(v, in: model)
        if neuron == .max { notes.append("neurons (most active per sample): \(neurons)") }
        return Attribution(values: values, output: output, targets: picked, diagnostics: notes)
    }
}
