import ExplainCore

/// How a CAM layer's value holds its channels: `(N, C, h, w)`, a transformer's tokens `(N, T, C)`
/// on their patch grid, or channels last `(N, h, w, C)` (Swin's and ConvNeXt's blocks, whose
/// LayerNorm and Linear layers act on the last axis).
enum FeatureLayout {
    case channelsFirst
    case tokens(TokenGrid)
    case channelsLast

    /// The layout of value `v` (shaped `shape`) for an input `(N, C, H, W)`: tokens when rank 3 and
    /// on a grid; channels last when rank 4 and produced — through element-wise layers and sums —
    /// by a LayerNorm over the last axis, a Dense layer or a Transpose to `(0, 2, 3, 1)`.
    static func of(_ v: ValueID, shape: [Int], in graph: Graph, input: [Int]) -> FeatureLayout {
        if shape.count == 3, input.count == 4, let grid = TokenGrid(tokens: shape[1], height: input[2], width: input[3]) { return .tokens(grid) }
        guard shape.count == 4 else { return .channelsFirst }
        let producers = graph.producers
        var value = v
        while let p = producers[value] {
            let node = graph.nodes[p]
            switch node.layer {
            case let norm as LayerNorm: return norm.axis == -1 || norm.axis == 3 ? .channelsLast : .channelsFirst
            case is Dense: return .channelsLast
            case let t as Transpose: return t.perm == [0, 2, 3, 1] ? .channelsLast : .channelsFirst
            case is any ElementwiseActivation, is Binary: value = node.inputs[0]
            default: return .channelsFirst
            }
        }
        return .channelsFirst
    }

    /// `t` as `(N, C, h, w)`.
    func channelsFirst(_ t: Tensor) throws -> Tensor {
        switch self {
        case .channelsFirst: return t
        case .tokens(let grid): return try grid.featureMap(t)
        case .channelsLast:
            guard t.rank == 4 else { throw ExplainError.shape("a channels-last map needs rank 4, got \(Shape.format(t.shape))") }
            let (n, h, w, c) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
            return Tensor(shape: [n, c, h, w]) { out in
                t.withUnsafeBufferPointer { p in
                    for s in 0..<n { for y in 0..<h { for x in 0..<w { for ch in 0..<c {
                        out[((s * c + ch) * h + y) * w + x] = p[((s * h + y) * w + x) * c + ch]
                    } } } }
                }
            }
        }
    }

    var note: String {
        switch self {
        case .channelsFirst: ""
        case .tokens(let grid): " (tokens on a \(grid.rows) × \(grid.columns) grid)"
        case .channelsLast: " (channels last)"
        }
    }
}
