extension Graph {
    /// A copy in which the nodes `group` (indices) become one node running `layer` on `inputs`,
    /// named like and producing the value of the group's last node. The other nodes of the group
    /// must feed nothing outside it and no graph output (their values disappear).
    public func fusing(_ group: [Int], into layer: any Layer, inputs newInputs: [ValueID]) throws -> Graph {
        guard let last = group.max(), group.allSatisfy(nodes.indices.contains) else {
            throw ExplainError.argument("fusion: node indices \(group) out of range")
        }
        guard layer.arity == newInputs.count else {
            throw ExplainError.argument("fusion: \(layer) takes \(layer.arity) inputs, \(newInputs.count) given")
        }
        let members = Set(group), consumers = self.consumers
        for i in members where i != last {
            let v = nodes[i].output
            guard !outputs.contains(v), consumers[v].allSatisfy(members.contains) else {
                throw ExplainError.argument("fusion: the value of node '\(nodes[i].name)' is used outside the fused nodes")
            }
        }
        guard let first = members.min(), newInputs.allSatisfy({ v in inputs.contains(v) || producers[v].map { $0 < first } == true }) else {
            throw ExplainError.argument("fusion: an input of the fused node is computed after the group starts")
        }
        var g = self
        g.nodes[last] = Node(name: nodes[last].name, layer: layer, inputs: newInputs, output: nodes[last].output)
        g.nodes = g.nodes.enumerated().filter { !members.contains($0.offset) || $0.offset == last }.map(\.element)
        return g
    }
}
