/// Identifies a value (tensor) of a graph: an index into `Graph.valueNames`.
public typealias ValueID = Int

/// One named operation of a graph.
public struct Node: Sendable, CustomStringConvertible {
    /// Unique within the graph (the ONNX node name, or a generated `Op_index`).
    public var name: String
    public var layer: any Layer
    public var inputs: [ValueID]
    public var output: ValueID

    public init(name: String, layer: any Layer, inputs: [ValueID], output: ValueID) {
        self.name = name
        self.layer = layer
        self.inputs = inputs
        self.output = output
    }

    public var description: String { "\(name): \(layer)" }
}

/// A computation graph as an explicit value: named nodes in topological order over value ids.
///
/// Rewrites (canonizers, rule binding) return new graphs; a graph is never mutated behind the
/// user's back. Build one with `GraphBuilder`.
public struct Graph: Sendable {
    /// Nodes in topological order.
    public internal(set) var nodes: [Node]
    /// The runtime input values (usually one).
    public internal(set) var inputs: [ValueID]
    /// The graph outputs.
    public var outputs: [ValueID]
    /// The name of every value, indexed by `ValueID`.
    public internal(set) var valueNames: [String]
    /// Declared input shapes (nil entries are dynamic, e.g. the batch dimension), one per input.
    public var declaredInputShapes: [[Int?]]

    /// The node that produces each value (nil for graph inputs), indexed by `ValueID`.
    public var producers: [Int?] {
        var p = [Int?](repeating: nil, count: valueNames.count)
        for (i, n) in nodes.enumerated() { p[n.output] = i }
        return p
    }

    /// The indices of the nodes that consume each value, indexed by `ValueID`.
    public var consumers: [[Int]] {
        var c = [[Int]](repeating: [], count: valueNames.count)
        for (i, n) in nodes.enumerated() { for v in Set(n.inputs) { c[v].append(i) } }
        return c
    }

    /// The index of the node with the given name.
    public func nodeIndex(named name: String) -> Int? { nodes.firstIndex { $0.name == name } }

    /// The value with the given name (a value name or the name of the node that produces it).
    public func value(named name: String) throws -> ValueID {
        if let v = valueNames.firstIndex(of: name) { return v }
        if let i = nodeIndex(named: name) { return nodes[i].output }
        let known = nodes.map(\.name).prefix(40).joined(separator: ", ")
        throw ExplainError(.missingValue, "no node or value named '\(name)'; nodes are: \(known)")
    }

    /// Total number of learned parameters.
    public var parameterCount: Int { nodes.reduce(0) { $0 + $1.layer.parameterCount } }

    /// A copy with the layer of node `index` replaced (same arity).
    public func replacingLayer(at index: Int, with layer: any Layer) throws -> Graph {
        guard nodes.indices.contains(index) else { throw ExplainError.argument("node index \(index) out of range") }
        guard layer.arity == nodes[index].inputs.count else {
            throw ExplainError.argument("replacement for node '\(nodes[index].name)' takes \(layer.arity) inputs, the node has \(nodes[index].inputs.count)")
        }
        var g = self
        g.nodes[index].layer = layer
        return g
    }

    /// The batch size the graph is fixed at (the first declared extent of its input), nil when open.
    public var fixedBatch: Int? { declaredInputShapes.first?.first ?? nil }

    /// Whether the graph runs at batch size 1 only (a model exported with a fixed batch size of 1
    /// whose graph could not be opened): batches then run one sample at a time.
    public var runsOneSampleAtATime: Bool { fixedBatch == 1 }

    /// Checks a concrete input shape against the declared one.
    public func checkInputShape(_ shape: [Int], input: Int = 0) throws {
        guard declaredInputShapes.indices.contains(input) else { return }
        let declared = declaredInputShapes[input]
        if declared.isEmpty { return }
        let matches = declared.count == shape.count && zip(declared, shape).allSatisfy { $0.0 == nil || $0.0 == $0.1 }
        guard matches else {
            let text = "(" + declared.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + ")"
            var message = "input '\(valueNames[inputs[input]])' has shape \(Shape.format(shape)), the model expects \(text)"
            if let b = declared.first ?? nil, shape.count == declared.count, shape.first != b,
               zip(declared.dropFirst(), shape.dropFirst()).allSatisfy({ $0.0 == nil || $0.0 == $0.1 }) {
                message += ": the model was exported with a fixed batch size of \(b) (`explain inspect` says why it runs at that size only);"
                    + " re-export it with torch.onnx.export(..., dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})"
            }
            throw ExplainError.shape(message)
        }
        guard !shape.contains(0) else { throw ExplainError.shape("input shape \(Shape.format(shape)) has no elements") }
    }

    /// The shape of every value for the given input shapes (nil for values not computed).
    /// Errors name the node where the shapes stop fitting.
    public func inferShapes(_ inputShapes: [[Int]]) throws -> [[Int]?] {
        guard inputShapes.count == inputs.count else {
            throw ExplainError.argument("the graph has \(inputs.count) inputs, \(inputShapes.count) shapes given")
        }
        var shapes = [[Int]?](repeating: nil, count: valueNames.count)
        for (i, v) in inputs.enumerated() {
            try checkInputShape(inputShapes[i], input: i)
            shapes[v] = inputShapes[i]
        }
        for node in nodes {
            let ins = node.inputs.map { shapes[$0] }
            guard ins.allSatisfy({ $0 != nil }) else { continue }
            do {
                shapes[node.output] = try node.layer.outputShape(ins.map { $0! })
            } catch let e as ExplainError {
                throw e.at(node: node.name, op: node.layer.kind.rawValue)
            }
        }
        return shapes
    }

    /// Forward FLOPs for the given input shapes.
    public func flops(_ inputShapes: [[Int]]) throws -> Double {
        let shapes = try inferShapes(inputShapes)
        return nodes.reduce(0) { acc, n in
            let ins = n.inputs.compactMap { shapes[$0] }
            return acc + (ins.count == n.inputs.count ? n.layer.flops(ins) : 0)
        }
    }
}

/// Builds a `Graph` node by node, checking that every input exists and names are unique.
public struct GraphBuilder {
    private var nodes: [Node] = []
    private var names: [String] = []
    private var inputs: [ValueID] = []
    private var declared: [[Int?]] = []
    private var nodeNames: Set<String> = []

    public init() {}

    /// Adds a graph input and returns its value id.
    public mutating func addInput(name: String, shape: [Int?] = []) -> ValueID {
        names.append(name)
        inputs.append(names.count - 1)
        declared.append(shape)
        return names.count - 1
    }

    /// Adds a node; its output value takes `outputName` (default: the node name).
    @discardableResult
    public mutating func add(_ layer: any Layer, inputs: [ValueID], name: String? = nil, outputName: String? = nil) throws -> ValueID {
        guard layer.arity == inputs.count else {
            throw ExplainError.argument("\(layer) takes \(layer.arity) inputs, \(inputs.count) given")
        }
        for v in inputs where v < 0 || v >= names.count {
            throw ExplainError(.missingValue, "input value \(v) of \(layer) does not exist yet")
        }
        var nodeName = name.flatMap { $0.isEmpty ? nil : $0 } ?? "\(layer.kind.rawValue)_\(nodes.count)"
        if nodeNames.contains(nodeName) {
            var k = 1
            while nodeNames.contains("\(nodeName)_\(k)") { k += 1 }
            nodeName = "\(nodeName)_\(k)"
        }
        nodeNames.insert(nodeName)
        names.append(outputName ?? nodeName)
        let out = names.count - 1
        nodes.append(Node(name: nodeName, layer: layer, inputs: inputs, output: out))
        return out
    }

    /// Finishes the graph with the given outputs.
    public func build(outputs: [ValueID]) throws -> Graph {
        guard !outputs.isEmpty else { throw ExplainError.argument("a graph needs at least one output") }
        for v in outputs where v < 0 || v >= names.count {
            throw ExplainError(.missingValue, "output value \(v) does not exist")
        }
        return Graph(nodes: nodes, inputs: inputs, outputs: outputs, valueNames: names, declaredInputShapes: declared)
    }
}

extension Graph {
    /// Per value: whether it is ≥ 0 by construction — the output of a Relu, Sigmoid or Softmax, or of
    /// a pooling / reshaping layer or Concat whose inputs all are. (A NaN stays possible.)
    public var nonNegativeValues: [Bool] {
        let producing: Set<LayerKind> = [.relu, .sigmoid, .softmax]
        let preserving: Set<LayerKind> = [.maxPool, .averagePool, .globalAveragePool, .flatten, .reshape, .transpose,
                                          .squeeze, .unsqueeze, .identity, .concat]
        var known = [Bool](repeating: false, count: valueNames.count)
        for node in nodes {
            let kind = node.layer.kind
            known[node.output] = producing.contains(kind)
                || (preserving.contains(kind) && !node.inputs.isEmpty && node.inputs.allSatisfy { known[$0] })
        }
        return known
    }
}

