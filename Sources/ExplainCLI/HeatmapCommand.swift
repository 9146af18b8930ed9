import ArgumentParser
import ExplainKit
import Foundation

struct Heatmap: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "heatmap", abstract: "Explain one image and write the heatmap as PNG.")

    @Argument(help: "The ONNX model file.") var model: String
    @Option(help: "A PNG or JPEG image.") var image: String
    @Option(help: "Preprocessing spec (JSON: grayscale, resize, center_crop, scale, mean, std, channel_order).") var preprocess: String?
    @Option(help: "Resize to H,W (overrides the spec).") var resize: String?
    @Option(name: .customLong("center-crop"), help: "Center crop H,W (overrides the spec).") var centerCrop: String?
    @Option(help: "Multiply 0…255 values by this (overrides the spec; default 1/255).") var scale: Double?
    @Option(help: "Per-channel mean, comma-separated (overrides the spec).") var mean: String?
    @Option(help: "Per-channel std, comma-separated (overrides the spec).") var std: String?
    @Flag(help: "Convert to one gray channel.") var grayscale = false
    @Flag(help: "Feed channels in BGR order.") var bgr = false
    @Option(help: "Method id.") var method: String
    @Option(name: .customLong("set"), help: "Method parameter key=value (repeatable).") var settings: [String] = []
    @Option(parsing: .unconditional, help: "max (default), all, or an output index.") var target: String = "max"
    @Flag(help: "Blend the heatmap over a grayscale copy of the input.") var overlay = false
    @Option(help: "Colormap: \(Colormap.allCases.map(\.rawValue).joined(separator: ", ")); or zennit:NAME / zennit:CODE for zennit's colors (\(ZennitPalette.builtIns.map(\.0).joined(separator: ", ")), or its color-map language).") var colormap: String = "seismic"
    @Option(help: "zennit colormaps: the palette's level (zennit imgify level; 1 = the full range).") var level: Double = 1
    @Option(help: "Channel reduction: sum, abs_sum, max_abs.") var reduce: String = "sum"
    @Option(help: "Output PNG.") var output: String

    func run() throws {
        try reportingErrors {
            guard let reduction = HeatmapRenderer.Reduction(rawValue: reduce) else {
                throw ExplainError(.invalidArgument, "unknown reduction '\(reduce)'; known: \(HeatmapRenderer.Reduction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard output.lowercased().hasSuffix(".png") else {
                throw ExplainError(.invalidArgument, "heatmaps are written as PNG: give an --output ending in .png (got '\(output)')")
            }
            let img = try Image.read(path: image)
            let imported = try ONNXImporter.load(path: model)
            var spec = try preprocess.map { try Preprocessing.load(path: $0) } ?? Preprocessing()
            if preprocess == nil, let declared = imported.graph.declaredInputShapes.first, declared.count == 4,
               let c = declared[1], let h = declared[2], let w = declared[3] {
                spec.grayscale = c == 1
                spec.resize = [h, w]
            }
            func numbers(_ text: String, _ name: String) throws -> [Double] {
                let v = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ExplainError(.invalidArgument, "--\(name) '\(text)' is not a list of numbers") }
                return v.map { $0! }
            }
            if let resize { spec.resize = try parseShape(resize) }
            if let centerCrop { spec.centerCrop = try parseShape(centerCrop) }
            if let scale { spec.scale = scale }
            if let mean { spec.mean = try numbers(mean, "mean") }
            if let std { spec.std = try numbers(std, "std") }
            if grayscale { spec.grayscale = true }
            if bgr { spec.channelOrder = "bgr" }
            let x = try spec.tensor(from: img)
            let analyzer = try registry().makeAnalyzer(method, model: ExplainableModel(graph: imported.graph, output: imported.logits),
                                                       options: try parseOptions(settings))
            let a = try analyzer.analyze(x, target: try parseTarget(target))
            let renderer = try HeatmapRenderer.named(colormap, level: level, reduction: reduction)
            var base: Image? = nil
            if overlay {
                let gray = try Preprocessing(grayscale: true, resize: [img.height, img.width], scale: 1).tensor(from: img)
                base = try HeatmapRenderer(reduction: .sum, colormap: .gray).render(gray)
            }
            try renderer.render(try a.values.sample(0), size: (img.width, img.height), overlay: base).writePNG(path: output)
            print("\(method): target \(a.targets?.first.map(String.init) ?? target), wrote \(output) (\(img.width)×\(img.height))")
        }
    }
}
