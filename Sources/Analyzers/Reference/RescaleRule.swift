import ExplainCore

/// DeepLIFT's Rescale rule at an element-wise activation `y = f(z)`: the gradient is replaced by
/// the ratio of the differences to the reference pass, `R_in = R_out · (f(z) − f(z0)) / (z − z0)`,
/// and by the ordinary derivative `f′(z)` where `|z − z0| < eps` (Shrikumar et al. 2017; Captum's
/// `DeepLift` nonlinearity rule). Needs the reference values (`Site.reference`).
public struct RescaleRule: Rule {
    /// Below this `|z − z0|` the ordinary derivative is used (Captum: 1e-10).
    public let eps: Float

    public init(eps: Float = 1e-10) throws {
        self.eps = try Self.checked(eps, "rescale")
    }

    /// `eps` if it is finite and ≥ 0; otherwise an error naming the rule.
    static func checked(_ eps: Float, _ rule: String) throws -> Float {
        guard eps >= 0, eps.isFinite else { throw ExplainError.argument("\(rule): eps must be a finite number ≥ 0, got \(eps)") }
        return eps
    }

    public var description: String { "rescale" }

    public func accepts(_ layer: any Layer) -> Bool { layer is any ElementwiseActivation }

    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let f = site.node.layer as? any ElementwiseActivation else {
            throw ExplainError(.invalidArgument, "rescale applies to element-wise activations", node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        let ref = try site.requireReference(for: self)
        let z = site.inputs[0], y = site.output, z0 = ref.inputs[0], y0 = ref.output
        let n = z.count, per = z.count / Swift.max(z.shape.first ?? 1, 1)
        guard y.count == n, incoming.count == n, z0.count == y0.count, z0.count == n || z0.count == per else {
            throw ExplainError.shape("rescale: reference \(Shape.format(z0.shape)) does not fit the input \(Shape.format(z.shape))")
                .at(node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        let shared = z0.count != n, eps = self.eps, isRelu = f is Relu
        return [Tensor(shape: z.shape) { out in
            z.withUnsafeBufferPointer { pz in y.withUnsafeBufferPointer { py in
                z0.withUnsafeBufferPointer { pz0 in y0.withUnsafeBufferPointer { py0 in
                    incoming.withUnsafeBufferPointer { pg in
                        nonisolated(unsafe) let (pz, py, pz0, py0, pg, out) = (pz, py, pz0, py0, pg, out)
                        Parallel.forEachRange(n) { range in
                            for i in range {
                                let r = shared ? i % per : i
                                let dz = pz[i] - pz0[r]
                                if abs(dz) >= eps {
                                    out[i] = pg[i] * (py[i] - py0[r]) / dz
                                } else {
                                    // The ordinary derivative at z (Relu: 1 for z > 0, else 0).
                                    out[i] = isRelu ? (pz[i] > 0 ? pg[i] : 0) : pg[i] * f.derivative(x: pz[i], y: py[i])
                                }
                            }
                        }
                    }
                } }
            } }
        }]
    }
}

/// DeepLIFT's max-pool rule as Captum defines it: with `y = maxpool(a)`, `y0 = maxpool(a0)` and
/// `m = max(y, y0)`, the output multiplier `g` of each pooled cell places `g · (m − y0)` at the
/// window's arg-max in `a` and `g · (y − m)` at its arg-max in `a0`; the placed values, summed per
/// element, are divided by `a − a0`, and the ordinary max-pool gradient is used where
/// `|a − a0| < eps`. (Captum applies it only where a MaxPool does not directly consume a Relu
/// module's output; `deeplift` with `maxpool=gradient` reproduces that usual case.)
public struct DeepLiftMaxPoolRule: Rule {
    public let eps: Float

    public init(eps: Float = 1e-10) throws {
        self.eps = try RescaleRule.checked(eps, "deeplift_maxpool")
    }

    public var description: String { "deeplift_maxpool" }

    public func accepts(_ layer: any Layer) -> Bool { layer is MaxPool2D }

    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        guard let pool = site.node.layer as? MaxPool2D else {
            throw ExplainError(.invalidArgument, "deeplift_maxpool applies to MaxPool", node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        let ref = try site.requireReference(for: self)
        let a = site.inputs[0], y = site.output
        guard let n = a.shape.first, n >= 1 else { throw ExplainError.shape("max pool input without a batch") }
        // The reference values as a batch of the input's size (a shared reference is repeated).
        let a0 = ref.inputs[0].shape.first == n ? ref.inputs[0] : try Tensor.concatenateBatches([Tensor](repeating: ref.inputs[0], count: n))
        let y0 = ref.output.shape.first == n ? ref.output : try Tensor.concatenateBatches([Tensor](repeating: ref.output, count: n))
        guard a0.shape == a.shape, y0.shape == y.shape, incoming.shape == y.shape else {
            throw ExplainError.shape("deeplift_maxpool: reference \(Shape.format(ref.inputs[0].shape)) does not fit the input \(Shape.format(a.shape))")
                .at(node: site.node.name, op: site.node.layer.kind.rawValue)
        }
        var fromInput = Tensor(shape: y.shape), fromReference = Tensor(shape: y.shape)
        fromInput.withUnsafeMutableBufferPointer { pi in fromReference.withUnsafeMutableBufferPointer { pr in
            y.withUnsafeBufferPointer { py in y0.withUnsafeBufferPointer { py0 in incoming.withUnsafeBufferPointer { pg in
                for o in 0..<pg.count {
                    let m = Swift.max(py[o], py0[o])
                    pi[o] = pg[o] * (m - py0[o])
                    pr[o] = pg[o] * (py[o] - m)
                }
            } } }
        } }
        let placed = try pool.routeToWinners(input: a, outShape: y.shape, values: fromInput)
            .adding(try pool.routeToWinners(input: a0, outShape: y.shape, values: fromReference))
        let ordinary = try pool.routeToWinners(input: a, outShape: y.shape, values: incoming)
        let eps = self.eps
        return [Tensor(shape: a.shape) { out in
            a.withUnsafeBufferPointer { pa in a0.withUnsafeBufferPointer { pa0 in
                placed.withUnsafeBufferPointer { pp in ordinary.withUnsafeBufferPointer { po in
                    for i in 0..<out.count {
                        let d = pa[i] - pa0[i]
                        out[i] = abs(d) < eps ? po[i] : pp[i] / d
                    }
                } }
            } }
        }]
    }
}
