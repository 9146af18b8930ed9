import ExplainCore

extension Scorer {
    /// The common start of the perturbation metrics: checks that `attribution` is input-shaped and
    /// finite (errors name the metric) — with `spreading`, a one-channel map of an image (an
    /// upsampled CAM, XRAI) is first spread over the input's channels, as Quantus broadcasts it —
    /// and returns a scorer with the seed of the clean pass, and the attribution.
    static func checked(_ metric: String, model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target,
                        batchSize: Int, spreading: Bool = true, hint: String = "") throws -> (Scorer, Tensor, Tensor) {
        var a = attribution
        if spreading, a.shape != input.shape, a.rank == input.rank, a.rank >= 3, a.shape[1] == 1,
           a.shape[0] == input.shape[0], Array(a.shape.dropFirst(2)) == Array(input.shape.dropFirst(2)) {
            a = try Tensor.broadcasting(a, Tensor(shape: input.shape, repeating: 1), MultiplyFunction.self)
        }
        guard a.shape == input.shape else {
            let what = spreading ? "an input-shaped attribution (or one channel)" : "an input-shaped attribution"
            throw ExplainError.shape("\(metric) needs \(what); got \(Shape.format(attribution.shape)) for the input \(Shape.format(input.shape))\(hint)")
        }
        try a.requireFinite("the attribution")
        let scorer = Scorer(model: model, batchSize: batchSize)
        let (_, seed, _) = try model.cleanPass(input, target: target)
        return (scorer, seed, a)
    }
}
