import ExplainCore

/// Model-local functions (ONNX `FunctionProto`; PyTorch's dynamo exporter writes its aten helpers —
/// `aten_expand`, `aten_unsqueeze`, `_aten_gelu_approximate_none`, … — as these) replaced by their
/// bodies before import: the call's inputs and outputs take the places of the function's formal
/// ones, every other name in the body gets the call's name as a prefix, attributes that refer to
/// the call's (`ref_attr_name`) take its values (or the function's defaults), and calls inside the
/// bodies and inside `If` branches are replaced in turn.
enum FunctionInlining {
    static let maxDepth = 16
    /// The most nodes inlining may produce (calls nested in calls multiply).
    static let maxNodes = 1_000_000

    /// The graph with every call of one of `functions` replaced by the function's body.
    static func inline(_ graph: Onnx_GraphProto, functions: [Onnx_FunctionProto]) throws -> Onnx_GraphProto {
        guard !functions.isEmpty else { return graph }
        var table: [String: Onnx_FunctionProto] = [:]
        for f in functions { table[key(f.domain, f.name)] = f }
        var g = graph
        g.node = try expand(graph.node, table, depth: 0)
        return g
    }

    static func key(_ domain: String, _ name: String) -> String { (domain == "ai.onnx" ? "" : domain) + "::" + name }

    static func expand(_ nodes: [Onnx_NodeProto], _ table: [String: Onnx_FunctionProto], depth: Int) throws -> [Onnx_NodeProto] {
        guard depth <= maxDepth else {
            throw ExplainError(.malformedFile, "model-local functions call each other more than \(maxDepth) levels deep")
        }
        var out: [Onnx_NodeProto] = []
        for node in nodes {
            guard let f = table[key(node.domain, node.opType)] else {
                var n = node
                n.attribute = try node.attribute.map { a in try mapGraphs(a) { g in var g = g; g.node = try expand(g.node, table, depth: depth + 1); return g } }
                out.append(n)
                continue
            }
            var rename: [String: String] = [:]
            for (i, formal) in f.input.enumerated() { rename[formal] = i < node.input.count ? node.input[i] : "" }
            for (j, formal) in f.output.enumerated() { rename[formal] = j < node.output.count ? node.output[j] : "" }
            let prefix = (node.name.isEmpty ? node.opType : node.name) + "/"
            let name: (String) -> String = { n in n.isEmpty ? "" : rename[n] ?? prefix + n }
            var body: [Onnx_NodeProto] = []
            for b in f.node {
                var c = b
                c.input = b.input.map(name)
                c.output = b.output.map(name)
                c.name = prefix + (b.name.isEmpty ? b.opType : b.name)
                c.attribute = try b.attribute.compactMap { a -> Onnx_AttributeProto? in
                    if !a.refAttrName.isEmpty {
                        guard var given = node.attribute.first(where: { $0.name == a.refAttrName })
                                ?? f.attributeProto.first(where: { $0.name == a.refAttrName }) else { return nil }
                        given.name = a.name
                        return given
                    }
                    return try mapGraphs(a) { try renamed($0, name) }
                }
                body.append(c)
            }
            out += try expand(body, table, depth: depth + 1)
            guard out.count <= maxNodes else {
                throw ExplainError(.tooLarge, "inlining the model-local functions gives more than \(maxNodes) nodes")
            }
        }
        return out
    }

    /// The attribute with `transform` applied to its sub-graphs (`If` branches).
    static func mapGraphs(_ a: Onnx_AttributeProto, _ transform: (Onnx_GraphProto) throws -> Onnx_GraphProto) throws -> Onnx_AttributeProto {
        var a = a
        if a.hasG { a.g = try transform(a.g) }
        if !a.graphs.isEmpty { a.graphs = try a.graphs.map(transform) }
        return a
    }

    /// A sub-graph inside a function body with every name renamed (outer references and its own).
    static func renamed(_ graph: Onnx_GraphProto, _ name: (String) -> String) throws -> Onnx_GraphProto {
        var g = graph
        g.node = try graph.node.map { n in
            var c = n
            c.input = n.input.map(name)
            c.output = n.output.map(name)
            c.attribute = try n.attribute.map { try mapGraphs($0) { try renamed($0, name) } }
            return c
        }
        g.input = graph.input.map { var v = $0; v.name = name(v.name); return v }
        g.output = graph.output.map { var v = $0; v.name = name(v.name); return v }
        return g
    }
}
