/// Which output neuron(s) an explanation starts from.
///
/// The output is the value at the model's output node (by default the logits before a final
/// Softmax). Selections follow iNNvestigate's neuron selection and Captum's `target`.
public enum Target: Sendable, Equatable, CustomStringConvertible {
    /// The arg-max of each sample's output (first index on ties).
    case max
    /// The same output index for every sample.
    case index(Int)
    /// One output index per sample.
    case indices([Int])
    /// Every output neuron at once (the seed is all ones: the explanation of their sum).
    case all
    /// An explicit seed, shaped like the output batch.
    case seed(Tensor)

    public var description: String {
        switch self {
        case .max: "max"
        case .index(let i): "index \(i)"
        case .indices(let i): "indices \(i)"
        case .all: "all"
        case .seed(let t): "seed \(Shape.format(t.shape))"
        }
    }

    /// The per-sample indices this target selects on an output batch (nil for `.all` and `.seed`).
    public func indices(for output: Tensor) throws -> [Int]? {
        guard output.rank >= 1, output.shape[0] >= 1 else {
            throw ExplainError.shape("the output \(Shape.format(output.shape)) has no batch dimension")
        }
        let n = output.shape[0]
        let per = output.count / n
        switch self {
        case .max:
            return output.withUnsafeBufferPointer { p in
                (0..<n).map { s in
                    var best = 0
                    for i in 1..<Swift.max(per, 1) where p[s * per + i] > p[s * per + best] { best = i }
                    return best
                }
            }
        case .index(let i):
            guard i >= 0 && i < per else {
                throw ExplainError.argument("target index \(i) is outside the \(per) outputs per sample")
            }
            return [Int](repeating: i, count: n)
        case .indices(let list):
            guard list.count == n else {
                throw ExplainError.argument("\(list.count) target indices given for a batch of \(n)")
            }
            for i in list where i < 0 || i >= per {
                throw ExplainError.argument("target index \(i) is outside the \(per) outputs per sample")
            }
            return list
        case .all, .seed:
            return nil
        }
    }

    /// How the seed's selected entries are filled.
    public enum SeedValue: Sendable {
        /// 1 at the selected neuron (gradient-based methods).
        case one
        /// The output value itself at the selected neuron (LRP: relevance starts as the target logit).
        case outputValue
    }

    /// The seed tensor (output-shaped) for an output batch, and the selected indices.
    public func seed(for output: Tensor, value: SeedValue = .one) throws -> (seed: Tensor, indices: [Int]?) {
        if case .seed(let t) = self {
            guard t.shape == output.shape else {
                throw ExplainError.shape("the seed has shape \(Shape.format(t.shape)), the output has \(Shape.format(output.shape))")
            }
            guard t.isFinite else { throw ExplainError.argument("the seed holds NaN or infinite values; give finite numbers") }
            return (value == .one ? t : try Tensor.broadcasting(t, output, MultiplyFunction.self), nil)
        }
        let picked = try indices(for: output)
        let n = output.shape[0], per = output.count / n
        let seed = Tensor(shape: output.shape) { p in
            output.withUnsafeBufferPointer { y in
                if let picked {
                    for i in 0..<p.count { p[i] = 0 }
                    for s in 0..<n {
                        let j = s * per + picked[s]
                        p[j] = value == .one ? 1 : y[j]
                    }
                } else {
                    for i in 0..<p.count { p[i] = value == .one ? 1 : y[i] }
                }
            }
        }
        return (seed, picked)
    }
}

extension Target {
    /// The selection for `count` altered copies of sample `s` of a batch (noise tunnels, path
    /// integrals): every copy explains what the sample explains — its resolved index (`resolved`,
    /// from `indices(for:)` on the unaltered batch), its row of an explicit seed, or all outputs.
    public func copies(ofSample s: Int, count: Int, resolved: [Int]?) throws -> Target {
        switch self {
        case .seed(let t):
            let row = try t.sample(s)
            return .seed(try Tensor.concatenateBatches([Tensor](repeating: row, count: count)))
        case .all:
            return .all
        case .max, .index, .indices:
            guard let resolved, resolved.indices.contains(s) else {
                throw ExplainError.argument("no resolved target for sample \(s)")
            }
            return .indices([Int](repeating: resolved[s], count: count))
        }
    }
}
