/// What a rule sees at one node during the backward pass.
public struct Site: @unchecked Sendable {
    /// The node (its name, layer, input and output value ids).
    public let node: Node
    /// The node's index in the graph.
    public let index: Int
    /// The node's forward inputs.
    public let inputs: [Tensor]
    /// The node's forward output.
    public let output: Tensor
    /// What the rule's `prepare` returned for this node at bind time (modified weights, …).
    public let state: (any Sendable)?
    /// Per input: whether the graph guarantees it is ≥ 0 (it comes from a Relu, possibly through
    /// pooling or reshaping; `Graph.nonNegativeValues`), so a rule need not scan it to know.
    public let inputsNonNegative: [Bool]

    public init(node: Node, index: Int, inputs: [Tensor], output: Tensor, state: (any Sendable)?, inputsNonNegative: [Bool]? = nil) {
        self.node = node
        self.index = index
        self.inputs = inputs
        self.output = output
        self.state = state
        self.inputsNonNegative = inputsNonNegative ?? inputs.map { _ in false }
    }
}

/// One node's backward behaviour, replacing the layer's plain pullback.
///
/// Rules are small values that describe themselves (`description`, e.g. `epsilon(1e-6)`). A rule
/// declares the layers it accepts (checked when binding, so errors name the node), may precompute
/// per-node state once per binding (`prepare`), and maps the incoming relevance or gradient at the
/// node's output to one tensor per node input.
public protocol Rule: Sendable, CustomStringConvertible {
    /// Whether this rule can be attached to a node with this layer.
    func accepts(_ layer: any Layer) -> Bool
    /// Precomputes per-node state once per binding (e.g. modified weights); default: none.
    func prepare(_ layer: any Layer) throws -> (any Sendable)?
    /// Propagates `incoming` (output-shaped) to the node's inputs.
    func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor]
    /// Which forward values `propagate` reads at a node with this layer (false: only their shapes).
    /// Default: both. Declaring less lets the forward pass run element-wise layers in place.
    func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool)
}

extension Rule {
    public func prepare(_ layer: any Layer) throws -> (any Sendable)? { nil }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, true) }
}

/// Rewrites a graph into an equivalent normal form before rules are bound (e.g. merging batch
/// normalisation into the preceding convolution).
public protocol Canonizer: Sendable, CustomStringConvertible {
    func canonize(_ graph: Graph) throws -> Graph
}
