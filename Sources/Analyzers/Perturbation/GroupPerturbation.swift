import ExplainCore

/// What the group-based methods (feature ablation, Shapley values, KernelSHAP, LIME) share: the
/// scorer, the baseline that absent groups take, and how an input is split into groups.
public struct GroupPerturbation: Sendable {
    public let scorer: Scorer
    public let baseline: Baseline
    /// A background set `(K, …)` replacing the baseline: absent groups take each background
    /// sample's values in turn and a coalition's value is the mean over them (shap's interventional
    /// masking with a background dataset).
    public let background: Tensor?
    public let groups: @Sendable (Tensor) throws -> FeatureGroups

    public init(model: ExplainableModel, baseline: Baseline, background: Tensor? = nil, batchSize: Int,
                groups: @escaping @Sendable (Tensor) throws -> FeatureGroups) {
        self.scorer = Scorer(model: model, batchSize: batchSize)
        self.baseline = baseline
        self.background = background
        self.groups = groups
    }

    /// One analysis's common state.
    public struct Setup: Sendable {
        public let output: Tensor
        public let seed: Tensor
        public let picked: [Int]?
        public let baseline: Tensor
        public let background: Tensor?
        public let groups: FeatureGroups
    }

    /// The clean output, seed and targets, the baseline batch and the groups of `input`.
    public func start(_ input: Tensor, target: Target) throws -> Setup {
        let (output, seed, picked) = try scorer.model.cleanPass(input, target: target)
        if let b = background {
            guard b.rank == input.rank, b.shape[0] >= 1, Array(b.shape.dropFirst()) == Array(input.shape.dropFirst()) else {
                throw ExplainError.shape("the background \(Shape.format(b.shape)) must hold samples shaped like the input's \(Shape.format(Array(input.shape.dropFirst())))")
            }
            try b.requireFinite("the background")
        }
        return Setup(output: output, seed: seed, picked: picked, baseline: try baseline.batch(like: input), background: background,
                     groups: try groups(input))
    }

    /// Throws `tooLarge` before a method materialises `count × width` values (coalitions,
    /// masks) beyond 2^28, naming the option to lower.
    public static func requireAffordable(_ count: Int, _ width: Int, what: String) throws {
        guard Double(count) * Double(max(width, 1)) <= Double(1 << 28) else {
            throw ExplainError(.tooLarge, "\(count) \(what) of \(width) values each would not fit into memory: lower the count or use fewer groups / a smaller input")
        }
    }
}
