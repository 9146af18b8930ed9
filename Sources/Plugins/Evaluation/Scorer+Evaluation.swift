import ExplainCore

extension Scorer {
    /// The common start of the perturbation metrics: checks that `attribution` is input-shaped and
    /// finite (errors name the metric), and returns a scorer with the seed of the clean pass.
    static func checked(_ metric: String, model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target,
                        batchSize: Int, hint: String = "") throws -> (Scorer, Tensor) {
        guard attribution.shape == input.shape else {
            throw ExplainError.shape("\(metric) needs an input-shaped attribution; got \(Shape.format(attribution.shape)) for the input \(Shape.format(input.shape))\(hint)")
        }
        try attribution.requireFinite("the attribution")
        let scorer = Scorer(model: model, batchSize: batchSize)
        let (_, seed, _) = try model.cleanPass(input, target: target)
        return (scorer, seed)
    }
}
