import ExplainCore

/// Registers the CAM family: `gradcam`, `gradcam_pp`, `xgradcam`, `layercam`, `hirescam`,
/// `gradcam_elementwise`, `eigengradcam`, `scorecam`, `ablationcam`, `eigencam`, `fem`, `finercam`, `kpcacam`, and `guided_gradcam` (with the registry's guided
/// backpropagation).
public enum CAMPlugin: Plugin {
    static let entries: [(CAMAnalyzer.Variant, String, String, String)] = [
        (.gradCAM, "Grad-CAM: feature-map channels weighted by their mean gradient",
         "w_c = mean_ij ∂f_t/∂A_c(i,j); map = relu(Σ_c w_c A_c)", "Selvaraju et al. 2017; Captum LayerGradCam, pytorch-grad-cam GradCAM"),
        (.gradCAMPlusPlus, "Grad-CAM++: channels weighted by positive gradients with pixel-wise coefficients",
         "α = G² / (2G² + S_c G³ + 1e-6) where G ≠ 0, S_c = Σ_ij A_c; w_c = Σ_ij relu(G) α; map = relu(Σ_c w_c A_c)",
         "Chattopadhyay et al. 2018; pytorch-grad-cam GradCAMPlusPlus"),
        (.xGradCAM, "XGrad-CAM: channels weighted by activation-normalised gradients",
         "w_c = Σ_ij G_c A_c / (Σ_ij A_c + 1e-7); map = relu(Σ_c w_c A_c)", "Fu et al. 2020; pytorch-grad-cam XGradCAM"),
        (.layerCAM, "Layer-CAM: activations weighted element-wise by positive gradients",
         "map = relu(Σ_c relu(G_c) ⊙ A_c)", "Jiang et al. 2021; pytorch-grad-cam LayerCAM"),
        (.hiResCAM, "HiRes-CAM: activations weighted element-wise by gradients",
         "map = relu(Σ_c G_c ⊙ A_c)", "Draelos & Carin 2020; pytorch-grad-cam HiResCAM"),
        (.gradCAMElementWise, "Element-wise Grad-CAM: positive parts of gradient × activation, summed over channels",
         "map = Σ_c relu(G_c ⊙ A_c)", "pytorch-grad-cam GradCAMElementWise"),
        (.eigenGradCAM, "Eigen-Grad-CAM: first principal component of gradient × activation (class-specific Eigen-CAM)",
         "p = R v, R = positions × channels of A ⊙ G centred per channel, v = first right singular vector; p negated if |min p| > |max p|; map = relu(p)",
         "pytorch-grad-cam EigenGradCAM"),
        (.scoreCAM, "Score-CAM: channels weighted by the model's score on the input masked by each channel",
         "M_c = minmax(upsample_align_corners(A_c)); s_c = f_t(x ⊙ M_c); w = softmax(s); map = relu(Σ_c w_c A_c)",
         "Wang et al. 2020; pytorch-grad-cam ScoreCAM"),
        (.ablationCAM, "Ablation-CAM: channels weighted by the score drop when each is set to 0",
         "w_c = (f_t − f_t(A_c := 0)) / f_t; map = relu(Σ_c w_c A_c)", "Desai & Ramaswamy 2020; pytorch-grad-cam AblationCAM"),
        (.eigenCAM, "Eigen-CAM: first principal component of the feature map (class-agnostic)",
         "p = R v, R = positions × channels centred per channel, v = first right singular vector; p negated if |min p| > |max p|; map = relu(p)",
         "Muhammad & Yeasin 2020; pytorch-grad-cam EigenCAM"),
        (.fem, "FEM: channels weighted by the share of their positions above mean + k·std (class-agnostic)",
         "w_c = mean_ij 1[A_c(i,j) > mean(A_c) + k·std(A_c)]; map = relu(Σ_c w_c A_c)",
         "Fuad et al. 2020 (Feature Explanation Method); pytorch-grad-cam FEM"),
        (.finerCAM, "Finer-CAM: Grad-CAM of the target's logit against the classes whose logits are nearest to it",
         "T = Σ_j p_j (y_t − α y_j) / (Σ_j p_j + 1e-9), p = softmax(y), j = the classes at ranks `comparison` of nearness |y_j − y_t|; "
            + "w_c = mean_ij ∂T/∂A_c(i,j); map = relu(Σ_c w_c A_c)",
         "Zhang et al. 2025; pytorch-grad-cam FinerCAM (base GradCAM, FinerWeightedTarget)"),
        (.shapleyCAM, "Shapley-CAM: Grad-CAM's channel weights from the gradient minus half the Hessian-vector product of the ReST score",
         "y = z_t − CE(z, t); w_c = mean_ij (∂y/∂A − ½ ∇²y · A)_c(i,j); map = relu(Σ_c w_c A_c) (the network after A piecewise linear)",
         "Cai et al. 2025 (CAMs as Shapley value-based explainers); pytorch-grad-cam ShapleyCAM with ClassifierOutputReST"),
        (.randomCAM, "RandomCAM: channels weighted by uniform random numbers in [−1, 1) (a control, independent of the model's weights and the target)",
         "w_c ~ U[−1, 1) per sample and channel (seeded); map = relu(Σ_c w_c A_c)",
         "pytorch-grad-cam RandomCAM (a sanity-check baseline for CAM evaluation)"),
        (.kpcaCAM, "KPCA-CAM: first kernel principal component of the feature map's positions (class-agnostic)",
         "X = positions × channels centred per channel; K = centred k(X, X); (λ, u) its largest eigenpair, u's largest |entry| positive; "
            + "map = relu(u √λ)",
         "Karmani et al. 2024; pytorch-grad-cam KPCA_CAM (scikit-learn KernelPCA)"),
    ]

    static let layerParameter = Parameter("layer", default: "last feature map",
                                          "node or value whose (N, C, h, w) output, or a transformer's tokens (N, T, C) on their patch grid, is combined "
                                          + "(default: on a transformer the tokens entering its last attention, else the last map with more than one row and column)")
    static let upsampleParameter = Parameter("upsample", default: "true", "resize the map to the input's height and width (bilinear); false: (N, 1, h, w)")

    /// Reads `upsample`.
    static func upsample(_ options: Options) throws -> Bool {
        try options.bool("upsample", default: true)
    }

    /// Reads Shapley-CAM's `target_form`.
    static func restTarget(_ options: Options) throws -> Bool {
        switch options.string("target_form", default: "rest") {
        case "rest": return true
        case "logit": return false
        case let other: throw ExplainError(.invalidArgument, "target_form = '\(other)': use rest or logit")
        }
    }

    /// Reads `kernel` and `gamma`.
    static func kernelPCA(_ options: Options) throws -> KernelPCA {
        let name = options.string("kernel", default: "sigmoid")
        guard let kernel = KernelPCA.Kernel(rawValue: name) else {
            throw ExplainError(.invalidArgument, "kernel = '\(name)': use one of \(KernelPCA.Kernel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let gamma = options.values["gamma"] == nil ? nil : try options.double("gamma", default: 1, range: 0...1e12)
        return KernelPCA(kernel: kernel, gamma: gamma)
    }

    public static func register(into registry: inout Registry) throws {
        for (variant, summary, formula, reference) in entries {
            var parameters = [layerParameter, upsampleParameter,
                              Parameter("relu", default: "true", "relu on the map (Captum's relu_attributions, whose default is false; pytorch-grad-cam always)")]
            if variant == .gradCAM {
                parameters.append(Parameter("sum_channels", default: "true", "sum the weighted channels (Captum's attr_dim_summation); false: the (N, C, h, w) terms w_c A_c"))
            }
            if variant == .scoreCAM || variant == .ablationCAM {
                parameters.append(Parameter("batch_size", default: "32", "perturbed copies per forward batch"))
            }
            if variant == .fem { parameters.append(Parameter("k", default: "2", "threshold in standard deviations above a channel's mean")) }
            if variant == .kpcaCAM {
                parameters.append(Parameter("kernel", default: "sigmoid", "sigmoid, rbf, poly (degree 3), linear or cosine (scikit-learn's kernels; coef0 = 1)"))
                parameters.append(Parameter("gamma", default: "1 / channels", "γ of the sigmoid, rbf and poly kernels"))
            }
            if variant == .shapleyCAM {
                parameters.append(Parameter("target_form", default: "rest", "rest: the ReST score z_t − CE(z, t) (pytorch-grad-cam ClassifierOutputReST); logit: z_t (its default target; then Grad-CAM)"))
            }
            if variant == .randomCAM {
                parameters.append(Parameter("seed", default: "0", "random seed of the weights (same seed, same map)"))
                parameters.append(RandomDraws.parameter(.numpy, "np.random.seed(seed) then pytorch-grad-cam RandomCAM"))
            }
            if variant == .finerCAM {
                parameters.append(Parameter("alpha", default: "1", "weight of the compared classes' logits"))
                parameters.append(Parameter("comparison", default: "1,2,3",
                                            "ranks of the compared classes by nearness of their logits to the target's (0 = the target; ranks past the class count are dropped)"))
            }
            try registry.register(AnalyzerEntry(id: variant.rawValue, family: "cam", summary: summary, formula: formula,
                                                reference: reference, parameters: parameters) { model, options, _ in
                try CAMAnalyzer(model: model, variant: variant, layer: options.values["layer"], upsample: try upsample(options),
                                batchSize: try options.int("batch_size", default: 32, range: 1...100_000),
                                sigmas: try options.double("k", default: 2, range: -1000...1000),
                                alpha: try options.double("alpha", default: 1, range: -1e6...1e6),
                                comparison: try FinerTarget.parseRanks(options.string("comparison", default: "1,2,3")),
                                kernelPCA: try kernelPCA(options),
                                seed: UInt64(try options.int("seed", default: 0, range: 0...Int.max)),
                                numpyDraws: variant == .randomCAM && (try RandomDraws.from(options, allowed: [.explainkit, .numpy])) == .numpy,
                                restTarget: try restTarget(options),
                                relu: try options.bool("relu", default: true), sumChannels: try options.bool("sum_channels", default: true))
            })
        }
        try registry.register(AnalyzerEntry(
            id: "guided_gradcam", family: "cam", summary: "Guided Grad-CAM: guided backpropagation times the Grad-CAM map resized to the input",
            formula: "R = guided_backprop(x) ⊙ resize(relu(Σ_c mean_ij(∂f_t/∂A_c) A_c))",
            reference: "Selvaraju et al. 2017; Captum GuidedGradCam",
            parameters: [layerParameter,
                         Parameter("interpolation", default: "nearest", "resizing of the Grad-CAM map: nearest (Captum's default) or bilinear"),
                         Parameter("guided", default: "guided_backprop", "id of the input-shaped analyzer multiplied by the map")]
        ) { model, options, registry in
            let interpolation = options.string("interpolation", default: "nearest")
            guard ["nearest", "bilinear"].contains(interpolation) else {
                throw ExplainError(.invalidArgument, "interpolation = '\(interpolation)': use nearest or bilinear")
            }
            return GuidedGradCAM(gradcam: try CAMAnalyzer(model: model, variant: .gradCAM, layer: options.values["layer"], upsample: false),
                                 guided: try registry.makeAnalyzer(options.string("guided", default: "guided_backprop"), model: model),
                                 bilinear: interpolation == "bilinear")
        })
        try registry.register(AnalyzerEntry(
            id: "fullgrad", family: "cam", summary: "FullGrad: the input gradient and every convolution's and batch norm's bias gradient, scaled and summed",
            formula: "map = scale(Σ_c scale(|x ⊙ ∂f_t/∂x|_c) + Σ_l Σ_c scale(resize(|b_l,c ∂f_t/∂z_l,c|))), scale = min-max to [0, 1]",
            reference: "Srinivas & Fleuret 2019; pytorch-grad-cam FullGrad"
        ) { model, _, _ in try FullGrad(model: model) })
        try registry.register(alias: "layer_gradcam", for: "gradcam")   // Captum's LayerGradCam
        try registry.register(alias: "gradcam_plusplus", for: "gradcam_pp")
        try registry.register(alias: "kpca_cam", for: "kpcacam")
        let methods: [(String, CAMAnalyzer.Variant, Bool)] = [
            ("LayerGradCam", .gradCAM, false), ("LayerGradCam+interpolate", .gradCAM, true), ("GradCAM", .gradCAM, false),
            ("GradCAMPlusPlus", .gradCAMPlusPlus, false),
            ("XGradCAM", .xGradCAM, false), ("LayerCAM", .layerCAM, false), ("HiResCAM", .hiResCAM, false),
            ("ScoreCAM", .scoreCAM, false), ("AblationCAM", .ablationCAM, false), ("EigenCAM", .eigenCAM, false),
            ("GradCAMElementWise", .gradCAMElementWise, false), ("EigenGradCAM", .eigenGradCAM, false),
            ("FEM", .fem, false), ("FinerCAM", .finerCAM, false), ("KPCA_CAM", .kpcaCAM, false),
            ("RandomCAM", .randomCAM, false), ("ShapleyCAM", .shapleyCAM, false),
        ]
        try registry.register(CaseTranslator(method: "FullGrad") { _ in ("fullgrad", Options()) })
        for (method, variant, upsampled) in methods {
            try registry.register(CaseTranslator(method: method) { c in
                guard let tensor = c.params["onnx_tensor"]?.string ?? c.params["onnx_node"]?.string else { return nil }
                var values = ["layer": tensor, "upsample": "\(upsampled)"]
                if c.params["relu_attributions"]?.bool == false { values["relu"] = "false" }
                if c.params["attr_dim_summation"]?.bool == false { values["sum_channels"] = "false" }
                for key in ["k", "alpha", "gamma"] { if let v = c.params[key]?.number { values[key] = "\(v)" } }
                if let kernel = c.params["kernel"]?.string { values["kernel"] = kernel }
                if let form = c.params["target_form"]?.string { values["target_form"] = form }
                if variant == .randomCAM, let seed = c.params["np_seed"]?.number { values["seed"] = seed.integerText; values["rng"] = "numpy" }
                if let ranks = c.params["comparison"]?.array?.compactMap(\.number) { values["comparison"] = ranks.map { $0.integerText }.joined(separator: ",") }
                return (variant.rawValue, Options(values))
            })
        }
    }
}
