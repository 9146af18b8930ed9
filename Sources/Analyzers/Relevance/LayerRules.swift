import ExplainCore

/// Passes relevance through unchanged (activations, batch norm after merging, shape layers).
public struct PassRule: Rule {
    public init() {}
    public var description: String { "pass" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (false, false) }
    public func accepts(_ layer: any Layer) -> Bool { layer.arity == 1 }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard incoming.count == site.inputs[0].count else {
            throw ExplainError.shape("pass rule needs an output with as many elements as the input")
        }
        return [try incoming.reshaped(site.inputs[0].shape)]
    }
}

/// Normalising rule for parameter-free linear layers (average pooling, residual Add, Concat, …):
/// `R_i = x_i Σ_j (∂y_j/∂x_i) R_j / stab(y_j)` — relevance shared in proportion to contributions.
public struct NormRule: Rule {
    public let stabilizer: Float
    public init(stabilizer: Float = 1e-6) { self.stabilizer = stabilizer }
    public var description: String { "norm" }
    public func accepts(_ layer: any Layer) -> Bool {
        [.averagePool, .globalAveragePool, .add, .sub, .concat, .reduceMean, .reduceSum].contains(layer.kind)
    }
    /// A sum's output is computed again from its summands (bit for bit the forward's), so it is not
    /// kept: a Relu after a residual Add then runs in place in the forward pass.
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) {
        Self.recomputesOutput(layer) ? (true, false) : (true, true)
    }
    static func recomputesOutput(_ layer: any Layer) -> Bool { [.add, .sub].contains(layer.kind) }

    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let layer = site.node.layer
        if layer.kind == .add, site.inputs.count == 2, incoming.shape == site.inputs[0].shape, site.inputs[1].shape == incoming.shape {
            return RelevanceKernels.shareByTwo(incoming, site.inputs[0], site.inputs[1], epsilon: stabilizer)
        }
        let y = Self.recomputesOutput(layer) ? try layer.forward(site.inputs) : site.output
        if layer.kind == .add, incoming.shape == y.shape, site.inputs.allSatisfy({ $0.shape == y.shape }) {
            return RelevanceKernels.shareBySummands(incoming, y: y, summands: site.inputs, epsilon: stabilizer)
        }
        let s = Tensor(shape: incoming.shape) { out in
            incoming.withUnsafeBufferPointer { pr in
                y.withUnsafeBufferPointer { py in for i in 0..<out.count { out[i] = pr[i] / stabilize(py[i], stabilizer) } }
            }
        }
        let grads = try site.node.layer.pullback(inputs: site.inputs, output: y, cotangent: s)
        return try zip(site.inputs, grads).map { try Tensor.broadcasting($0.0, $0.1, MultiplyFunction.self) }
    }
}

/// A BatchNormalization that no Conv/Dense precedes (so it could not be merged): the ε-rule on its
/// per-channel affine map `y = a·x + b`, i.e. `R_in = x · a · R / stab(y)`. A merged (identity)
/// BatchNorm passes relevance unchanged, as zennit does.
public struct BatchNormRule: Rule {
    public let epsilon: Float
    public init(epsilon: Float = 1e-6) { self.epsilon = epsilon }
    public var description: String { "batch_norm(\(epsilon))" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) {
        guard let bn = layer as? BatchNorm else { return (true, true) }
        return Self.isIdentity(bn) ? (false, false) : (true, true)
    }
    static func isIdentity(_ bn: BatchNorm) -> Bool {
        bn.scale.scalars.allSatisfy { $0 == 1 } && bn.bias.scalars.allSatisfy { $0 == 0 }
            && bn.mean.scalars.allSatisfy { $0 == 0 } && bn.variance.scalars.allSatisfy { $0 == 1 }
    }
    public func accepts(_ layer: any Layer) -> Bool { layer is BatchNorm }
    /// Whether the BatchNorm is an identity (merged into its producer), decided once per binding.
    public func prepare(_ layer: any Layer) throws -> (any Sendable)? { (layer as? BatchNorm).map(Self.isIdentity) ?? false }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let bn = site.node.layer as? BatchNorm else { throw ExplainError(.invalidArgument, "batch_norm rule on a non-BatchNorm layer") }
        if site.state as? Bool == true { return [incoming] }
        let x = site.inputs[0], y = site.output
        let c = bn.channels, plane = x.count / max(1, x.shape[0] * c)
        return [Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    incoming.withUnsafeBufferPointer { pr in
                        for i in 0..<out.count {
                            let a = bn.multiplier[(i / plane) % c]
                            out[i] = px[i] * a * pr[i] / stabilize(py[i], epsilon)
                        }
                    }
                }
            }
        }]
    }
}
