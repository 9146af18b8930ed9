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
        if let name { return try model.graph.value(named: name) }
        if let v = try model.lastHiddenLayer(inputShape: inputShape) { return v }
        throw ExplainError.argument("the model has no hidden layer before the explained output: give one (--set layer=NODE; `explain inspect` lists the nodes)")
    }

    /// The diagnostic naming a default choice.
    func note(_ v: ValueID, in model: ExplainableModel) -> [String] {
        name == nil ? ["layer: '\(model.graph.valueNames[v])'"] : []
    }
}
