import ExplainCore

/// A node input as the importer sees it.
enum Operand {
    /// A runtime value of the graph, with its shape when known (batch = `ShapeProbe.batch`).
    case value(ValueID, shape: [Int]?)
    /// A tensor known at import time.
    case constant(ConstantValue)
    /// An omitted optional input (empty name).
    case absent
}

/// What one ONNX node becomes.
enum Conversion {
    /// The node passes a runtime value through (Identity, Dropout).
    case alias(ValueID)
    /// The node was evaluated at import time.
    case constant(ConstantValue)
    /// A layer over runtime operands (constants among them are evaluated or become Constant nodes).
    case layer(any Layer, [Operand])
}

/// The batch dimension during import-time shape inference: a sentinel extent that no real model
/// dimension has, so that `Shape` nodes can tell the batch size apart from fixed extents.
enum ShapeProbe {
    static let batch = 1_000_003
}

/// Everything a converter needs about one node.
struct NodeContext {
    let attributes: Attributes
    let operands: [Operand]
    let opset: Int
    let decoder: TensorDecoder
    /// The graph's runtime input: what a constant broadcast to the batch takes its batch size from.
    var batchSource: Operand = .absent
    /// The batch size the file fixes, while the importer generalises it: a constant shape with
    /// this extent in the batch position stands for the batch size.
    var fixedBatch: Int? = nil

    /// Whether operand `i` is a runtime value that carries the batch in dimension 0 and the
    /// extent `d` at position 0 of a constant shape applied to it stands for that batch.
    func isFixedBatch(_ d: Int, of i: Int) -> Bool {
        d == fixedBatch && shape(i)?.first == ShapeProbe.batch
    }

    var op: String { attributes.op }

    func error(_ code: ExplainError.Code, _ message: String) -> ExplainError { attributes.error(code, message) }

    func operand(_ i: Int) -> Operand { i < operands.count ? operands[i] : .absent }

    func constant(_ i: Int) -> ConstantValue? {
        if case .constant(let c) = operand(i) { return c }
        return nil
    }

    func requireConstant(_ i: Int, _ what: String) throws -> ConstantValue {
        switch operand(i) {
        case .constant(let c): return c
        case .absent: throw error(.missingValue, "input \(i) (\(what)) is required")
        case .value: throw error(.unsupportedAttribute, "input \(i) (\(what)) must be a constant (an initializer), not computed at run time")
        }
    }

    func floatConstant(_ i: Int, _ what: String) throws -> Tensor {
        do { return try requireConstant(i, what).floatTensor(what) } catch let e as ExplainError { throw e.at(node: attributes.node, op: op) }
    }

    func optionalFloat(_ i: Int, _ what: String) throws -> Tensor? {
        if case .absent = operand(i) { return nil }
        return try floatConstant(i, what)
    }

    func ints(_ i: Int, _ what: String) throws -> [Int]? {
        if case .absent = operand(i) { return nil }
        do { return try requireConstant(i, what).ints(what) } catch let e as ExplainError { throw e.at(node: attributes.node, op: op) }
    }

    func shape(_ i: Int) -> [Int]? {
        switch operand(i) {
        case .value(_, let s): return s
        case .constant(let c): return c.shape
        case .absent: return nil
        }
    }

    func isRuntime(_ i: Int) -> Bool {
        if case .value = operand(i) { return true }
        return false
    }

    func requireInputs(_ range: ClosedRange<Int>) throws {
        let n = operands.count
        guard range.contains(n) else { throw error(.malformedFile, "has \(n) inputs, expected \(range.lowerBound)…\(range.upperBound)") }
    }
}
