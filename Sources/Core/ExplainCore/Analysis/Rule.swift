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
    /// The node's forward values for the reference input `x0`, when the analysis ran one (DeepLIFT:
    /// multipliers are ratios of differences to the reference). A batch of 1 is shared by every
    /// sample; otherwise it has the batch of `inputs`.
    public let reference: Reference?
    /// Where the node's output is > 0, when the forward pass kept only that of it (a Relu whose
    /// rule declares `readsOutputAsMask`); `output` is then a placeholder.
    public let outputMask: PositiveMask?

    /// A node's forward values in the reference pass.
    public struct Reference: @unchecked Sendable {
        public let inputs: [Tensor]
        public let output: Tensor
        public init(inputs: [Tensor], output: Tensor) {
            self.inputs = inputs
            self.output = output
        }
    }

    public init(node: Node, index: Int, inputs: [Tensor], output: Tensor, state: (any Sendable)?, inputsNonNegative: [Bool]? = nil,
                reference: Reference? = nil, outputMask: PositiveMask? = nil) {
        self.outputMask = outputMask
        self.node = node
        self.index = index
        self.inputs = inputs
        self.output = output
        self.state = state
        self.inputsNonNegative = inputsNonNegative ?? inputs.map { _ in false }
        self.reference = reference
    }

    /// The reference values, or an error naming the rule that needs them.
    public func requireReference(for rule: any Rule) throws -> Reference {
        guard let reference else {
            throw ExplainError(.invalidArgument, "rule \(rule) needs the forward values of a reference input (use it through an analyzer with a baseline, e.g. deeplift)",
                               node: node.name, op: node.layer.kind.rawValue)
        }
        return reference
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
    /// Whether `propagate` at a Relu node with this layer reads its output only as "where it is
    /// > 0": the forward pass may then keep just that (`Site.outputMask`), one bit per element, when
    /// no other step reads the output's values. Default: false.
    func readsOutputAsMask(_ layer: any Layer) -> Bool
}

extension Rule {
    public func prepare(_ layer: any Layer) throws -> (any Sendable)? { nil }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, true) }
    public func readsOutputAsMask(_ layer: any Layer) -> Bool { false }
}

/// Rewrites a graph into an equivalent normal form before rules are bound (e.g. merging batch
/// normalisation into the preceding convolution).
public protocol Canonizer: Sendable, CustomStringConvertible {
    func canonize(_ graph: Graph) throws -> Graph
}
