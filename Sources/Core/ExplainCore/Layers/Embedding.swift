/// A lookup table (ONNX Gather of a constant matrix by runtime indices; PyTorch's `nn.Embedding`):
/// token ids `(…)` → rows `(…, D)` of `table (V, D)`.
///
/// The ids are carried as floats (exact up to 2^24). They have no gradient: a backward pass that
/// reaches the ids stops with an error that points to the layer methods, which attribute at this
/// layer's output instead (Captum's LayerIntegratedGradients on an embedding).
public struct Embedding: Layer {
    public let table: Tensor

    public init(table: Tensor) throws {
        guard table.rank == 2, table.shape[0] >= 1 else { throw ExplainError.shape("an embedding table must be (V, D), got \(Shape.format(table.shape))") }
        self.table = table
    }

    public var kind: LayerKind { .embedding }
    public var arity: Int { 1 }
    public var parameterCount: Int { table.count }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "Embedding(\(table.shape[0]) × \(table.shape[1]))" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        return inputShapes[0] + [table.shape[1]]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        let ids = inputs[0], (v, d) = (table.shape[0], table.shape[1])
        for (i, id) in ids.scalars.enumerated() where !(id >= 0 && id < Float(v) && id == id.rounded()) {
            throw ExplainError(.invalidArgument, "token id \(id) at position \(i) is not an integer in 0..<\(v) (the embedding's vocabulary)")
        }
        return Tensor(shape: ids.shape + [d]) { out in
            table.withUnsafeBufferPointer { t in
                for (i, id) in ids.scalars.enumerated() {
                    (out.baseAddress! + i * d).update(from: t.baseAddress! + Int(id) * d, count: d)
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        throw ExplainError(.invalidArgument, "the input holds token ids, which have no gradient: attribute at the embedding's output with a layer method "
                           + "(e.g. --method layer_integrated_gradients --set layer=<embedding node>), or use a perturbation method")
    }
}
