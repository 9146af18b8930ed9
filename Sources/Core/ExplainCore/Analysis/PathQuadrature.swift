import Foundation

/// The points `α_k ∈ [0, 1]` and weights `w_k` at which Integrated Gradients evaluates the
/// gradient along the straight path, `∫₀¹ g(α) dα ≈ Σ_k w_k g(α_k)` — the rules of Captum's
/// `IntegratedGradients(method=…)` with Captum's numbers, the textbook trapezoid rule, and PAIR's.
public struct PathQuadrature: Sendable, Equatable {
    /// The rule.
    public enum Method: String, Sendable, CaseIterable {
        /// α_k = (k − 1)/n, w = 1/n.
        case riemannLeft = "riemann_left"
        /// α_k = k/n, w = 1/n.
        case riemannRight = "riemann_right"
        /// α_k = (k − ½)/n, w = 1/n.
        case riemannMiddle = "riemann_middle"
        /// α_k = (k − 1)/(n − 1), w = 1/n, half at both ends — Captum's weights, which sum to
        /// (n − 1)/n rather than 1 (so the result is (n − 1)/n of the textbook rule's).
        case riemannTrapezoid = "riemann_trapezoid"
        /// α_k = (k − 1)/(n − 1), w = 1/(n − 1), half at both ends: the textbook trapezoid rule.
        case trapezoid = "trapezoid"
        /// Gauss–Legendre nodes and weights of order n mapped to [0, 1] (Captum's default).
        case gaussLegendre = "gausslegendre"
        /// α_k = (k − 1)/(n − 1) (numpy's `linspace(0, 1, n)`), w = 1/n — Google PAIR `saliency`'s
        /// IntegratedGradients (and XRAI's).
        case linspace = "linspace"
    }

    public let method: Method
    public let alphas: [Double]
    public let weights: [Double]

    public init(_ method: Method, steps n: Int) throws {
        guard n >= 1, n <= 100_000 else { throw ExplainError.argument("steps = \(n): give 1…100000 integration steps") }
        guard ![.riemannTrapezoid, .trapezoid].contains(method) || n >= 2 else {
            throw ExplainError.argument("\(method.rawValue) needs steps ≥ 2")
        }
        self.method = method
        let d = Double(n)
        switch method {
        case .riemannLeft: (alphas, weights) = ((0..<n).map { Double($0) / d }, Array(repeating: 1 / d, count: n))
        case .riemannRight: (alphas, weights) = ((1...n).map { Double($0) / d }, Array(repeating: 1 / d, count: n))
        case .riemannMiddle: (alphas, weights) = ((0..<n).map { (Double($0) + 0.5) / d }, Array(repeating: 1 / d, count: n))
        case .riemannTrapezoid, .trapezoid:
            let h = 1 / (d - 1), w = method == .trapezoid ? h : 1 / d
            alphas = (0..<n).map { Double($0) * h }
            weights = (0..<n).map { $0 == 0 || $0 == n - 1 ? w / 2 : w }
        case .gaussLegendre:
            let (x, w) = Self.gaussLegendre(n)
            (alphas, weights) = (x.map { (1 + $0) / 2 }, w.map { $0 / 2 })
        case .linspace:
            (alphas, weights) = ((0..<n).map { n == 1 ? 0 : Double($0) / (d - 1) }, Array(repeating: 1 / d, count: n))
        }
    }

    /// Nodes (ascending, in [−1, 1]) and weights of the n-point Gauss–Legendre rule: Newton's method
    /// on the Legendre polynomial P_n from the asymptotic estimate of each root, in Double.
    static func gaussLegendre(_ n: Int) -> (nodes: [Double], weights: [Double]) {
        var nodes = [Double](repeating: 0, count: n), weights = nodes
        for i in 0..<(n + 1) / 2 {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                // P_n(x) by the three-term recurrence, and P_n'(x).
                var p0 = 1.0, p1 = x
                for k in stride(from: 2, through: n, by: 1) {
                    let p2 = ((2 * Double(k) - 1) * x * p1 - (Double(k) - 1) * p0) / Double(k)
                    (p0, p1) = (p1, p2)
                }
                derivative = Double(n) * (x * p1 - p0) / (x * x - 1)
                let step = p1 / derivative
                x -= step
                if abs(step) < 1e-16 { break }
            }
            let w = 2 / ((1 - x * x) * derivative * derivative)
            nodes[i] = -x; nodes[n - 1 - i] = x
            weights[i] = w; weights[n - 1 - i] = w
        }
        if n % 2 == 1 { nodes[n / 2] = 0 }
        return (nodes, weights)
    }
}

extension PathQuadrature {
    /// The `method` option's parameter (Captum's `method`).
    public static let methodParameter = Parameter("method", default: "gausslegendre",
                                                  "quadrature: " + Method.allCases.map(\.rawValue).joined(separator: ", "))

    /// The quadrature named by the `method` option (default Gauss–Legendre, Captum's) with `steps`
    /// points (option `steps`, default `defaultSteps`), plus `extra` points (Layer Conductance
    /// evaluates n + 1 points of the rule for n steps).
    public static func from(_ options: Options, defaultSteps: Int = 50, extra: Int = 0) throws -> PathQuadrature {
        let name = options.string("method", default: Method.gaussLegendre.rawValue)
        guard let method = Method(rawValue: name) else {
            throw ExplainError(.invalidArgument, "method = '\(name)' is not a quadrature; use one of "
                               + Method.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let steps = try options.int("steps", default: defaultSteps, range: 1...100_000)
        return try PathQuadrature(method, steps: steps + extra)
    }
}
