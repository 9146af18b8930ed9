import ExplainCore

/// Infidelity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity of Explanations"; Captum
/// `infidelity`): how far the attribution's prediction of the output change under random
/// perturbations `I` is from the real change,
/// `INFD = mean_k (Iₖᵀ Φ − (f_t(x) − f_t(x − Iₖ)))²`, with `Iₖ ~ N(0, σ²)` per element. With
/// `normalize`, Φ is first scaled by the least-squares factor `β = Σ IᵀΦ·Δf / Σ (IᵀΦ)²`.
/// Lower is better; 0 for the gradient of an affine model.
public struct Infidelity: Sendable {
    public let samples: Int
    public let sigma: Double
    public let normalize: Bool
    public let seed: UInt64

    public init(samples: Int = 10, sigma: Double = 0.003, normalize: Bool = false, seed: UInt64 = 0) throws {
        guard samples >= 1, samples <= 1_000_000 else { throw ExplainError.argument("samples = \(samples): give 1…1000000") }
        guard sigma > 0, sigma.isFinite else { throw ExplainError.argument("sigma must be > 0") }
        self.samples = samples
        self.sigma = sigma
        self.normalize = normalize
        self.seed = seed
    }

    /// Per sample of `input`: the infidelity of `attribution` (input-shaped) for `target`.
    public func evaluate(model: ExplainableModel, input: Tensor, attribution: Tensor, target: Target, batchSize: Int = 64) throws -> [Double] {
        // IᵀΦ needs a value per input element: a one-channel map is not spread.
        let (scorer, seedTensor, _) = try Scorer.checked("infidelity", model: model, input: input, attribution: attribution, target: target,
                                                         batchSize: batchSize, spreading: false)
        let n = input.shape[0], per = input.count / n
        var rng = SeededGenerator(seed: seed)
        var result = [Double]()
        for s in 0..<n {
            // The perturbations, drawn once (the same ones give f(x − I) and IᵀΦ).
            var noise = [Float](repeating: 0, count: samples * per)
            noise.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
            let sd = Float(sigma)
            let shifted = try input.withUnsafeBufferPointer { px in
                try scorer.scores(count: samples + 1, sampleShape: Array(input.shape.dropFirst()), seed: seedTensor, sample: s) { j, out in
                    for i in 0..<per { out[i] = j == 0 ? px[s * per + i] : px[s * per + i] - sd * noise[(j - 1) * per + i] }
                }
            }
            let predicted = (0..<samples).map { j in (0..<per).reduce(0.0) { $0 + Double(sd * noise[j * per + $1]) * Double(attribution.scalars[s * per + $1]) } }
            let actual = (0..<samples).map { shifted[0] - shifted[1 + $0] }
            var beta = 1.0
            if normalize {
                let den = predicted.reduce(0.0) { $0 + $1 * $1 }
                beta = den > 0 ? zip(predicted, actual).reduce(0.0) { $0 + $1.0 * $1.1 } / den : 0
            }
            result.append(zip(predicted, actual).reduce(0.0) { $0 + (beta * $1.0 - $1.1) * (beta * $1.0 - $1.1) } / Double(samples))
        }
        return result
    }
}

/// Max-sensitivity (Yeh et al. 2019; Captum `sensitivity_max`): the largest relative change of the
/// explanation when the input moves by uniform noise in `[−radius, radius]` per element,
/// `max_k ‖Φ(x + δₖ) − Φ(x)‖ / ‖Φ(x)‖` (Frobenius norms), and avg-sensitivity (Quantus
/// `AvgSensitivity`), the mean of the same ratios over the perturbations. Lower is more robust; 0
/// for the gradient of an affine model.
public struct SensitivityMax: Sendable {
    public let samples: Int
    public let radius: Double
    public let seed: UInt64

    public init(samples: Int = 10, radius: Double = 0.02, seed: UInt64 = 0) throws {
        guard samples >= 1, samples <= 100_000 else { throw ExplainError.argument("samples = \(samples): give 1…100000") }
        guard radius > 0, radius.isFinite else { throw ExplainError.argument("radius must be > 0") }
        self.samples = samples
        self.radius = radius
        self.seed = seed
    }

    /// Per sample of `input`: the max-sensitivity of `analyzer` (explaining `target`).
    public func evaluate(_ analyzer: any Analyzer, input: Tensor, target: Target) throws -> [Double] {
        try evaluateBoth(analyzer, input: input, target: target).max
    }

    /// Per sample: the largest and the mean ratio over the perturbations (max- and avg-sensitivity).
    public func evaluateBoth(_ analyzer: any Analyzer, input: Tensor, target: Target) throws -> (max: [Double], mean: [Double]) {
        let base = try analyzer.analyze(input, target: target)
        let fixed = base.sameTargets(or: target)
        let n = input.shape[0], values = base.values.count / n
        var rng = SeededGenerator(seed: seed)
        var worst = [Double](repeating: 0, count: n), total = [Double](repeating: 0, count: n)
        let norms = (0..<n).map { s in (0..<values).reduce(0.0) { $0 + Double(base.values.scalars[s * values + $1]) * Double(base.values.scalars[s * values + $1]) }.squareRoot() }
        for _ in 0..<samples {
            let moved = Tensor(shape: input.shape) { p in
                for i in 0..<p.count { p[i] = input.scalars[i] + Float((2 * (Double(rng.next() >> 11) * 0x1.0p-53) - 1) * radius) }
            }
            let a = try analyzer.analyze(moved, target: fixed)
            guard a.values.shape == base.values.shape else { throw ExplainError.shape("the explanation changed shape under perturbation") }
            for s in 0..<n {
                let d = (0..<values).reduce(0.0) { acc, i in
                    let diff = Double(a.values.scalars[s * values + i]) - Double(base.values.scalars[s * values + i])
                    return acc + diff * diff
                }.squareRoot()
                let ratio = norms[s] > 0 ? d / norms[s] : d
                worst[s] = max(worst[s], ratio)
                total[s] += ratio
            }
        }
        return (worst, total.map { $0 / Double(samples) })
    }
}
