import Foundation

/// Batch normalisation in inference mode over dimension 1:
/// `y = (x − mean) / sqrt(var + ε) · scale + bias`, i.e. a per-channel affine map `y = a·x + b`.
public struct BatchNorm: InPlaceLayer, InPlacePullback {
    public let scale: Tensor
    public let bias: Tensor
    public let mean: Tensor
    public let variance: Tensor
    public let epsilon: Float
    /// Per-channel multiplier `scale / sqrt(var + ε)`.
    public let multiplier: [Float]
    /// Per-channel offset `bias − mean · multiplier`.
    public let offset: [Float]

    public init(scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: Float = 1e-5) throws {
        let c = scale.count
        for (name, t) in [("bias", bias), ("mean", mean), ("variance", variance)] where t.count != c || t.rank != 1 {
            throw ExplainError.shape("batch-norm \(name) has shape \(Shape.format(t.shape)), expected (\(c))")
        }
        guard scale.rank == 1 else { throw ExplainError.shape("batch-norm scale must be 1-D, got \(Shape.format(scale.shape))") }
        guard epsilon >= 0 else { throw ExplainError.argument("batch-norm epsilon must be ≥ 0, got \(epsilon)") }
        if variance.scalars.contains(where: { !($0 + epsilon > 0) }) {
            throw ExplainError.argument("batch-norm variance + epsilon must be positive")
        }
        self.scale = scale
        self.bias = bias
        self.mean = mean
        self.variance = variance
        self.epsilon = epsilon
        var a = [Float](repeating: 0, count: c), b = a
        for i in 0..<c {
            // Computed in Double, then rounded, to stay within float32 of the exact value.
            let m = Double(scale.scalars[i]) / (Double(variance.scalars[i]) + Double(epsilon)).squareRoot()
            a[i] = Float(m)
            b[i] = Float(Double(bias.scalars[i]) - Double(mean.scalars[i]) * m)
        }
        self.multiplier = a
        self.offset = b
    }

    public var kind: LayerKind { .batchNorm }
    public var arity: Int { 1 }
    public var channels: Int { scale.count }
    public var parameterCount: Int { 4 * channels }
    public var pullbackReadsInputs: Bool { false }
    public var pullbackReadsOutput: Bool { false }
    public var description: String { "BatchNorm(\(channels), ε=\(epsilon))" }

    public func outputShape(_ inputShapes: [[Int]]) throws -> [Int] {
        try expectInputs(inputShapes, 1)
        let s = inputShapes[0]
        guard s.count >= 2, s[1] == channels else {
            throw ExplainError.shape("batch-norm over \(channels) channels cannot take input \(Shape.format(s))")
        }
        return s
    }

    func channelwise(_ x: Tensor, a: [Float], b: [Float]?) -> Tensor {
        let n = x.shape[0], c = channels
        let plane = n * c == 0 ? 0 : x.count / (n * c)
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in
                for s in 0..<n {
                    for ch in 0..<c {
                        let base = (s * c + ch) * plane
                        let m = a[ch], o = b?[ch] ?? 0
                        for i in 0..<plane { out[base &+ i] = px[base &+ i] * m + o }
                    }
                }
            }
        }
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        _ = try outputShape(inputs.map(\.shape))
        return channelwise(inputs[0], a: multiplier, b: offset)
    }

    public func pullbackInPlace(inputs: [Tensor], output: Tensor, cotangent: inout Tensor) throws {
        try expectCotangent(cotangent, output)
        try scaleInPlace(&cotangent, offset: false)
    }

    public func forwardInPlace(_ x: inout Tensor) throws {
        try scaleInPlace(&x, offset: true)
    }

    /// `x ← multiplier · x (+ offset)` per channel, in place.
    func scaleInPlace(_ x: inout Tensor, offset withOffset: Bool) throws {
        _ = try outputShape([x.shape])
        let n = x.shape[0], c = channels
        let plane = n * c == 0 ? 0 : x.count / (n * c)
        let (a, b) = (multiplier, offset)
        x.withUnsafeMutableBufferPointer { p in
            nonisolated(unsafe) let p = p
            // Planes (sample, channel) split over the cores when the tensor is large.
            Parallel.forEachRange(n * c, grain: max(1, (1 << 16) / max(1, plane))) { planes in
                for q in planes {
                    let base = q * plane, ch = q % c
                    let m = a[ch], o = withOffset ? b[ch] : 0
                    for i in 0..<plane { p[base &+ i] = p[base &+ i] * m + o }
                }
            }
        }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        return [channelwise(cotangent, a: multiplier, b: nil)]
    }
}
