import ExplainCore

/// One neuron of a layer's output, as the `neuron` option names it: `max` (in each sample the
/// neuron with the largest value there, the most active one), a flat row-major index into one
/// sample's layer output, or Captum's `neuron_selector` tuple of per-axis indices (`3,4,5` for
/// channel 3, row 4, column 5 of a `(N, C, H, W)` layer).
public enum NeuronSelector: Sendable, Equatable, CustomStringConvertible {
    case max
    case flat(Int)
    case tuple([Int])

    /// The `neuron` option's parameter.
    public static let parameter = Parameter("neuron", default: "max",
        "the neuron: a flat index into one sample's layer output, Captum's index tuple (e.g. 3,4,5 = channel 3, row 4, column 5), or max: the most active neuron of each sample")

    /// Parses `max`, `7`, `3,4,5` or `(3, 4, 5)`.
    public init(_ text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "max" { self = .max; return }
        let inner = t.hasPrefix("(") && t.hasSuffix(")") || t.hasPrefix("[") && t.hasSuffix("]") ? String(t.dropFirst().dropLast()) : t
        let parts = inner.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = parts.map { Int($0) }
        guard !parts.isEmpty, numbers.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw ExplainError(.invalidArgument, "neuron = '\(text)': give max, a flat index (≥ 0) or per-axis indices such as 3,4,5")
        }
        let values = numbers.compactMap { $0 }
        // A bracketed single index is a one-axis tuple (Captum's `(8,)`), a bare one a flat index.
        self = inner == t && parts.count == 1 ? .flat(values[0]) : .tuple(values)
    }

    public var description: String {
        switch self {
        case .max: "max"
        case .flat(let i): "\(i)"
        case .tuple(let t): "(" + t.map(String.init).joined(separator: ", ") + ")"
        }
    }

    /// The flat index in one sample's layer output of shape `shape` (without the batch); nil for `max`.
    public func flatIndex(in shape: [Int], layer: String) throws -> Int? {
        let size = shape.reduce(1, *)
        switch self {
        case .max:
            return nil
        case .flat(let i):
            guard i < size else { throw ExplainError.argument("neuron = \(i) is outside the \(size) values per sample of '\(layer)' \(Shape.format(shape))") }
            return i
        case .tuple(let t):
            guard t.count == shape.count else {
                throw ExplainError.argument("neuron = \(self) has \(t.count) indices; one sample of '\(layer)' has \(shape.count) axes \(Shape.format(shape))")
            }
            var flat = 0
            for (axis, (i, n)) in zip(t, shape).enumerated() {
                guard i < n else { throw ExplainError.argument("neuron = \(self): index \(i) on axis \(axis) is outside '\(layer)' \(Shape.format(shape))") }
                flat = flat * n + i
            }
            return flat
        }
    }

    /// The neuron of each sample: the selected one, or each sample's most active neuron (from a
    /// forward pass to the layer).
    public func neurons(for input: Tensor, layer v: ValueID, in model: ExplainableModel) throws -> [Int] {
        let g = model.graph
        let shapes = try g.inferShapes([[1] + input.shape.dropFirst()])
        let shape = Array((shapes[v] ?? []).dropFirst())
        if let i = try flatIndex(in: shape, layer: g.valueNames[v]) { return [Int](repeating: i, count: input.shape.first ?? 0) }
        return try Target.max.indices(for: try BatchChunks.predict(g, input, output: v)) ?? []
    }
}

/// Captum's neuron attributions (`NeuronGradient`, `NeuronIntegratedGradients`, `NeuronDeepLift`,
/// …): an input method run with one neuron of an inner layer as the explained output, `R =
/// method(∂y_n/∂x)` instead of the logit's. The neuron takes the place of the target (`--target`
/// is not read). Any analyzer id can be the base (`neuron --set base=ID`); the ids named after
/// Captum's classes fix it. The base comes from the registry, so it runs any batch itself on a
/// graph fixed at batch size 1 (`SplitsItsOwnBatches`: its seeded draws stay those of the whole batch).
public struct NeuronAttribution: SplitsItsOwnBatches {
    public let id: String
    public let model: ExplainableModel
    public let layer: LayerChoice
    public let neuron: NeuronSelector
    /// The input method, by id, and its options.
    public let base: String
    public let baseOptions: Options
    let registry: Registry
    /// The base, made once when the layer is named (its binding is reused by every call); with
    /// the default layer it depends on the input's shape and is made per call.
    let namedBase: (any Analyzer)?

    public init(id: String, model: ExplainableModel, layer: String?, neuron: NeuronSelector, base: String, baseOptions: Options,
                registry: Registry) throws {
        self.id = id
        self.model = model
        self.layer = try LayerChoice(layer, in: model)
        self.neuron = neuron
        self.base = base
        self.baseOptions = baseOptions
        self.registry = registry
        guard !base.hasPrefix("neuron") && !base.hasPrefix("layer_") else {
            throw ExplainError(.invalidArgument, "\(id): base = \(base) is not an input attribution method (use e.g. gradient, integrated_gradients, deeplift)")
        }
        _ = try registry.analyzer(base)
        self.namedBase = try layer.map { name in
            let v = try model.graph.value(named: name)
            guard !model.graph.inputs.contains(v) else { throw ExplainError.argument("\(id): the layer is the model's input; choose an inner layer") }
            return try registry.makeAnalyzer(base, model: ExplainableModel(graph: model.graph, output: v), options: baseOptions)
        }
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        try input.requireFinite("the input")
        guard input.rank >= 1, input.shape[0] >= 1 else {
            throw ExplainError.shape("input \(Shape.format(input.shape)) needs a batch dimension with at least one sample")
        }
        let v = try layer.value(in: model, inputShape: input.shape)
        guard !model.graph.inputs.contains(v) else { throw ExplainError.argument("\(id): the layer is the model's input; choose an inner layer") }
        let neurons = try neuron.neurons(for: input, layer: v, in: model)
        let analyzer = try namedBase ?? registry.makeAnalyzer(base, model: ExplainableModel(graph: model.graph, output: v), options: baseOptions)
        var attribution = try analyzer.analyze(input, target: .indices(neurons))
        attribution.diagnostics += layer.note(v, in: model)
        if case .max = neuron { attribution.diagnostics.append("neurons (most active per sample): \(neurons)") }
        return attribution
    }
}
