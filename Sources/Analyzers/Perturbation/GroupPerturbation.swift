import ExplainCore

/// What the group-based methods (feature ablation, Shapley values, KernelSHAP, LIME) share: the
/// scorer, the baseline that absent groups take, and how an input is split into groups.
public struct GroupPerturbation: Sendable {
    public let scorer: Scorer
    public let baseline: Baseline
    public let groups: @Sendable (Tensor) throws -> FeatureGroups

    public init(model: ExplainableModel, baseline: Baseline, batchSize: Int, groups: @escaping @Sendable (Tensor) throws -> FeatureGroups) {
        self.scorer = Scorer(model: model, batchSize: batchSize)
        self.baseline = baseline
        self.groups = groups
    }

    /// One analysis's common state.
    public struct Setup: Sendable {
        public let output: Tensor
        public let seed: Tensor
        public let picked: [Int]?
        public let baseline: Tensor
        public let groups: FeatureGroups
    }

    /// The clean output, seed and targets, the baseline batch and the groups of `input`.
    public func start(_ input: Tensor, target: Target) throws -> Setup {
        let (output, seed, picked) = try scorer.model.cleanPass(input, target: target)
        return Setup(output: output, seed: seed, picked: picked, baseline: try baseline.batch(like: input), groups: try groups(input))
    }

    /// Throws `tooLarge` before a method materialises `count × width` values (coalitions,
    /// masks) beyond 2^28, naming the option to lower.
    public static func requireAffordable(_ count: Int, _ width: Int, what: String) throws {
        guard Double(count) * Double(max(width, 1)) <= Double(1 << 28) else {
            throw ExplainError(.tooLarge, "\(count) \(what) of \(width) values each would not fit into memory: lower the count or use fewer groups / a smaller input")
        }
    }
}
