import ArgumentParser
import ExplainKit
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a model's nodes, operators, output shapes and parameter count.")

    @Argument(help: "The ONNX model file.") var model: String
    @Option(name: .customLong("input-shape"), help: "Input shape N,C,H,W used to compute output shapes.") var inputShape: String?
    @Option(name: .customLong("bind"), help: "NAME=file:X.npy: hold a further model input at fixed values (repeatable; e.g. attention_mask).") var bindings: [String] = []

    func run() throws {
        try reportingErrors {
            var options = ImportOptions(bind: try parseBindings(bindings))
            let shape = try inputShape.map(parseShape)
            options.inputShape = shape
            let imported = try ONNXImporter.load(path: model, options: options)
            let g = imported.graph
            let declared = g.declaredInputShapes.first ?? []
            let concrete = shape ?? (declared.isEmpty ? nil : [1] + declared.dropFirst().compactMap { $0 })
            var shapes: [[Int]?] = []
            if let concrete, concrete.count == declared.count || declared.isEmpty { shapes = (try? g.inferShapes([concrete])) ?? [] }
            print("model: \(model)")
            print("producer: \(imported.producer.isEmpty ? "unknown" : imported.producer), opset \(imported.opset)")
            let text = declared.map { $0.map(String.init) ?? "N" }.joined(separator: ", ")
            print("input: \(imported.inputName) (\(text))")
            if let note = imported.batchNote { print("batch: \(note)") }
            print(String(repeating: "-", count: 78))
            // Columns as wide as their longest entry: name, op kind, output shape, layer.
            let rows = g.nodes.map { node -> [String] in
                let s = shapes.indices.contains(node.output) ? shapes[node.output].map(Shape.format) ?? "?" : "?"
                return [node.name, node.layer.kind.rawValue, s, "\(node.layer)"]
            }
            let widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
            for row in rows {
                print((0..<3).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[3])
            }
            print(String(repeating: "-", count: 78))
            print("nodes: \(g.nodes.count), parameters: \(g.parameterCount)")
            if let s = imported.softmaxInput { print("ends in Softmax; logits are '\(g.valueNames[s])'") }
            if let concrete, let flops = try? g.flops([concrete]) {
                print(String(format: "forward: %.3f GFLOP at batch %d", flops / 1e9, concrete[0]))
            }
            // The layers CAM and the layer methods take when none is named (--set layer=…).
            if let concrete {
                let explainable = ExplainableModel(graph: g, output: imported.logits)
                if let v = explainable.inputEmbedding {
                    print("default layer (layer methods): '\(g.valueNames[v])' (the embedding of the input's token ids)")
                } else if let v = try? explainable.lastTokenLayer(inputShape: concrete) {
                    print("default layer (CAM on its patch grid, layer methods): '\(g.valueNames[v])' (tokens entering the last attention)")
                } else if let v = try? explainable.lastFeatureMap(inputShape: concrete) {
                    print("default feature map (CAM, layer methods): '\(g.valueNames[v])'")
                } else if let v = try? explainable.lastHiddenLayer(inputShape: concrete) {
                    print("default layer (layer methods): '\(g.valueNames[v])'")
                }
            }
        }
    }
}
