import ExplainCore

/// FullGrad (Srinivas & Fleuret 2019) as pytorch-grad-cam computes it: the input-gradient term and
/// one bias-gradient term per convolution with a bias and per batch normalisation, each made
/// absolute, min-max scaled per channel and resized to the input, summed, and the sum min-max
/// scaled per sample:
///
///     map = scale( Σ_c scale(|x ⊙ ∂f_t/∂x|_c) + Σ_l Σ_c scale(resize(|b_l,c · ∂f_t/∂z_l,c|)) )
///
/// with `scale(m) = (m − min m) / (max(m − min m) + 1e-7)` and `z_l` the layer's output; a batch
/// normalisation's bias is its offset `β − μγ/√(σ² + ε)`. The result is `(N, 1, H, W)` in [0, 1].
public struct FullGrad: Analyzer {
    public let id = "fullgrad"
    public let model: ExplainableModel
    let bound: BoundGraph

    public init(model: ExplainableModel) throws {
        self.model = model
        self.bound = try BoundGraph(model.graph)
    }

    /// The nodes with a per-channel bias on the path to the explained output, with that bias.
    func biasLayers() -> [(value: ValueID, bias: [Float])] {
        let g = model.graph
        return g.nodesNeeded(for: [model.output]).compactMap { i -> (ValueID, [Float])? in
            let node = g.nodes[i]
            if let conv = node.layer as? Conv2D, let b = conv.bias { return (node.output, b.scalars) }
            if let bn = node.layer as? BatchNorm { return (node.output, bn.offset) }
            return nil
        }
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        try input.requireFinite("the input")
        guard input.rank == 4 else { throw ExplainError.shape("FullGrad needs images (N, C, H, W), got \(Shape.format(input.shape))") }
        let g = model.graph, layers = biasLayers()
        var acts = try g.forward([input], outputs: [model.output] + layers.map(\.value), retain: bound.retention)
        let output = try acts.value(model.output)
        let (seed, picked) = try target.seed(for: output)
        let result = try bound.backward(&acts, seeds: [model.output: seed], to: [model.input], capture: Set(layers.map(\.value)), checkFinite: false)
        let (n, height, width) = (input.shape[0], input.shape[2], input.shape[3])
        var total = [Double](repeating: 0, count: n * height * width)
        // |x ⊙ ∂f/∂x|, each channel scaled.
        let gx = result.inputs[0]
        try add(Tensor(shape: input.shape) { out in for i in 0..<out.count { out[i] = abs(input.scalars[i] * gx.scalars[i]) } }, to: &total, height, width)
        for (v, bias) in layers {
            guard let grad = result.captured[v], grad.rank == 4, grad.shape[1] == bias.count else { continue }
            let per = grad.shape[2] * grad.shape[3], c = bias.count
            try add(Tensor(shape: grad.shape) { out in
                for i in 0..<out.count { out[i] = abs(bias[(i / per) % c] * grad.scalars[i]) }
            }, to: &total, height, width)
        }
        let map = Tensor(shape: [n, 1, height, width]) { out in
            let hw = height * width
            for s in 0..<n { Self.scale(Array(total[(s * hw)..<((s + 1) * hw)])).enumerated().forEach { out[s * hw + $0.offset] = Float($0.element) } }
        }
        return Attribution(values: map, output: output, targets: picked,
                           diagnostics: ["fullgrad: the input term and \(layers.count) bias term(s), each scaled to [0, 1]"])
    }

    /// Adds each channel of `t (N, C, h, w)`, scaled to [0, 1] and resized to `height × width`, to `total`.
    func add(_ t: Tensor, to total: inout [Double], _ height: Int, _ width: Int) throws {
        let (n, c, per) = (t.shape[0], t.shape[1], t.shape[2] * t.shape[3])
        let scaled = try Tensor(shape: t.shape, scalars: t.withUnsafeBufferPointer { p in
            (0..<(n * c)).flatMap { k in Self.scale((0..<per).map { Double(p[k * per + $0]) }).map(Float.init) }
        })
        let resized = t.shape[2] == height && t.shape[3] == width ? scaled : try scaled.resizedBilinear(height: height, width: width)
        let hw = height * width
        resized.withUnsafeBufferPointer { p in
            for s in 0..<n { for ch in 0..<c { for i in 0..<hw { total[s * hw + i] += Double(p[(s * c + ch) * hw + i]) } } }
        }
    }

    /// `(m − min m) / (max(m − min m) + 1e-7)` (pytorch-grad-cam's `scale_cam_image`).
    static func scale(_ m: [Double]) -> [Double] {
        let low = m.min() ?? 0
        let shifted = m.map { $0 - low }
        let high = shifted.max() ?? 0
        return shifted.map { $0 / (high + 1e-7) }
    }
}
