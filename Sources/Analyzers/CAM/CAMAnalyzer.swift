import ExplainCore

/// Class activation maps: a weighted combination of the channels of one feature map
/// `A (N, C, h, w)`, made non-negative, `map = relu(Σ_c w_c ⊙ A_c)`, optionally resized to the
/// input's height and width (bilinear, half-pixel centres).
///
/// The variants differ in the weights: from the gradient `G = ∂f_t/∂A` (Grad-CAM, Grad-CAM++,
/// XGrad-CAM, Layer-CAM, HiRes-CAM), from forward passes on perturbed inputs or activations
/// (Score-CAM, Ablation-CAM), or from the activations alone (Eigen-CAM). The result has one
/// channel: `(N, 1, h, w)`, or `(N, 1, H, W)` when upsampled.
public struct CAMAnalyzer: SplitsItsOwnBatches {
    /// How the channel weights are found.
    public enum Variant: String, Sendable, CaseIterable {
        /// `w_c = mean_ij G_c(i,j)` (Selvaraju et al. 2017).
        case gradCAM = "gradcam"
        /// `w_c = Σ_ij relu(G) · G² / (2G² + S_c G³ + 1e-6)`, `S_c = Σ_ij A_c` (Chattopadhyay et al. 2018).
        case gradCAMPlusPlus = "gradcam_pp"
        /// `w_c = Σ_ij G_c A_c / (S_c + 1e-7)` (Fu et al. 2020).
        case xGradCAM = "xgradcam"
        /// Element-wise `relu(G) ⊙ A` (Jiang et al. 2021).
        case layerCAM = "layercam"
        /// Element-wise `G ⊙ A` (Draelos & Carin 2020).
        case hiResCAM = "hirescam"
        /// Element-wise `relu(G ⊙ A)` summed over channels (pytorch-grad-cam GradCAMElementWise).
        case gradCAMElementWise = "gradcam_elementwise"
        /// First principal component of `A ⊙ G`'s positions (pytorch-grad-cam EigenGradCAM).
        case eigenGradCAM = "eigengradcam"
        /// `w = softmax_c f_t(x ⊙ M_c)`, `M_c` = channel c upsampled and min-max scaled (Wang et al. 2020).
        case scoreCAM = "scorecam"
        /// `w_c = (y − y_c) / y`, `y_c` = f_t with channel c of A set to 0 (Desai & Ramaswamy 2020).
        case ablationCAM = "ablationcam"
        /// First principal component of A's positions (Muhammad & Yeasin 2020); class-agnostic.
        case eigenCAM = "eigencam"
        /// `w_c` = share of positions where `A_c > mean(A_c) + k·std(A_c)` (Fuad et al. 2020); class-agnostic.
        case fem = "fem"
        /// Grad-CAM of the target's logit against its nearest classes' (`FinerTarget`; Zhang et al. 2025).
        case finerCAM = "finercam"
        /// First kernel principal component of A's positions (`KernelPCA`; Karmani et al. 2024); class-agnostic.
        case kpcaCAM = "kpcacam"
        /// `w_c` uniform in [−1, 1), drawn once per (sample, channel): a control, independent of the
        /// model's weights and target (pytorch-grad-cam RandomCAM).
        case randomCAM = "randomcam"
        /// Grad-CAM's weights from `G − ½ H A` of the ReST score (`ShapleyGradient`; Cai et al. 2025).
        case shapleyCAM = "shapleycam"

        var usesGradient: Bool {
            [.gradCAM, .gradCAMPlusPlus, .xGradCAM, .layerCAM, .hiResCAM, .gradCAMElementWise, .eigenGradCAM, .finerCAM, .shapleyCAM].contains(self)
        }
    }

    public let id: String
    public let model: ExplainableModel
    public let variant: Variant
    /// The node (or value) whose output is the feature map; nil: the last one with more than one
    /// position before the explained output.
    public let layer: String?
    /// Resize the map to the input's height and width.
    public let upsample: Bool
    /// Perturbed copies per forward batch (Score-CAM, Ablation-CAM).
    public let batchSize: Int
    /// FEM's threshold in standard deviations above a channel's mean.
    public let sigmas: Double
    /// Finer-CAM's explained output.
    let finer: FinerTarget
    /// KPCA-CAM's kernel.
    let kernelPCA: KernelPCA
    /// RandomCAM's seed, and whether it draws as numpy's legacy generator does (`np.random.seed`).
    public let seed: UInt64
    public let numpyDraws: Bool
    /// Shapley-CAM's score: ReST (default) or the logit.
    let shapley: ShapleyGradient
    /// The relu on the map (Captum's `relu_attributions`; pytorch-grad-cam always applies it).
    public let relu: Bool
    /// Grad-CAM only: sum the weighted channels (Captum's `attr_dim_summation`), else `(N, C, h, w)`.
    public let sumChannels: Bool
    let bound: BoundGraph

    public init(id: String? = nil, model: ExplainableModel, variant: Variant, layer: String? = nil, upsample: Bool = true,
                batchSize: Int = 32, sigmas: Double = 2, alpha: Double = 1, comparison: [Int] = [1, 2, 3],
                kernelPCA: KernelPCA = KernelPCA(), seed: UInt64 = 0, numpyDraws: Bool = false, restTarget: Bool = true,
                relu: Bool = true, sumChannels: Bool = true) throws {
        self.id = id ?? variant.rawValue
        self.model = model
        self.variant = variant
        if let layer { _ = try model.graph.value(named: layer) }
        self.layer = layer
        self.upsample = upsample
        self.batchSize = max(1, batchSize)
        self.sigmas = sigmas
        self.finer = FinerTarget(alpha: alpha, ranks: comparison)
        self.kernelPCA = kernelPCA
        if numpyDraws { _ = try RandomDraws.peerSeed(seed) }
        self.seed = seed
        self.numpyDraws = numpyDraws
        self.shapley = ShapleyGradient(rest: restTarget)
        guard sumChannels || variant == .gradCAM else {
            throw ExplainError(.invalidArgument, "sum_channels = false (Captum's attr_dim_summation) applies to gradcam only")
        }
        self.relu = relu
        self.sumChannels = sumChannels
        self.bound = try BoundGraph(model.graph)
    }

    /// The feature map's value: the named one; on a transformer the tokens entering its last
    /// attention (`lastTokenLayer`); else the last rank-4 value with more than one position that the
    /// explained output depends on.
    public func featureMap(for inputShape: [Int]) throws -> ValueID {
        let g = model.graph
        if let layer { return try g.value(named: layer) }
        if let v = try model.lastTokenLayer(inputShape: inputShape) { return v }
        if let v = try model.lastFeatureMap(inputShape: inputShape) { return v }
        throw ExplainError.argument("the model has no feature map (N, C, H, W) with more than one row and column before the explained output: "
                                    + "give the layer (--set layer=NODE; `explain inspect` lists the nodes)")
    }

    /// On a graph fixed at batch 1, one sample at a time (RandomCAM's draws still run across the
    /// batch: sample s gets row s of the weights, as in one call on the whole batch).
    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        try BatchChunks.run(input, target: target, size: Int.max, graph: model.graph) { range, x, t in
            try analyze(x, target: t, firstSample: range.lowerBound)
        }
    }

    func analyze(_ input: Tensor, target: Target, firstSample: Int) throws -> Attribution {
        try input.requireFinite("the input")
        let g = model.graph
        let a = try featureMap(for: input.shape)
        // The feature map is a requested output, so no layer overwrites it in place; Ablation-CAM
        // and Shapley-CAM keep every value (their copies rerun the nodes after the feature map, which
        // may read values before it).
        let retention: Retention = [.ablationCAM, .shapleyCAM].contains(variant) ? .all : variant.usesGradient ? bound.retention : .outputsOnly
        var acts = try g.forward([input], outputs: [model.output, a], retain: retention)
        var activation = try acts.value(a)
        let output = try acts.value(model.output)
        // Tokens (N, T, C) of a vision transformer on their grid, or a channels-last map: as (N, C, h, w).
        let layout = FeatureLayout.of(a, shape: activation.shape, in: g, input: input.shape)
        if case .channelsFirst = layout {} else {
            guard variant != .ablationCAM else {
                throw ExplainError(.invalidArgument, "ablationcam needs a channels-first map (N, C, h, w), not tokens or a channels-last map; use gradcam, scorecam or eigencam there")
            }
            activation = try layout.channelsFirst(activation)
        }
        guard activation.rank == 4, activation.shape[0] == input.shape[0] else {
            throw ExplainError.shape("CAM needs a feature map (N, C, H, W) or a transformer's tokens (N, T, C) whose T or T − 1 patches "
                                     + "tile the input; '\(g.valueNames[a])' has shape \(Shape.format(try acts.value(a).shape))")
        }
        var (seed, picked) = variant == .finerCAM ? try finer.seed(for: output, target: target) : try target.seed(for: output)
        if variant == .shapleyCAM, shapley.rest {
            guard let classes = picked, case .channelsFirst = layout else {
                throw ExplainError(.invalidArgument, "shapleycam needs a class per sample (not a seed tensor) and a channels-first feature map (N, C, h, w)")
            }
            seed = try shapley.seed(graph: g, bound: bound, activations: acts, featureMap: a, output: model.output, logits: output, picked: classes)
        }
        let weighted: Tensor
        switch variant {
        case .fem:
            weighted = CAMWeights.fem(activation: activation, sigmas: sigmas)
        case .kpcaCAM:
            weighted = try kernelPCA.map(activation: activation)
        case .gradCAM, .gradCAMPlusPlus, .xGradCAM, .layerCAM, .hiResCAM, .gradCAMElementWise, .eigenGradCAM, .finerCAM, .shapleyCAM:
            var gradient = try bound.backward(&acts, seeds: [model.output: seed], to: [a], checkFinite: false).inputs[0]
            gradient = try layout.channelsFirst(gradient)
            // Finer-CAM and Shapley-CAM weigh as Grad-CAM; only their seeds differ.
            weighted = sumChannels
                ? try CAMWeights.fromGradient([.finerCAM, .shapleyCAM].contains(variant) ? .gradCAM : variant, activation: activation, gradient: gradient)
                : try CAMWeights.gradCAMPerChannel(activation: activation, gradient: gradient)
        case .scoreCAM:
            weighted = try CAMWeights.score(activation: activation, input: input, model: model, seed: seed, batchSize: batchSize)
        case .ablationCAM:
            weighted = try CAMWeights.ablation(activation: activation, at: a, base: acts, model: model, seed: seed, batchSize: batchSize)
        case .eigenCAM:
            weighted = CAMWeights.eigen(activation: activation)
        case .randomCAM:
            weighted = try CAMWeights.random(activation: activation, seed: self.seed, numpy: numpyDraws, skipping: firstSample)
        }
        var map = !relu ? weighted : Tensor(shape: weighted.shape) { out in
            weighted.withUnsafeBufferPointer { p in for i in 0..<out.count { out[i] = p[i] > 0 ? p[i] : 0 } }
        }
        if upsample, input.rank == 4 {
            map = try map.resizedBilinear(height: input.shape[2], width: input.shape[3])
        }
        return Attribution(values: map, output: output, targets: picked,
                           diagnostics: layer == nil ? ["feature map: '\(g.valueNames[a])' \(Shape.format(activation.shape))"
                                                         + layout.note] : [])
    }
}
