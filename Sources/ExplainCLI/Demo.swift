import ArgumentParser
import ExplainKit
import Foundation

/// Loads images, explains them with many methods, and writes the comparison grid and report.
struct Demo: ParsableCommand {
    /// Options for methods whose defaults are made for tabular data and would take minutes on
    /// every pixel of the demo's images (shap's SamplingExplainer draws 1 000 samples per feature).
    static let demoOptions: [String: [String: String]] = ["sampling_shap": ["samples": "4000"]]

    static let configuration = CommandConfiguration(
        abstract: "Explain the bundled digits with every applicable method; write grid.png and report.html.")

    @Option(help: "Output folder.") var out: String = "out/demo"
    @Option(help: "Comma-separated method ids (default: every registered analyzer that applies).") var methods: String?
    @Option(help: "Folder with model.onnx, preprocess.json, labels.json and the PNG inputs.") var example: String = "Examples/digits"
    @Option(help: "Cell size in pixels.") var cell: Int = 96
    @Option(help: "Heatmap colormap: \(Colormap.allCases.map(\.rawValue).joined(separator: ", ")), or zennit:NAME / zennit:CODE.") var colormap: String = "seismic"

    func run() throws {
        try reportingErrors {
            let registry = try registry()
            let start = DispatchTime.now().uptimeNanoseconds
            let renderer = try HeatmapRenderer.named(colormap)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: example, isDirectory: &isFolder), isFolder.boolValue else {
                throw ExplainError(.io, "example folder not found (run from the repository root, or give --example DIR)", file: example)
            }
            let spec = try Preprocessing.load(path: example + "/preprocess.json")
            let labelData = FileManager.default.contents(atPath: example + "/labels.json") ?? Data()
            guard let labels = try? JSONDecoder().decode([String: Int].self, from: labelData), !labels.isEmpty else {
                throw ExplainError(.malformedFile, "labels.json must map image file names to class indices", file: example + "/labels.json")
            }
            let names = labels.keys.sorted()
            let images = try names.map { try Image.read(path: "\(example)/\($0)") }
            let x = try Tensor.concatenateBatches(try images.map { try spec.tensor(from: $0) })
            let imported = try ONNXImporter.load(path: example + "/model.onnx")
            let model = ExplainableModel(graph: imported.graph, output: imported.logits)
            let logits = try BatchChunks.predict(imported.graph, x, output: imported.logits)
            let predicted = try Target.max.indices(for: logits) ?? []

            // Bounds of the input space for the box rules: the preprocessed images of 0 and 255.
            let low = (0 * spec.scale - (spec.mean?.first ?? 0)) / (spec.std?.first ?? 1)
            let high = (255 * spec.scale - (spec.mean?.first ?? 0)) / (spec.std?.first ?? 1)
            var shared = Options(["low": "\(low)", "high": "\(high)"])
            // Training samples for the methods that learn from data (pattern_net, pattern_attribution).
            let dataPath = example + "/train_sample.npy"
            if FileManager.default.fileExists(atPath: dataPath) {
                shared.values["data"] = "file:" + dataPath
                shared.tensors["data"] = try Numpy.readTensor(path: dataPath)
            }
            let ids = methods.map { $0.split(separator: ",").map(String.init) }
                ?? registry.analyzers.keys.sorted().filter { $0 != "lrp" }
            let progress = Progress(total: ids.count)
            var columns: [String] = [], heatmaps: [[Image]] = [], timings: [(String, Double)] = [], skipped: [String] = []

            guard (16...512).contains(cell) else { throw ExplainError(.invalidArgument, "--cell must be in 16...512") }
            let layout = GridLayout(cell: cell, labelScale: cell >= 80 ? 2 : 1)
            for id in ids {
                progress.step(id)
                var options = try registry.options(for: id, from: shared)
                for (key, value) in Self.demoOptions[id] ?? [:] where options.values[key] == nil { options.values[key] = value }
                do {
                    let analyzer = try registry.makeAnalyzer(id, model: model, options: options)
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let a = try analyzer.analyze(x, target: .max)
                    timings.append((id, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
                    heatmaps.append(try (0..<images.count).map { s in
                        try renderer.render(try a.values.sample(s), size: (layout.cell, layout.cell))
                    })
                    columns.append(id)
                } catch let e as ExplainError {
                    skipped.append("\(id): \(e.message)")
                }
            }
            progress.finish()
            let inputCells = try images.map { img -> Image in
                let gray = HeatmapRenderer(reduction: .sum, normalization: .symmetric, colormap: .gray)
                let t = try Preprocessing(grayscale: true, scale: 1).tensor(from: img)
                return try gray.render(t, size: (layout.cell, layout.cell))
            }
            // Methods as columns; with more methods than images, methods as rows (a long, narrow grid).
            let grid: Image
            if columns.count <= images.count {
                let rows = names.enumerated().map { s, name in
                    GridLayout.Row(label: ["true \(labels[name] ?? -1)", "pred \(predicted[s])"],
                                   cells: [inputCells[s]] + heatmaps.map { $0[s] })
                }
                grid = try layout.render(rows: rows, columns: ["input"] + columns)
            } else {
                let width = 12   // characters per label line; the label column grows to fit
                let rows = [GridLayout.Row(label: ["input"], cells: inputCells)]
                    + zip(columns, heatmaps).map { GridLayout.Row(label: GridLayout.wrap($0, limit: width), cells: $1) }
                grid = try layout.render(rows: rows, columns: names.indices.map { "true \(labels[names[$0]] ?? -1)\npred \(predicted[$0])" })
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try grid.writePNG(path: out + "/grid.png")
            let command = (["explain"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            try Report.write(to: out + "/report.html", grid: grid, timings: timings, skipped: skipped, model: imported,
                             modelPath: example + "/model.onnx", samples: images.count, command: command)
            let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("")
            print("method".padding(toLength: 30, withPad: " ", startingAt: 0) + "  seconds (\(images.count) images)")
            for (id, t) in timings { print(id.padding(toLength: max(30, id.count), withPad: " ", startingAt: 0) + String(format: "  %.4f", t)) }
            for s in skipped { print("skipped \(s)") }
            print(String(format: "wrote %@/grid.png and %@/report.html (%d methods, %.1f s in all)", out, out, columns.count, total))
        }
    }
}

/// A progress bar on a terminal, plain lines otherwise.
final class Progress {
    let total: Int
    var done = 0
    let isTerminal = isatty(STDOUT_FILENO) != 0
    init(total: Int) { self.total = total }

    func step(_ label: String) {
        done += 1
        if isTerminal {
            let width = 30, filled = width * done / max(total, 1)
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            print("\r[\(bar)] \(done)/\(total) \(label.padding(toLength: 32, withPad: " ", startingAt: 0))", terminator: "")
            fflush(nil)
        } else {
            print("[\(done)/\(total)] \(label)")
        }
    }

    func finish() { if isTerminal { print("") } }
}

/// The self-contained HTML report.
enum Report {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func write(to path: String, grid: Image, timings: [(String, Double)], skipped: [String], model: ImportedModel,
                      modelPath: String, samples: Int, command: String) throws {
        let png = Data(try grid.pngData()).base64EncodedString()
        let rows = timings.map { "<tr><td><code>\(escape($0.0))</code></td><td>\(String(format: "%.4f", $0.1))</td></tr>" }.joined(separator: "\n")
        let g = model.graph
        let html = """
        <!doctype html><html><head><meta charset="utf-8"><title>ExplainKit report</title>
        <style>body{font-family:sans-serif;margin:2em;max-width:1400px}td,th{padding:2px 10px;text-align:left}img{image-rendering:pixelated;max-width:100%}</style>
        </head><body>
        <h1>ExplainKit report</h1>
        <p>Reproduce: <code>\(escape(command))</code></p>
        <h2>Explanations</h2>
        <p>Rows: inputs (true and predicted class). Columns: methods. Red: evidence for the predicted class, blue: against.</p>
        <img src="data:image/png;base64,\(png)" alt="comparison grid">
        <h2>Runtime (\(samples) images per method)</h2>
        <table><tr><th>method</th><th>seconds</th></tr>
        \(rows)
        </table>
        \(skipped.isEmpty ? "" : "<h2>Skipped</h2><ul>" + skipped.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        <h2>Model</h2>
        <p><code>\(escape(modelPath))</code> — producer \(escape(model.producer.isEmpty ? "unknown" : model.producer)), opset \(model.opset),
        \(g.nodes.count) nodes, \(g.parameterCount) parameters; explained value: <code>\(escape(g.valueNames[model.logits]))</code>.</p>
        <table><tr><th>node</th><th>layer</th></tr>
        \(g.nodes.map { "<tr><td><code>\(escape($0.name))</code></td><td>\(escape($0.layer.description))</td></tr>" }.joined(separator: "\n"))
        </table>
        </body></html>
        """
        guard FileManager.default.createFile(atPath: path, contents: Data(html.utf8)) else {
            throw ExplainError(.io, "cannot write the report", file: path)
        }
    }
}
