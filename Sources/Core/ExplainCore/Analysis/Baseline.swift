/// The reference input `x0` of reference-based methods (Integrated Gradients, DeepLIFT; later
/// occlusion and Shapley values): what "absent" means for a feature.
///
/// A baseline is one value for every element (`0`, the default of Captum and of the fixtures: the
/// all-zero input in the model's standardised input space), one value per channel (dimension 1,
/// e.g. a black image after normalisation), or a tensor shaped like one sample (shared by the
/// batch) or like the whole batch (one baseline per sample).
public struct Baseline: Sendable, CustomStringConvertible {
    enum Storage: Sendable {
        case channels([Float])
        case tensor(Tensor)
    }

    let storage: Storage

    /// The all-zero input.
    public static let zero = Baseline(storage: .channels([0]))

    /// The same value for every element.
    public static func value(_ v: Float) -> Baseline { Baseline(storage: .channels([v])) }

    /// One value per channel (dimension 1 of the input; a single value is used for every channel).
    public static func channels(_ values: [Float]) -> Baseline { Baseline(storage: .channels(values)) }

    /// A tensor shaped like one sample (with or without a leading batch dimension of 1), shared by
    /// every sample, or like the whole input batch (one baseline per sample).
    public static func tensor(_ t: Tensor) -> Baseline { Baseline(storage: .tensor(t)) }

    /// The documented `baseline` parameter of analyzers that take one.
    public static let parameter = Parameter("baseline", default: "0", "reference input x0: one value, one value per input channel (comma-separated), or file:B.npy (one sample or the batch)")

    /// Parses the text form: one number, or one number per channel separated by commas.
    public static func parse(_ text: String, key: String = "baseline") throws -> Baseline {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty else { throw ExplainError.argument("\(key) is empty: give a number or one number per channel (e.g. \(key)=0)") }
        return .channels(try parts.map { p in
            guard let v = Float(p), v.isFinite else {
                throw ExplainError.argument("\(key) = '\(text)': '\(p)' is not a finite number (give e.g. \(key)=0 or \(key)=-1.8,-1.7,-1.6)")
            }
            return v
        })
    }

    /// Reads the `baseline` option (default: zero): text, or an array given as `file:B.npy`.
    public static func from(_ options: Options, key: String = "baseline") throws -> Baseline {
        if let t = try options.tensor(key) { return .tensor(t) }
        guard let text = options.values[key] else { return .zero }
        return try parse(text, key: key)
    }

    public var description: String {
        switch storage {
        case .channels(let v): return v.map { "\($0)" }.joined(separator: ",")
        case .tensor(let t): return "tensor \(Shape.format(t.shape))"
        }
    }

    /// The baseline for `input` (batch first): a batch of 1 shared by every sample, or a batch of
    /// the input's size. Throws, naming both shapes, when the baseline does not fit the input.
    public func batch(like input: Tensor) throws -> Tensor {
        guard input.rank >= 1, input.shape[0] >= 1 else {
            throw ExplainError.shape("input \(Shape.format(input.shape)) needs a batch dimension with at least one sample")
        }
        var one = input.shape
        one[0] = 1
        switch storage {
        case .channels(let v):
            if v.count == 1 { return Tensor(shape: one, repeating: v[0]) }
            guard input.rank >= 2, input.shape[1] == v.count else {
                throw ExplainError.shape("the baseline has \(v.count) values and the input \(Shape.format(input.shape)) has "
                                         + "\(input.rank >= 2 ? input.shape[1] : 0) channels: give one value or one per channel")
            }
            let inner = one.dropFirst(2).reduce(1, *)
            return Tensor(shape: one) { p in
                for c in 0..<v.count { for i in 0..<inner { p[c * inner + i] = v[c] } }
            }
        case .tensor(let t):
            guard t.isFinite else { throw ExplainError.argument("the baseline holds NaN or infinite values; give finite numbers") }
            if t.shape == input.shape || t.shape == one { return t }
            if t.shape == Array(input.shape.dropFirst()) { return try t.reshaped(one) }
            throw ExplainError.shape("the baseline has shape \(Shape.format(t.shape)); the input \(Shape.format(input.shape)) needs "
                                     + "\(Shape.format(Array(input.shape.dropFirst()))), \(Shape.format(one)) or \(Shape.format(input.shape))")
        }
    }
}

extension Tensor {
    /// `self − baseline` per sample, where `baseline` is a batch of 1 (shared) or of this batch's size.
    public func minus(baseline x0: Tensor) throws -> Tensor {
        let n = shape.first ?? 1, per = count / Swift.max(n, 1)
        guard x0.count == count || x0.count == per else {
            throw ExplainError.shape("baseline \(Shape.format(x0.shape)) does not fit the input \(Shape.format(shape))")
        }
        return Tensor(shape: shape) { out in
            withUnsafeBufferPointer { px in
                x0.withUnsafeBufferPointer { pb in
                    for i in 0..<out.count { out[i] = px[i] - pb[x0.count == count ? i : i % per] }
                }
            }
        }
    }
}

extension Tensor {
    /// The points `x0 + α (x − x0)` on the straight path from the baseline to sample `s` of this
    /// batch, one per α, as a batch (`x0`: a batch of 1 or of this batch's size). Integrated
    /// Gradients' path, in the input's or in a layer's space.
    public func pathPoints(sample s: Int, baseline x0: Tensor, alphas: ArraySlice<Double>) throws -> Tensor {
        let n = Swift.max(shape.first ?? 1, 1), per = count / n
        guard (0..<n).contains(s), x0.count == per || x0.count == count else {
            throw ExplainError.shape("baseline \(Shape.format(x0.shape)) does not fit sample \(s) of \(Shape.format(shape))")
        }
        let b0 = x0.count == per ? 0 : s
        var pointsShape = shape
        pointsShape[0] = alphas.count
        return Tensor(shape: pointsShape) { p in
            withUnsafeBufferPointer { px in x0.withUnsafeBufferPointer { pb in
                for (c, alpha) in alphas.enumerated() {
                    let a = Float(alpha)
                    for i in 0..<per {
                        let base = pb[b0 * per + i]
                        p[c * per + i] = base + a * (px[s * per + i] - base)
                    }
                }
            } }
        }
    }
}
