import ExplainCore

/// PatternNet's signal directions (Kindermans et al. 2018): for every Conv/Dense node, a tensor
/// shaped like its weight whose row `a_j` is the direction in the layer's input that output `j`
/// picks up as signal, estimated from data:
///
///     cov_j = E[x y_j] − E[x] E[y_j]     over the samples (and positions) in the estimator's set
///     a_j   = cov_j / (w_jᵀ cov_j)
///
/// `x` is the layer's input patch and `y_j` its output before the activation. The `linear`
/// estimator uses every sample (`a = cov[x, y] / var[y]`); the `relu` (two-component) estimator
/// only those where `y_j > 0`, the regime in which a following Relu passes the signal. Rows
/// without samples, or whose `w_jᵀ cov_j` vanishes, are 0.
public struct Patterns: Sendable {
    /// The estimator.
    public enum Estimator: String, Sendable, CaseIterable {
        case linear
        case relu
    }

    /// Node name → pattern (the weight's shape).
    public let byNode: [String: Tensor]
    public let estimator: Estimator

    /// Estimates the patterns of every Conv/Dense node of `model` from `data` (a batch of inputs,
    /// run in chunks of `batchSize`).
    public init(model: ExplainableModel, data: Tensor, estimator: Estimator = .relu, batchSize: Int = 64) throws {
        let g = model.graph
        guard data.rank >= 1, data.shape[0] >= 1 else { throw ExplainError.shape("pattern data \(Shape.format(data.shape)) has no samples") }
        try data.requireFinite("the pattern data")
        let nodes = try g.nodesNeeded(for: [model.output]).filter { g.nodes[$0].layer is any AffineLayer }.map { i -> (Int, any WeightGradient) in
            guard let layer = g.nodes[i].layer as? any WeightGradient else {
                throw ExplainError(.unsupportedOperator, "patterns need a layer whose weight gradient is known", node: g.nodes[i].name, op: g.nodes[i].layer.kind.rawValue)
            }
            return (i, layer)
        }
        guard !nodes.isEmpty else { throw ExplainError.argument("the model has no Conv or Dense layer to estimate patterns for") }
        let keep = Set(nodes.flatMap { g.nodes[$0.0].inputs + [g.nodes[$0.0].output] })
        // Per node: Σ m, Σ m·y (per output row) and Σ m·x, Σ m·y·x (weight-shaped), in Double.
        let rowCounts = nodes.map { $0.1.weight.shape[0] }, sizes = nodes.map { $0.1.weight.count }
        var count = rowCounts.map { [Double](repeating: 0, count: $0) }, sumY = count
        var sumX = sizes.map { [Double](repeating: 0, count: $0) }, sumXY = sumX
        let n = data.shape[0]
        // Batches that fit into memory with every kept value (estimated like a backward analysis).
        let size = g.runsOneSampleAtATime ? 1 : try BatchChunks.samplesPerChunk(batch: max(1, min(batchSize, n)),
                                                   bytesPerSample: try BatchChunks.backwardBytesPerSample(g, inputShape: data.shape))
        for start in stride(from: 0, to: n, by: size) {
            let batch = try data.samples(start..<min(n, start + size))
            let acts = try g.forward([batch], outputs: [model.output], retain: .values(keep))
            for (slot, (i, layer)) in nodes.enumerated() {
                let node = g.nodes[i]
                let x = try acts.value(node.inputs[0]), y = try acts.value(node.output)
                // Output j of element e: a Dense layer's outputs lie on the last axis (also over tokens,
                // (N, T, rows)); a convolution's are channels, (N, rows, positions…).
                let rows = layer.weight.shape[0], lastAxis = layer is Dense
                let per = lastAxis ? 1 : y.count / max(y.shape[0], 1) / rows   // positions per sample
                var mask = Tensor(shape: y.shape), masked = Tensor(shape: y.shape)
                mask.withUnsafeMutableBufferPointer { pm in masked.withUnsafeMutableBufferPointer { pmy in
                    y.withUnsafeBufferPointer { py in
                        for e in 0..<py.count {
                            let on: Float = estimator == .linear || py[e] > 0 ? 1 : 0
                            pm[e] = on
                            pmy[e] = on * py[e]
                            let j = lastAxis ? e % rows : (e / per) % rows
                            count[slot][j] += Double(on)
                            sumY[slot][j] += Double(on * py[e])
                        }
                    }
                } }
                let sx = try layer.weightGradient(input: x, cotangent: mask), sxy = try layer.weightGradient(input: x, cotangent: masked)
                for e in 0..<sx.count { sumX[slot][e] += Double(sx.scalars[e]); sumXY[slot][e] += Double(sxy.scalars[e]) }
            }
        }
        var byNode: [String: Tensor] = [:]
        for (slot, (i, layer)) in nodes.enumerated() {
            let w = layer.weight
            let rows = w.shape[0], size = w.count / rows
            var pattern = [Float](repeating: 0, count: w.count)
            for j in 0..<rows where count[slot][j] > 0 {
                let c = count[slot][j], meanY = sumY[slot][j] / c
                let cov = (0..<size).map { sumXY[slot][j * size + $0] / c - sumX[slot][j * size + $0] / c * meanY }
                let scale = (0..<size).reduce(0.0) { $0 + Double(w.scalars[j * size + $1]) * cov[$1] }
                guard abs(scale) > 1e-12 * max(1, cov.map(abs).max() ?? 0) else { continue }
                for e in 0..<size { pattern[j * size + e] = Float(cov[e] / scale) }
            }
            byNode[g.nodes[i].name] = try Tensor(shape: w.shape, scalars: pattern)
        }
        self.byNode = byNode
        self.estimator = estimator
    }
}

/// PatternNet / PatternAttribution at a Conv or Dense node: the transposed product with the
/// pattern `A` (PatternNet: the signal is projected back along the patterns) or with `W ⊙ A`
/// (PatternAttribution: the signal's contribution), instead of with `W`.
public struct PatternRule: Rule {
    public let weight: Tensor
    public let attribution: Bool

    public init(pattern: Tensor, attribution: Bool) {
        self.weight = pattern
        self.attribution = attribution
    }

    public var description: String { attribution ? "pattern_attribution" : "pattern_net" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, false) }
    public func accepts(_ layer: any Layer) -> Bool { (layer as? any AffineLayer)?.weight.shape == weight.shape }

    public func prepare(_ layer: any Layer) throws -> (any Sendable)? {
        guard let affine = layer as? any AffineLayer else { return nil }
        guard attribution else { return weight }
        return Tensor(shape: weight.shape) { p in
            for i in 0..<p.count { p[i] = affine.weight.scalars[i] * weight.scalars[i] }
        }
    }

    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let affine = site.node.layer as? any AffineLayer, let w = site.state as? Tensor else {
            throw ExplainError(.invalidArgument, "\(self) applies to Conv and Dense layers", node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        return [try affine.inputGradient(inputShape: site.inputs[0].shape, cotangent: incoming, weight: w)]
    }
}
