import ExplainCore
import Foundation

/// Blur Integrated Gradients (Xu, Venugopalan & Sundararajan 2020): integrated gradients along the
/// path of ever stronger Gaussian blurs of the input, from the input (σ = 0) to a fully blurred one,
/// as Google PAIR's `saliency` computes it:
///
///     R = −Σ_{i<n} (σ_{i+1} − σ_i) · ∂blur(x, σ)/∂σ |σ_i ⊙ ∇f_t(blur(x, σ_i))
///
/// with `σ_i = i·σ_max/n` (or `√(i·σ_max/n)`), the σ-derivative a forward difference with step
/// `grad_step`, and each channel of an `(N, C, H, W)` image blurred over its height and width
/// (`GaussianBlur`: scipy's `gaussian_filter`, zeros outside). No baseline: the blurred image is
/// the reference, so completeness holds only as σ_max blurs the image away.
public struct BlurIntegratedGradients: Analyzer {
    public let id = "blur_ig"
    public let model: ExplainableModel
    public let maxSigma: Double
    public let steps: Int
    public let gradStep: Double
    public let squareRoot: Bool
    public let batchSize: Int
    let gradient: BackpropAnalyzer

    public init(model: ExplainableModel, maxSigma: Double = 50, steps: Int = 100, gradStep: Double = 0.01, squareRoot: Bool = false,
                batchSize: Int? = nil) throws {
        guard maxSigma > 0, maxSigma.isFinite, steps >= 1, gradStep > 0, gradStep.isFinite else {
            throw ExplainError(.invalidArgument, "blur_ig needs max_sigma > 0, steps ≥ 1 and grad_step > 0 (got \(maxSigma), \(steps), \(gradStep))")
        }
        self.gradient = try BackpropAnalyzer(id: "gradient", model: model)
        self.model = gradient.model
        (self.maxSigma, self.steps, self.gradStep, self.squareRoot) = (maxSigma, steps, gradStep, squareRoot)
        self.batchSize = max(1, batchSize ?? steps)
    }

    /// `σ_0 … σ_n`.
    public var sigmas: [Double] {
        (0...steps).map { i in let s = Double(i) * maxSigma / Double(steps); return squareRoot ? s.squareRoot() : s }
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        guard input.rank == 4 else { throw ExplainError.shape("blur_ig blurs images (N, C, H, W), got \(Shape.format(input.shape))") }
        let (output, _, picked) = try model.cleanPass(input, target: target)
        let (n, channels, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let per = input.count / n, plane = height * width, sigma = sigmas
        var total = [Double](repeating: 0, count: input.count)
        var diagnostics: [String] = []
        for s in 0..<n {
            let sample = Array(input.scalars[(s * per)..<((s + 1) * per)])
            func blurred(_ sigma: Double) -> [Double] {
                (0..<channels).flatMap { c in GaussianBlur.apply(sample[(c * plane)..<((c + 1) * plane)], height: height, width: width, sigma: sigma) }
            }
            var points: [Int: [Double]] = [:]
            diagnostics += try gradient.analyzeCopies(of: s, in: input, count: steps, batchSize: batchSize, target: target, resolved: picked) { i, p in
                let b = blurred(sigma[i])
                points[i] = b
                for k in 0..<per { p[k] = Float(b[k]) }
            } use: { i, g in
                let here = points.removeValue(forKey: i) ?? blurred(sigma[i]), ahead = blurred(sigma[i] + gradStep)
                let w = sigma[i + 1] - sigma[i]
                for k in 0..<per { total[s * per + k] -= w * (ahead[k] - here[k]) / gradStep * Double(g[k]) }
            }
        }
        return Attribution(values: Tensor(shape: input.shape) { p in for k in 0..<p.count { p[k] = Float(total[k]) } },
                           output: output, targets: picked, diagnostics: Array(Set(diagnostics)).sorted())
    }
}

/// Separable Gaussian blur of one plane as `scipy.ndimage.gaussian_filter` computes it with
/// `mode="constant"` (zeros outside): the kernel `exp(−x²/2σ²)` normalised over
/// `|x| ≤ ⌊4σ + ½⌋`, along the rows' axis and then the columns' axis, in Double; σ = 0 is the identity.
public enum GaussianBlur {
    /// scipy's `correlate1d` with the symmetric kernel `k` at position `i`, summed as scipy sums it:
    /// the centre, then the pairs from the outermost in; `value` gives the boundary-extended input.
    @inline(__always)
    static func symmetricSum(_ k: [Double], at i: Int, _ value: (Int) -> Double) -> Double {
        let r = k.count / 2
        var acc = value(i) * k[r]
        for j in stride(from: r, through: 1, by: -1) { acc += (value(i - j) + value(i + j)) * k[r + j] }
        return acc
    }

    public static func kernel(_ sigma: Double) -> [Double] {
        let radius = Int(4 * sigma + 0.5)
        let w = (-radius...radius).map { Foundation.exp(-0.5 / (sigma * sigma) * Double($0 * $0)) }
        let sum = w.reduce(0, +)
        return w.map { $0 / sum }
    }

    public static func apply<C: Collection>(_ plane: C, height: Int, width: Int, sigma: Double) -> [Double] where C.Element == Float {
        apply(plane, height: height, width: width, sigmaY: sigma, sigmaX: sigma)
    }

    /// With a σ per axis (0: that axis untouched).
    public static func apply<C: Collection>(_ plane: C, height: Int, width: Int, sigmaY: Double, sigmaX: Double) -> [Double]
        where C.Element == Float {
        var rows = plane.map(Double.init)
        if sigmaY > 0 {
            let k = kernel(sigmaY), radius = k.count / 2, values = rows
            rows = [Double](repeating: 0, count: values.count)
            for y in 0..<height {
                for t in max(-radius, -y)...min(radius, height - 1 - y) {
                    let w = k[t + radius], source = (y + t) * width, target = y * width
                    for x in 0..<width { rows[target + x] += w * values[source + x] }
                }
            }
        }
        guard sigmaX > 0 else { return rows }
        let k = kernel(sigmaX), radius = k.count / 2
        var out = [Double](repeating: 0, count: rows.count)
        for y in 0..<height {
            for x in 0..<width {
                var acc = 0.0
                for t in max(-radius, -x)...min(radius, width - 1 - x) { acc += k[t + radius] * rows[y * width + x + t] }
                out[y * width + x] = acc
            }
        }
        return out
    }
}
