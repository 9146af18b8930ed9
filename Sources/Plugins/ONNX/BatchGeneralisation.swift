import ExplainCore

/// The check that lets a graph exported with a fixed batch size run at any batch size.
///
/// `torch.onnx.export` without `dynamic_axes` writes the example's batch size into the input and
/// into constant shapes (`x.view(x.size(0), -1)` becomes `Reshape(·, [1, 512])`). The importer
/// reads such extents as the batch size; since that reading is a guess, the open graph is kept only
/// when it computes every sample of a batch of `batch + 1` random samples as the file's graph does
/// (a graph that mixes samples, or reshapes the batch into another axis, fails the check).
enum BatchGeneralisation {
    /// Largest relative difference accepted: batched products sum in another order than the
    /// file's, mixing samples differs by orders of magnitude more.
    static let tolerance: Float = 1e-4

    /// The target of a Reshape that the file fixes at batch size `b` (all extents known), with the
    /// extent that carries the batch left to be inferred: the first extent, divisible by `b`, after
    /// which the rows before the input's batch axis end (`(17, 2, 8)` of `(17, N, 16)`: the heads ×
    /// batch axis of a sequence-first attention). Nil when the input carries no batch or none fits.
    static func reshape(_ target: [Int], input: [Int], batch b: Int, allowZero: Bool) -> [Reshape.Dimension]? {
        let carriers = input.indices.filter { input[$0] > 0 && input[$0] % ShapeProbe.batch == 0 }
        guard carriers.count == 1, let q = carriers.first else { return nil }
        var atFixed = input
        atFixed[q] = input[q] / ShapeProbe.batch * b
        guard let resolved = try? Reshape(onnx: target, allowZero: allowZero).reshape(atFixed) else { return nil }
        let rows = atFixed[..<q].reduce(1, *)
        var product = 1
        for (p, d) in resolved.enumerated() {
            if product == rows, d > 0, d % b == 0 {
                var dims = resolved.map { Reshape.Dimension.fixed($0) }
                dims[p] = .infer
                return dims
            }
            product *= d
            if product > rows { break }
        }
        return nil
    }

    /// Throws when `general` does not reproduce `fixed` sample by sample.
    static func check(_ general: Graph, against fixed: Graph, batch: Int) throws {
        guard let declared = fixed.declaredInputShapes.first, declared.count >= 1 else {
            throw ExplainError(.unsupportedAttribute, "the input has no batch dimension")
        }
        let sample = declared.dropFirst().compactMap { $0 }
        guard sample.count == declared.count - 1 else {
            throw ExplainError(.unsupportedAttribute, "the input's other dimensions are not fixed either, so the check has no input shape")
        }
        let elements = (try? Shape.elementCount(sample)) ?? Int.max
        guard batch > 0, elements > 0, elements <= (1 << 26) / (batch + 1) else {
            throw ExplainError(.tooLarge, "a batch of \(batch + 1) samples of \(Shape.format(sample)) is too large for the check")
        }
        var rng = SeededGenerator(seed: 0xBA7C4)
        // Token ids for a model whose input feeds an embedding, Gaussian values otherwise.
        let vocabulary = fixed.nodes.compactMap { node in
            node.inputs.contains(fixed.inputs[0]) ? (node.layer as? Embedding)?.table.shape[0] : nil
        }.min()
        func draw(_ n: Int) -> Tensor {
            Tensor(shape: [n] + sample, unsafeUninitialized: { p in
                guard let v = vocabulary, v > 0 else { return rng.fillGaussian(p) }
                for i in 0..<p.count { p[i] = Float(rng.next() % UInt64(v)) }
            })
        }
        let first = draw(batch), second = draw(batch)
        let joined = try Tensor.concatenateBatches([first, try second.sample(0)])
        let expected = [try fixed.forward([first]), try fixed.forward([second])]
        let got = try general.forward([joined])
        for (k, output) in fixed.outputs.enumerated() {
            let one = try expected[0].value(output), two = try expected[1].value(output)
            let all = try got.value(general.outputs[k])
            guard all.rank >= 1, all.shape[0] == batch + 1, Array(all.shape.dropFirst()) == Array(one.shape.dropFirst()) else {
                throw ExplainError.shape("output '\(fixed.valueNames[output])' has shape \(Shape.format(all.shape)) at \(batch + 1) samples, \(Shape.format(one.shape)) at \(batch)")
            }
            try expectClose(try all.samples(0..<batch), one, output: fixed.valueNames[output])
            try expectClose(try all.sample(batch), try two.sample(0), output: fixed.valueNames[output])
        }
    }

    private static func expectClose(_ a: Tensor, _ b: Tensor, output: String) throws {
        var scale: Float = 1e-6, worst: Float = 0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<min(pa.count, pb.count) {
                    scale = max(scale, abs(pb[i]))
                    let d = abs(pa[i] - pb[i])
                    worst = d.isNaN ? .infinity : max(worst, d)
                }
            }
        }
        guard a.shape == b.shape, worst <= tolerance * scale else {
            throw ExplainError.shape("at another batch size output '\(output)' differs from the file's graph (by \(worst) at a scale of \(scale)): the graph mixes samples or keeps the batch size in a constant shape")
        }
    }
}
