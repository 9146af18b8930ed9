import ExplainCore
import Foundation

/// Shapley-CAM's gradient (Cai et al. 2025, pytorch-grad-cam `ShapleyCAM`): `G − ½ H A`, with `G`
/// and `H` the gradient and Hessian of the explained score at the feature map `A`, averaged per
/// channel as Grad-CAM's weights are. Its score is the ReST target `y = z_t − CE(z, t) = 2 z_t −
/// logsumexp(z)` (`ClassifierOutputReST`) or the logit `z_t` itself.
///
/// Between `A` and the logits `z` the network must be piecewise linear (convolutions, dense layers,
/// Relu, max and average pooling, batch norm, sums, reshapes): there `z = J A + b` with `J` constant
/// around `A`, so `H = Jᵀ ∇²_z y J` and `H A = Jᵀ ∇²_z y (J A)` — exactly what autograd's
/// Hessian-vector product gives there. For ReST, `∇_z y = 2 e_t − p` and `∇²_z y = −(diag p − p pᵀ)`,
/// `p = softmax(z)`, so one backward pass with the seed `2 e_t − p + ½ (p ⊙ u − p (pᵀ u))`,
/// `u = J A`, gives `G − ½ H A`. `u_k = ⟨∂z_k/∂A, A⟩` takes a backward pass per class, run on the
/// network after `A` alone (`Graph.tailActivations`), classes in batches. For the logit target `H`
/// is 0 and the method is Grad-CAM.
struct ShapleyGradient {
    /// ReST (`true`) or the plain logit.
    let rest: Bool
    /// Classes per backward batch when computing `J A`.
    let classBatch = 256

    /// The layer kinds through which the network stays piecewise linear in `A` (multiplications and
    /// matrix products only by constants: checked on the node's runtime inputs).
    static let linearKinds: Set<LayerKind> = [.conv1d, .conv2d, .dense, .matmul, .maxPool, .averagePool, .globalAveragePool, .batchNorm,
                                              .relu, .leakyRelu, .clip, .add, .sub, .mul, .div, .concat, .flatten, .reshape, .transpose,
                                              .squeeze, .unsqueeze, .identity, .pad, .reduceMean, .reduceSum, .slice, .gather, .constant]

    /// Throws, naming the node, when the network between `a` and `output` is not piecewise linear.
    static func requirePiecewiseLinear(_ g: Graph, from a: ValueID, to output: ValueID) throws {
        var depends = [Bool](repeating: false, count: g.valueNames.count)
        depends[a] = true
        for i in g.nodesNeeded(for: [output]) {
            let node = g.nodes[i]
            let runtime = node.inputs.filter { depends[$0] }
            guard !runtime.isEmpty else { continue }
            depends[node.output] = true
            let kind = node.layer.kind
            let bilinear = [.mul, .div, .matmul].contains(kind) && node.inputs.count > 1
            guard linearKinds.contains(kind), !bilinear else {
                throw ExplainError(.invalidArgument, "shapleycam's Hessian term needs a piecewise-linear network after the feature map; node '\(node.name)' (\(kind.rawValue)) is not (choose a later layer, or --set target_form=logit for Grad-CAM's weights)",
                                   node: node.name, op: kind.rawValue)
            }
        }
    }

    /// The ReST score's backward seed on the logits for each sample, `2 e_t − p + ½ S u` (the
    /// logit score's seed is the target's own one-hot).
    func seed(graph g: Graph, bound: BoundGraph, activations acts: Activations, featureMap a: ValueID, output: ValueID,
              logits z: Tensor, picked: [Int]) throws -> Tensor {
        let (n, k) = (z.shape[0], z.count / max(z.shape[0], 1))
        try Self.requirePiecewiseLinear(g, from: a, to: output)
        let map = try acts.value(a), per = map.count / n
        var rows = [Float](repeating: 0, count: n * k)
        for s in 0..<n {
            let sample = try map.sample(s)
            var u = [Double](repeating: 0, count: k)
            var start = 0
            while start < k {
                let m = min(classBatch, k - start)
                let copies = Tensor(shape: [m] + Array(map.shape.dropFirst())) { p in
                    sample.withUnsafeBufferPointer { src in for c in 0..<m { (p.baseAddress! + c * per).update(from: src.baseAddress!, count: per) } }
                }
                var tail = try g.tailActivations(from: a, replacement: copies, base: acts, sample: s, outputs: [output])
                let oneHot = Tensor(shape: [m, k]) { p in p.update(repeating: 0); for c in 0..<m { p[c * k + start + c] = 1 } }
                let rowsOfJ = try bound.backward(&tail, seeds: [output: oneHot], to: [a], checkFinite: false).inputs[0]
                rowsOfJ.withUnsafeBufferPointer { pj in sample.withUnsafeBufferPointer { pa in
                    for c in 0..<m {
                        var dot = 0.0
                        for i in 0..<per { dot += Double(pj[c * per + i]) * Double(pa[i]) }
                        u[start + c] = dot
                    }
                } }
                start += m
            }
            // p = softmax(z_s) in Double; seed = 2 e_t − p + ½ (p ⊙ u − p (pᵀ u)).
            let logits = (0..<k).map { Double(z.scalars[s * k + $0]) }
            let top = logits.max() ?? 0
            let e = logits.map { Foundation.exp($0 - top) }, total = e.reduce(0, +)
            let p = e.map { $0 / total }
            let pu = zip(p, u).reduce(0) { $0 + $1.0 * $1.1 }
            for j in 0..<k {
                rows[s * k + j] = Float((j == picked[s] ? 2 : 0) - p[j] + 0.5 * (p[j] * u[j] - p[j] * pu))
            }
        }
        return try Tensor(shape: z.shape, scalars: rows)
    }
}
