import ExplainCore

/// The layer a layer attribution explains: a named node or value, or by default the last hidden
/// layer before the explained output (the last feature map of an image model, else the input of
/// the last layer with weights).
public struct LayerChoice: Sendable {
    /// The node or value name; nil: the default.
    public let name: String?

    /// The `layer` option's parameter.
    public static let parameter = Parameter("layer", default: "last hidden",
                                            "node or value whose output is attributed (default: the last feature map, else the input of the last Dense)")

    public init(_ name: String?, in model: ExplainableModel) throws {
        if let name { _ = try model.graph.value(named: name) }
        self.name = name
    }

    public init(_ options: Options, in model: ExplainableModel) throws {
        try self.init(options.values["layer"], in: model)
    }

    /// The layer's value for inputs of this shape.
    public func value(in model: ExplainableModel, inputShape: [Int]) throws -> ValueID {
        if let name {
            let g = model.graph, v = try g.value(named: name)
            guard g.inputs.contains(v) || g.nodesNeeded(for: [model.output]).contains(where: { g.nodes[$0].output == v }) else {
                throw ExplainError.argument("the explained output '\(g.valueNames[model.output])' does not depend on layer '\(name)': choose a layer before it")
            }
            return v
        }
        if let v = try model.lastHiddenLayer(inputShape: inputShape) { return v }
        throw ExplainError.argument("the model has no hidden layer before the explained output: give one (--set layer=NODE; `explain inspect` lists the nodes)")
    }

    /// The input's forward pass keeping every value, for methods that rerun the network after the
    /// layer (`Graph.forwardTail`): the layer's value id, the pass, the explained output and `A(x)`.
    /// `instead` names the input-space method to use when the layer is the input itself.
    func inputPass(_ input: Tensor, model: ExplainableModel, instead: String) throws -> (ValueID, Activations, Tensor, Tensor) {
        try input.requireFinite("the input")
        guard input.rank >= 1, input.shape[0] >= 1 else {
            throw ExplainError.shape("input \(Shape.format(input.shape)) needs a batch dimension with at least one sample")
        }
        let v = try value(in: model, inputShape: input.shape)
        guard !model.graph.inputs.contains(v) else { throw ExplainError.argument("the layer is the model's input: use \(instead)") }
        let acts = try model.graph.forward([input], outputs: [model.output, v], retain: .all)
        return (v, acts, try acts.value(model.output), try acts.value(v))
    }

    /// The diagnostic naming a default choice.
    func note(_ v: ValueID, in model: ExplainableModel) -> [String] {
        name == nil ? ["layer: '\(model.graph.valueNames[v])'"] : []
    }
}
