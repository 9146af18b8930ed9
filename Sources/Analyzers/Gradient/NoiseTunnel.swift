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

    public init(id: String, model: ExplainableModel, base: any Analyzer, combination: Combination,
                noiseLevel: Double = 0.1, samples: Int = 16, seed: UInt64 = 0, batchSize: Int? = nil) throws {
        guard noiseLevel >= 0, noiseLevel.isFinite else { throw ExplainError(.invalidArgument, "noise_level must be ≥ 0") }
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
        for s in 0..<n {
            let x = Array(input.scalars[(s * per)..<((s + 1) * per)])
            let sigma = Float(noiseLevel * Double((x.max() ?? 0) - (x.min() ?? 0)))
            diagnostics += try base.analyzeCopies(of: s, in: input, count: samples, batchSize: batchSize, target: target, resolved: picked) { _, p in
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
