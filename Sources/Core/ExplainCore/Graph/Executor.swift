/// Which intermediate values a forward pass keeps.
public enum Retention: Sendable {
    /// Keep every value (the backward pass needs them).
    case all
    /// Free every value as soon as its last consumer has run; keep only the requested outputs.
    case outputsOnly
    /// Like `outputsOnly`, but also keep these values.
    case values(Set<ValueID>)
}

/// The values computed by a forward pass, indexed by `ValueID` (nil where freed or not computed).
public struct Activations: Sendable {
    public var values: [Tensor?]

    /// The value with the given id; throws if it was not computed or was freed.
    public func value(_ id: ValueID) throws -> Tensor {
        guard values.indices.contains(id), let t = values[id] else {
            throw ExplainError(.missingValue, "value \(id) was not computed or not retained")
        }
        return t
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

        var keep = Set(targets)
        var keepAll = false
        switch retain {
        case .all: keepAll = true
        case .outputsOnly: break
        case .values(let extra): keep.formUnion(extra)
        }
        var lastUse = [Int](repeating: -1, count: valueNames.count)
        for (step, i) in order.enumerated() { for v in nodes[i].inputs { lastUse[v] = step } }

        var values = [Tensor?](repeating: nil, count: valueNames.count)
        for (v, t) in zip(self.inputs, inputs) { values[v] = t }
        let graphInputs = Set(self.inputs)
        for (step, i) in order.enumerated() {
            let node = nodes[i]
            // In place when the single input dies here (and is not the caller's tensor).
            if !keepAll, let layer = node.layer as? any InPlaceLayer, node.inputs.count == 1,
               case let v = node.inputs[0], lastUse[v] == step, !keep.contains(v), !graphInputs.contains(v),
               var t = values[v] {
                values[v] = nil
                do {
                    try layer.forwardInPlace(&t)
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
                values[node.output] = try node.layer.forward(args)
            } catch let e as ExplainError {
                throw e.at(node: node.name, op: node.layer.kind.rawValue)
            }
            if !keepAll {
                for v in Set(node.inputs) where lastUse[v] == step && !keep.contains(v) { values[v] = nil }
            }
        }
        return Activations(values: values)
    }

    /// Runs the graph and returns its first output (or the requested value).
    public func predict(_ input: Tensor, output: ValueID? = nil) throws -> Tensor {
        let target = output ?? outputs[0]
        return try forward([input], outputs: [target]).value(target)
    }
}
