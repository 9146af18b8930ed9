import ExplainCore
import Foundation

/// The gradient with every Relu's derivative replaced by that of a softplus with sharpness β,
/// `R_in = R_out ⊙ σ(β z)` (Dombrowski et al. 2019; zennit's `BetaSmooth` composite): a smooth
/// surrogate of the ReLU gradient, which it approaches as β grows.
public struct BetaSmoothRule: Rule {
    public let beta: Float
    public init(beta: Float) throws {
        guard beta > 0, beta.isFinite else { throw ExplainError.argument("beta = \(beta): give a sharpness > 0") }
        self.beta = beta
    }
    public var description: String { "beta_smooth(\(beta))" }
    public func reads(_ layer: any Layer) -> (inputs: Bool, output: Bool) { (true, false) }
    public func accepts(_ layer: any Layer) -> Bool { layer.kind == .relu }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let z = site.inputs[0], b = beta
        return [Tensor(shape: z.shape) { out in
            z.withUnsafeBufferPointer { pz in incoming.withUnsafeBufferPointer { pg in
                for i in 0..<out.count { out[i] = pg[i] / (1 + exp(-b * pz[i])) }
            } }
        }]
    }
}

/// Controls for evaluating explanations (iNNvestigate's `Random` and `Input` analyzers): random
/// values (standard normal noise times `stddev`, seeded) or the input itself, shaped like the input
/// and independent of the model's decision. A method should beat both in pixel flipping.
public struct ControlAnalyzer: SplitsItsOwnBatches {
    /// Which control.
    public enum Kind: String, Sendable {
        case random, input
    }

    public let id: String
    public let kind: Kind
    public let model: ExplainableModel
    public let stddev: Float
    public let seed: UInt64

    public init(kind: Kind, model: ExplainableModel, stddev: Float = 1, seed: UInt64 = 0) throws {
        guard stddev > 0, stddev.isFinite else { throw ExplainError.argument("stddev = \(stddev): give a value > 0") }
        self.id = kind.rawValue
        self.kind = kind
        self.model = model
        self.stddev = stddev
        self.seed = seed
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, _, picked) = try model.cleanPass(input, target: target)
        var values = input
        if kind == .random {
            var rng = SeededGenerator(seed: seed)
            let s = stddev
            values = Tensor(shape: input.shape) { p in
                rng.fillGaussian(p)
                for i in 0..<p.count { p[i] *= s }
            }
        }
        return Attribution(values: values, output: output, targets: picked)
    }
}
