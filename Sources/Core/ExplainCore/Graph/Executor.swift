/// Which intermediate values a forward pass keeps.
public struct Retention: Sendable {
    let keepAll: Bool
    let extra: Set<ValueID>
    let reads: [(inputs: Bool, output: Bool)]?
    let masks: Set<ValueID>
    let records: Set<Int>

    init(keepAll: Bool, extra: Set<ValueID>, reads: [(inputs: Bool, output: Bool)]?, masks: Set<ValueID> = [], records: Set<Int> = []) {
        self.keepAll = keepAll
        self.extra = extra
        self.reads = reads
        self.masks = masks
        self.records = records
    }

    /// Keep every value (the backward pass needs them).
    public static let all = Retention(keepAll: true, extra: [], reads: nil)
    /// Free every value as soon as its last consumer has run; keep only the requested outputs.
    public static let outputsOnly = Retention(keepAll: false, extra: [], reads: nil)
    /// Like `outputsOnly`, but also keep these values.
    public static func values(_ extra: Set<ValueID>) -> Retention { Retention(keepAll: false, extra: extra, reads: nil) }
    /// What a backward pass needs: every value that a backward step reads (`reads` has one entry
    /// per node: whether its pullback or bound rule reads its inputs' and its output's contents).
    /// Other values are released after their last forward use and leave a `Tensor.placeholder`
    /// (their shape), and an element-wise layer may overwrite such an input in place.
    ///
    /// `masks`: Relu outputs of which the backward pass needs only where they are > 0 (and their
    /// shape): the forward pass records a `PositiveMask` of each (`Activations.masks`) and frees the
    /// value after its last forward use, leaving a `Tensor.placeholder` (unless it is requested).
    /// `records`: nodes whose `RecordingPullback` records what their backward step needs
    /// (`Activations.records`); `reads` must then say that they read nothing.
    public static func backward(reads: [(inputs: Bool, output: Bool)], masks: Set<ValueID> = [], records: Set<Int> = []) -> Retention {
        Retention(keepAll: true, extra: [], reads: reads, masks: masks, records: records)
    }
}

/// The values computed by a forward pass, indexed by `ValueID` (nil where freed or not computed).
public struct Activations: Sendable {
    public var values: [Tensor?]
    /// Values overwritten in place (`.backward` retention) → the value that took their storage.
    /// That value has the same shape and stands in for readers that only need the shape.
    public var aliases: [ValueID: ValueID] = [:]
    /// Where each Relu output kept as a mask (`Retention.backward(reads:masks:)`) is > 0; its value
    /// is then a placeholder.
    public var masks: [ValueID: PositiveMask] = [:]
    /// What `RecordingPullback` nodes recorded for their backward step, by their output value.
    public var records: [ValueID: any Sendable] = [:]

    public init(values: [Tensor?], aliases: [ValueID: ValueID] = [:], masks: [ValueID: PositiveMask] = [:],
                records: [ValueID: any Sendable] = [:]) {
        self.values = values
        self.aliases = aliases
        self.masks = masks
        self.records = records
    }

    /// The value with the given id (or its same-shaped stand-in); throws if it is not available.
    public func value(_ id: ValueID) throws -> Tensor {
        var v = id
        for _ in 0...aliases.count {
            if values.indices.contains(v), let t = values[v] { return t }
            guard let next = aliases[v] else { break }
            v = next
        }
        throw ExplainError(.missingValue, "value \(id) was not computed or not retained")
    }
}

extension Graph {
    /// The indices of the nodes needed to compute `targets`, in topological order.
    public func nodesNeeded(for targets: [ValueID]) -> [Int] {
        let producers = self.producers
        var needed = [Bool](repeating: false, count: nodes.count)
        var stack = targets
        var seen = Set<ValueID>()
        while let v = stack.popLast() {
            guard seen.insert(v).inserted, let p = producers[v] else { continue }
            needed[p] = true
            stack.append(contentsOf: nodes[p].inputs)
        }
        return needed.indices.filter { needed[$0] }
    }

    /// Runs the graph on a batch.
    ///
    /// - Parameters:
    ///   - inputs: one tensor per graph input, batch first.
    ///   - outputs: the values to compute (default: the graph outputs); only the nodes they need run.
    ///   - retain: which intermediate values to keep.
    public func forward(_ inputs: [Tensor], outputs requested: [ValueID]? = nil, retain: Retention = .outputsOnly) throws -> Activations {
        guard inputs.count == self.inputs.count else {
            throw ExplainError.argument("the graph has \(self.inputs.count) input(s), \(inputs.count) given")
        }
        for (i, t) in inputs.enumerated() { try checkInputShape(t.shape, input: i) }
        let targets = requested ?? outputs
        let order = nodesNeeded(for: targets)

        let keep = Set(targets).union(retain.extra)
        let keepAll = retain.keepAll
        let reads = retain.reads.flatMap { $0.count == nodes.count ? $0 : nil }
        var aliases: [ValueID: ValueID] = [:]
        let producerOf = reads == nil ? [] : producers
        var lastUse = [Int](repeating: -1, count: valueNames.count)
        for (step, i) in order.enumerated() { for v in nodes[i].inputs { lastUse[v] = step } }
        // Values that some node's backward step reads as an input: never overwritten in place, even
        // by their last consumer (an earlier consumer's rule may read them).
        var readAsInput = [Bool](repeating: false, count: valueNames.count)
        if let reads { for (j, node) in nodes.enumerated() where reads[j].inputs { for v in node.inputs { readAsInput[v] = true } } }

        var values = [Tensor?](repeating: nil, count: valueNames.count)
        for (v, t) in zip(self.inputs, inputs) { values[v] = t }
        let graphInputs = Set(self.inputs)
        // Relu outputs kept only as masks (not where requested).
        let maskOnly = keepAll ? retain.masks.subtracting(keep) : []
        // Values whose contents no backward step reads: released after their last forward use.
        var unread = [Bool](repeating: false, count: valueNames.count)
        if keepAll, let reads {
            for (j, node) in nodes.enumerated() where !reads[j].output && !keep.contains(node.output) && !readAsInput[node.output] {
                unread[node.output] = true
            }
        }
        var masks: [ValueID: PositiveMask] = [:]
        var records: [ValueID: any Sendable] = [:]
        for (step, i) in order.enumerated() {
            let node = nodes[i]
            defer {
                // A mask-only or unread value is released after its last forward use: a placeholder
                // keeps its shape for the backward steps.
                for v in Set(node.inputs) where lastUse[v] == step && (unread[v] || masks[v] != nil) {
                    if let t = values[v] { values[v] = .placeholder(shape: t.shape) }
                }
            }
            // In place when the single input dies here (and is not the caller's tensor); when
            // retaining for a backward pass, only if no plain pullback reads the overwritten value.
            if let layer = node.layer as? any InPlaceLayer, node.inputs.count == 1,
               case let v = node.inputs[0], lastUse[v] == step, !keep.contains(v), !graphInputs.contains(v),
               !keepAll || reads.map({ r in
                   guard !readAsInput[v], let p = producerOf[v] else { return false }
                   return !r[p].output
               }) == true,
               var t = values[v] {
                values[v] = nil
                if keepAll { aliases[v] = node.output }
                do {
                    if maskOnly.contains(node.output), layer is Relu {
                        masks[node.output] = PositiveMask.reluInPlace(&t)
                    } else {
                        try layer.forwardInPlace(&t)
                    }
                } catch let e as ExplainError {
                    throw e.at(node: node.name, op: node.layer.kind.rawValue)
                }
                values[node.output] = t
                continue
            }
            var args: [Tensor] = []
            args.reserveCapacity(node.inputs.count)
            for v in node.inputs {
                guard let t = values[v] else {
                    throw ExplainError(.missingValue, "value '\(valueNames[v])' is not available", node: node.name, op: node.layer.kind.rawValue)
                }
                args.append(t)
            }
            do {
                try Shape.checkAllocation(try node.layer.outputShape(args.map(\.shape)))
                if maskOnly.contains(node.output), node.layer is Relu, args.count == 1 {
                    (values[node.output], masks[node.output]) = PositiveMask.relu(args[0])
                } else if keepAll, retain.records.contains(i), let recording = node.layer as? any RecordingPullback, recording.canRecord,
                          args.count == 1 {
                    (values[node.output], records[node.output]) = try recording.forwardRecording(args[0])
                } else {
                    values[node.output] = try node.layer.forward(args)
                }
            } catch let e as ExplainError {
                throw e.at(node: node.name, op: node.layer.kind.rawValue)
            }
            if !keepAll {
                for v in Set(node.inputs) where lastUse[v] == step && !keep.contains(v) { values[v] = nil }
            }
        }
        return Activations(values: values, aliases: aliases, masks: masks, records: records)
    }

    /// Runs the graph and returns its first output (or the requested value).
    public func predict(_ input: Tensor, output: ValueID? = nil) throws -> Tensor {
        let target = output ?? outputs[0]
        return try forward([input], outputs: [target]).value(target)
    }
}

extension Graph {
    /// Runs only the part of the graph after `value`: `replacement` (a batch of m versions of that
    /// value) flows through the nodes that depend on it; every other input those nodes read comes
    /// from sample `sample` of `base` (a forward pass that kept them), repeated m times. Much
    /// cheaper than a whole forward pass when `value` lies near the output (Ablation-CAM, layer
    /// perturbations). Returns the requested outputs.
    public func forwardTail(from value: ValueID, replacement: Tensor, base: Activations, sample: Int = 0,
                            outputs requested: [ValueID]) throws -> [Tensor] {
        let tail = try tailActivations(from: value, replacement: replacement, base: base, sample: sample, outputs: requested)
        return try requested.map { v in
            if let t = tail.values[v] { return t }
            // An output that does not depend on `value`.
            return try tailBase(base, v, sample: sample, copies: replacement.shape.first ?? 0)
        }
    }

    /// The values of `forwardTail`: `replacement` at `value`, every node between it and `requested`,
    /// and the (repeated) values of `base` those nodes read. A backward pass from a requested
    /// output to `value` runs on them (Layer Integrated Gradients' path in a layer's space).
    public func tailActivations(from value: ValueID, replacement: Tensor, base: Activations, sample: Int = 0,
                                outputs requested: [ValueID]) throws -> Activations {
        let m = replacement.shape.first ?? 0
        var depends = [Bool](repeating: false, count: valueNames.count)
        depends[value] = true
        var values = [Tensor?](repeating: nil, count: valueNames.count)
        values[value] = replacement
        let needed = Set(nodesNeeded(for: requested))
        for (i, node) in nodes.enumerated() where needed.contains(i) && node.inputs.contains(where: { depends[$0] }) {
            var args: [Tensor] = []
            for v in node.inputs {
                if values[v] == nil { values[v] = try tailBase(base, v, sample: sample, copies: m) }
                if let t = values[v] { args.append(t) }
            }
            do {
                values[node.output] = try node.layer.forward(args)
            } catch let e as ExplainError {
                throw e.at(node: node.name, op: node.layer.kind.rawValue)
            }
            depends[node.output] = true
        }
        return Activations(values: values)
    }

    /// Value `v` of sample `sample` of `base`, repeated for `copies` copies. On a graph fixed at
    /// batch size 1 the base pass holds one sample and the copies run one at a time: its values are
    /// taken as they are (their batch need not lead, e.g. sequence-first attention).
    private func tailBase(_ base: Activations, _ v: ValueID, sample: Int, copies: Int) throws -> Tensor {
        if runsOneSampleAtATime {
            guard sample == 0, copies == 1 else {
                throw ExplainError.argument("the model was exported with a fixed batch size of 1: rerun the network after a layer one copy "
                                            + "of one sample at a time (got sample \(sample), \(copies) copies)")
            }
            return try base.value(v)
        }
        return try Tensor.concatenateBatches([Tensor](repeating: try base.value(v).sample(sample), count: copies))
    }
}
