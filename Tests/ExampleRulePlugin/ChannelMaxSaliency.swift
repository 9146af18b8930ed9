import ExplainCore

/// An analyzer written outside the framework (Docs/HowTo/WriteAnAnalyzer.md): Simonyan et al.'s
/// original saliency map, the largest absolute gradient over the channels of each pixel,
/// `M(i, j) = max_c |∂f_t/∂x_c(i, j)|`, shaped `(N, 1, H, W)`.
public struct ChannelMaxSaliency: Analyzer {
    public let id = "example.saliency_max"
    let gradient: BackpropAnalyzer

    public init(model: ExplainableModel) throws {
        gradient = try BackpropAnalyzer(id: "gradient", model: model)   // the plain gradient: no preset
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        guard input.rank == 4 else {
            throw ExplainError.shape("example.saliency_max needs images (N, C, H, W); got \(Shape.format(input.shape))")
        }
        var a = try gradient.analyze(input, target: target)   // checks the input, chunks large batches
        let (n, c, hw) = (input.shape[0], input.shape[1], input.shape[2] * input.shape[3])
        let g = a.values
        a.values = Tensor(shape: [n, 1, input.shape[2], input.shape[3]]) { out in
            g.withUnsafeBufferPointer { p in
                for s in 0..<n {
                    for i in 0..<hw {
                        var best: Float = 0
                        for ch in 0..<c { best = max(best, abs(p[(s * c + ch) * hw + i])) }
                        out[s * hw + i] = best
                    }
                }
            }
        }
        a.delta = nil   // no conservation property
        return a
    }
}

/// Registers the example analyzer (`example.saliency_max`, no parameters).
public enum ExampleAnalyzerPlugin: Plugin {
    public static func register(into registry: inout Registry) throws {
        try registry.register(AnalyzerEntry(
            id: "example.saliency_max", family: "example",
            summary: "Largest absolute gradient over the channels of each pixel",
            formula: "M(i, j) = max_c |∂f_t/∂x_c(i, j)|", reference: "Simonyan, Vedaldi & Zisserman 2014, section 3.1"
        ) { model, _, _ in try ChannelMaxSaliency(model: model) })
    }
}
