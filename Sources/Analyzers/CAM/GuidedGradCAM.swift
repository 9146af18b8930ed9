import ExplainCore

/// Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation (any input-shaped analyzer,
/// `guided`) multiplied element-wise by the Grad-CAM map resized to the input — nearest neighbour
/// by default, as Captum's `GuidedGradCam`, or bilinear — and broadcast over the channels.
public struct GuidedGradCAM: Analyzer {
    public let id = "guided_gradcam"
    public let gradcam: CAMAnalyzer
    public let guided: any Analyzer
    public let bilinear: Bool

    public init(gradcam: CAMAnalyzer, guided: any Analyzer, bilinear: Bool = false) {
        self.gradcam = gradcam
        self.guided = guided
        self.bilinear = bilinear
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        guard input.rank == 4 else { throw ExplainError.shape("Guided Grad-CAM needs an image batch (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let cam = try gradcam.analyze(input, target: target)
        let fixed = cam.sameTargets(or: target)
        let g = try guided.analyze(input, target: fixed)
        guard g.values.shape == input.shape else { throw ExplainError.shape("\(guided.id) returned \(Shape.format(g.values.shape)); an input-shaped attribution is needed") }
        let (h, w) = (input.shape[2], input.shape[3])
        let map = bilinear ? try cam.values.resizedBilinear(height: h, width: w) : try cam.values.resizedNearest(height: h, width: w)
        let c = input.shape[1], plane = h * w
        let values = Tensor(shape: input.shape) { p in
            for i in 0..<p.count { p[i] = g.values.scalars[i] * map.scalars[(i / (c * plane)) * plane + i % plane] }
        }
        return Attribution(values: values, output: cam.output, targets: cam.targets, diagnostics: cam.diagnostics + g.diagnostics)
    }
}
