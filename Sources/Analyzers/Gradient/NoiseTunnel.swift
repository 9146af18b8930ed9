import Foundation
import ExplainCore

/// SmoothGrad-style wrapper around any analyzer: explains noisy copies of each input and combines
/// the results (mean, mean of squares, or variance).
///
/// Noise: `x + ε`, `ε ~ N(0, σ²)` with `σ = noise_level · (max x − min x)` per sample (Smilkov et
/// al. 2017). The copies of a sample run as one batch (in chunks of `batch_size`). The target is
/// resolved on the clean input first, so every copy explains the same neuron.
public struct NoiseTunnel: SplitsItsOwnBatches {
    /// How the per-copy attributions are combined.
    public enum Combination: String, Sendable {
        /// SmoothGrad: `mean(a)`.
        case mean
        /// SmoothGrad²: `mean(a²)`.
        case squared
        /// VarGrad: `mean(a²) − mean(a)²` (population variance).
        case variance
    }

    public let id: String
    public let model: ExplainableModel
    public let base: any Analyzer
    public let combination: Combination
    public let noiseLevel: Double
    public let samples: Int
    public let seed: UInt64
    public let batchSize: Int
    /// An absolute standard deviation (Captum's `stdevs`) instead of `noiseLevel` × range.
    public let stdev: Double?
    /// Whose noise: ExplainKit's; Captum's after `torch.manual_seed(seed)` (`.torch`: one
    /// `torch.normal` over all copies of the batch, sample by sample); or zennit's SmoothGrad's
    /// (`.zennit`: one `torch.randn_like(batch)` per copy, the last copy without noise).
    public let draws: RandomDraws

    public init(id: String, model: ExplainableModel, base: any Analyzer, combination: Combination,
                noiseLevel: Double = 0.1, samples: Int = 16, seed: UInt64 = 0, batchSize: Int? = nil,
                stdev: Double? = nil, draws: RandomDraws = .explainkit) throws {
        guard noiseLevel >= 0, noiseLevel.isFinite else { throw ExplainError(.invalidArgument, "noise_level must be ≥ 0") }
        if let stdev { guard stdev >= 0, stdev.isFinite else { throw ExplainError(.invalidArgument, "stdev must be ≥ 0") } }
        if draws != .explainkit { _ = try RandomDraws.peerSeed(seed) }
        self.stdev = stdev
        self.draws = draws
        guard samples >= 1 else { throw ExplainError(.invalidArgument, "samples must be ≥ 1") }
        self.id = id
        self.model = model
        self.base = base
        self.combination = combination
        self.noiseLevel = noiseLevel
        self.samples = samples
        self.seed = seed
        self.batchSize = max(1, batchSize ?? samples)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (clean, _, picked) = try model.cleanPass(input, target: target)
        let n = input.shape[0], per = input.count / n
        var rng = SeededGenerator(seed: seed)
        var sum = [Double](repeating: 0, count: input.count), sumSq = sum
        var diagnostics: [String] = []
        // torch's draws, made up front: Captum's are one normal over all copies (copy k of sample s
        // at (s · samples + k) · per); zennit's one normal over the batch per copy (at (k · n + s) · per).
        var torchNoise = [Float]()
        if draws == .torch || draws == .zennit {
            let total = n * samples * per, call = draws == .torch ? total : n * per
            guard total <= 1 << 28 else {
                throw ExplainError(.tooLarge, "rng = \(draws.rawValue) draws the noise of all \(total) copied values at once: lower samples or the batch")
            }
            var mt = MersenneTwister(seed: try RandomDraws.peerSeed(seed))
            torchNoise = draws == .torch ? mt.torchStandardNormals(total) : (0..<max(samples - 1, 0)).flatMap { _ in mt.torchStandardNormals(call) }
        }
        for s in 0..<n {
            let x = Array(input.scalars[(s * per)..<((s + 1) * per)])
            let sigma = Float(stdev ?? noiseLevel * Double((x.max() ?? 0) - (x.min() ?? 0)))
            diagnostics += try base.analyzeCopies(of: s, in: input, count: samples, batchSize: batchSize, target: target, resolved: picked) { k, p in
                switch draws {
                case .torch:
                    let start = (s * samples + k) * per
                    for i in 0..<per { p[i] = x[i] + torchNoise[start + i] * sigma }
                    return
                case .zennit:
                    guard k < samples - 1 else { for i in 0..<per { p[i] = x[i] }; return }
                    let start = (k * n + s) * per
                    for i in 0..<per { p[i] = x[i] + torchNoise[start + i] * sigma }
                    return
                default: break
                }
                // Per copy, so that the noise does not depend on the batch size.
                rng.fillGaussian(p)
                for i in 0..<per { p[i] = x[i] + sigma * p[i] }
            } use: { _, p in
                for i in 0..<per {
                    let v = Double(p[i])
                    sum[s * per + i] += v
                    sumSq[s * per + i] += v * v
                }
            }
        }
        let k = Double(samples)
        let values = Tensor(shape: input.shape) { p in
            for i in 0..<p.count {
                let mean = sum[i] / k, meanSq = sumSq[i] / k
                switch combination {
                case .mean: p[i] = Float(mean)
                case .squared: p[i] = Float(meanSq)
                case .variance: p[i] = Float(max(0, meanSq - mean * mean))
                }
            }
        }
        return Attribution(values: values, output: clean, targets: picked, diagnostics: Array(Set(diagnostics)).sorted())
    }
}
