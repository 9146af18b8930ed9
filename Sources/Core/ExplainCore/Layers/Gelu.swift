import Foundation

/// The exact GELU `x · Φ(x) = ½ x (1 + erf(x / √2))` (PyTorch's `nn.GELU()`; the ONNX importer
/// fuses the five nodes PyTorch exports it as — Div, Erf, Add, Mul, Mul — into this layer), or with
/// `tanh` its tanh approximation `½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))` (`nn.GELU(approximate=
/// "tanh")`, GPT-2's `gelu_new`; ONNX `Gelu` with `approximate="tanh"`, or the eight nodes of its
/// opset-17 export).
///
/// `Φ` is evaluated eight lanes at a time with Abramowitz & Stegun's 7.1.26 form of erf (absolute
/// error below 1.5·10⁻⁷, the approximation PyTorch's vectorised CPU `erf` uses too) and a
/// vectorised `exp`; for `x < 0`, `Φ(x) = ½ erfc(|x|/√2)` is computed without cancellation.
public struct Gelu: ElementwiseActivation {
    /// The tanh approximation instead of the exact erf form.
    public let tanh: Bool
    public init(tanh: Bool = false) { self.tanh = tanh }
    public var kind: LayerKind { .gelu }
    public var description: String { tanh ? "Gelu(tanh)" : "Gelu" }

    @inline(__always) public func value(_ x: Float) -> Float {
        tanh ? GeluKernel.tanhForm(GeluKernel.V(repeating: x)).value[0] : x * GeluKernel.cdf(GeluKernel.V(repeating: x))[0]
    }
    /// `Φ(x) + x φ(x)` (or the tanh form's derivative).
    @inline(__always) public func derivative(x: Float, y: Float) -> Float {
        tanh ? GeluKernel.tanhForm(GeluKernel.V(repeating: x)).slope[0] : GeluKernel.slope(GeluKernel.V(repeating: x))[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try expectInputs(inputs.map(\.shape), 1)
        let x = inputs[0]
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in GeluKernel.apply(px.baseAddress!, nil, out.baseAddress!, count: out.count, slope: false, tanh: tanh) }
        }
    }

    public func forwardInPlace(_ x: inout Tensor) throws {
        x.withUnsafeMutableBufferPointer { p in GeluKernel.apply(p.baseAddress!, nil, p.baseAddress!, count: p.count, slope: false, tanh: tanh) }
    }

    public func pullback(inputs: [Tensor], output: Tensor, cotangent: Tensor) throws -> [Tensor] {
        try expectCotangent(cotangent, output)
        let x = inputs[0]
        return [Tensor(shape: x.shape) { dx in
            x.withUnsafeBufferPointer { px in cotangent.withUnsafeBufferPointer { pg in
                GeluKernel.apply(px.baseAddress!, pg.baseAddress!, dx.baseAddress!, count: dx.count, slope: true, tanh: tanh)
            } }
        }]
    }

    public func pullbackInPlace(inputs: [Tensor], output: Tensor, cotangent: inout Tensor) throws {
        try expectCotangent(cotangent, output)
        inputs[0].withUnsafeBufferPointer { px in cotangent.withUnsafeMutableBufferPointer { pg in
            GeluKernel.apply(px.baseAddress!, pg.baseAddress!, pg.baseAddress!, count: pg.count, slope: true, tanh: tanh)
        } }
    }
}

/// Vectorised GELU pieces: `Φ` and `Φ + xφ` on eight lanes.
enum GeluKernel {
    typealias V = SIMD8<Float>

    /// `(Φ(x), e^(−x²/2))`.
    @inline(__always) static func cdfAndGaussian(_ x: V) -> (V, V) {
        let z = x.replacing(with: -x, where: x .< 0) * 0.70710678
        let t = 1 / (1 + 0.3275911 * z)
        var p = V(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let g = VectorMath.exp(-z * z)
        let tail = 0.5 * p * t * g                          // ½ erfc(|x|/√2)
        return ((1 - tail).replacing(with: tail, where: x .< 0), g)
    }

    @inline(__always) static func cdf(_ x: V) -> V { cdfAndGaussian(x).0 }

    /// `Φ(x) + x φ(x)`, the derivative of `x Φ(x)`.
    @inline(__always) static func slope(_ x: V) -> V {
        let (c, g) = cdfAndGaussian(x)
        return c + x * g * 0.39894228   // 1/√(2π)
    }

    /// The tanh form `½ x (1 + t)`, `t = tanh(u)`, `u = √(2/π) (x + 0.044715 x³)`, and its derivative
    /// `½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²)`; `tanh(u) = 1 − 2 / (e^{2u} + 1)`.
    @inline(__always) static func tanhForm(_ x: V) -> (value: V, slope: V) {
        let c: Float = 0.7978845608, a: Float = 0.044715
        let u = c * (x + a * x * x * x)
        let e = VectorMath.exp((2 * u).clamped(lowerBound: V(repeating: -40), upperBound: V(repeating: 40)))
        let t = 1 - 2 / (e + 1)
        let half = 0.5 * (1 + t)
        return (x * half, half + 0.5 * x * (1 - t * t) * c * (1 + 3 * a * x * x))
    }

    /// `out = x Φ(x)` (`slope` false), or `out = g · (Φ(x) + x φ(x))` (`slope` true), or the tanh
    /// form's; `out` may be `x` or `g`.
    static func apply(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>, count n: Int, slope: Bool,
                      tanh: Bool = false) {
        nonisolated(unsafe) let (x, g, out) = (x, g, out)
        Parallel.forEachRange(n) { range in
            var i = range.lowerBound
            func load(_ p: UnsafePointer<Float>, _ i: Int, _ m: Int) -> V {
                var v = V(repeating: 0)
                for l in 0..<m { v[l] = p[i + l] }
                return v
            }
            while i < range.upperBound {
                let m = min(8, range.upperBound - i)
                let xv = m == 8 ? UnsafeRawPointer(x + i).loadUnaligned(as: V.self) : load(x, i, m)
                let r: V
                if slope, let g {
                    r = (tanh ? tanhForm(xv).slope : Self.slope(xv)) * (m == 8 ? UnsafeRawPointer(g + i).loadUnaligned(as: V.self) : load(g, i, m))
                } else {
                    r = tanh ? tanhForm(xv).value : xv * cdf(xv)
                }
                if m == 8 { UnsafeMutableRawPointer(out + i).storeBytes(of: r, as: V.self) } else { for l in 0..<m { out[i + l] = r[l] } }
                i += m
            }
        }
    }
}
