import ExplainCore

/// One affine layer whose transposed product sums those of several weights of the same layer:
///
///     Σ_k W_kᵀ s_k = [W_1; W_2; …]ᵀ [s_1; s_2; …]
///
/// The weights are stacked along the outputs (per group for a grouped convolution: group g holds
/// W_1's outputs of g, then W_2's, …), so one GEMM with a longer inner dimension and one col2im fold
/// (or one Winograd product, the layer keeps the model's algorithm) replace several (the γ-rule's two
/// products). The cotangent must be stacked the same way (`RelevanceKernels.gammaRatiosStacked`
/// writes it so). No bias: only `inputGradient` is used.
enum StackedLayer {
    /// The stacked layer for `weights` (each shaped like `layer.weight`), or nil for a layer type
    /// this does not know.
    static func make(_ layer: any AffineLayer, _ weights: [Tensor]) throws -> (any AffineLayer)? {
        let groups = (layer as? Conv2D)?.groups ?? 1
        let shape = layer.weight.shape
        guard weights.allSatisfy({ $0.shape == shape }), let outputs = shape.first, outputs % groups == 0 else { return nil }
        let block = layer.weight.count / groups   // one group's rows of one weight
        var stackedShape = shape
        stackedShape[0] = outputs * weights.count
        let stacked = Tensor(shape: stackedShape) { out in
            var at = 0
            for g in 0..<groups {
                for w in weights {
                    w.withUnsafeBufferPointer { p in (out.baseAddress! + at).update(from: p.baseAddress! + g * block, count: block) }
                    at += block
                }
            }
        }
        switch layer {
        case let conv as Conv2D:
            let w = conv.window
            return try Conv2D(weight: stacked, bias: nil, strides: w.strides, pads: (w.pads.top, w.pads.left, w.pads.bottom, w.pads.right),
                              dilations: w.dilations, groups: conv.groups, algorithm: conv.algorithm)
        case let dense as Dense:
            return try Dense(weight: stacked, bias: nil, transposeInput: dense.transposeInput)
        default:
            return nil
        }
    }

    /// Whether the stacked product serves an input of this shape: a Dense layer on rows of a
    /// rank > 2 input would need its ratios stacked per row, which `RatioKernels.stacked` does not do.
    static func fits(_ layer: any AffineLayer, input: Tensor) -> Bool { !(layer is Dense) || input.rank == 2 }

    /// How many blocks each sample of a stacked cotangent is cut into (the layer's groups).
    static func blocks(_ layer: any AffineLayer) -> Int { (layer as? Conv2D)?.groups ?? 1 }
}
