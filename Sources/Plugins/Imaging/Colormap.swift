import ExplainCore

/// Colormaps for heatmaps: a value in [0, 1] (0.5 = zero relevance for the diverging maps) → RGB.
public enum Colormap: String, Sendable, CaseIterable {
    /// Diverging blue–white–red with dark ends (matplotlib `seismic`).
    case seismic
    /// Diverging blue–white–red (matplotlib `bwr`).
    case bwr
    /// Diverging cyan–blue–black–red–yellow (iNNvestigate `coldnhot`).
    case coldnhot
    /// Sequential black–red–yellow–white (matplotlib `hot`).
    case hot
    /// Sequential black–white.
    case gray
    /// Sequential perceptually uniform (matplotlib `viridis`, 9-point approximation).
    case viridis

    /// The colormap called `name`; an unknown name is an error listing the known ones.
    public static func named(_ name: String) throws -> Colormap {
        guard let c = Colormap(rawValue: name) else {
            throw ExplainError(.invalidArgument, "unknown colormap '\(name)'; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return c
    }

    /// Whether the map is centred at 0.5 (signed data).
    public var isDiverging: Bool { self == .seismic || self == .bwr || self == .coldnhot }

    /// Piecewise-linear control points (position, r, g, b) in [0, 1].
    var stops: [(Double, Double, Double, Double)] {
        switch self {
        case .seismic: [(0, 0, 0, 0.3), (0.25, 0, 0, 1), (0.5, 1, 1, 1), (0.75, 1, 0, 0), (1, 0.5, 0, 0)]
        case .bwr: [(0, 0, 0, 1), (0.5, 1, 1, 1), (1, 1, 0, 0)]
        case .coldnhot: [(0, 0, 1, 1), (0.25, 0, 0, 1), (0.5, 0, 0, 0), (0.75, 1, 0, 0), (1, 1, 1, 0)]
        case .hot: [(0, 0.0416, 0, 0), (0.365, 1, 0, 0), (0.746, 1, 1, 0), (1, 1, 1, 1)]
        case .gray: [(0, 0, 0, 0), (1, 1, 1, 1)]
        case .viridis: [(0, 0.267, 0.005, 0.329), (0.125, 0.283, 0.141, 0.458), (0.25, 0.254, 0.265, 0.530),
                        (0.375, 0.207, 0.372, 0.553), (0.5, 0.164, 0.471, 0.558), (0.625, 0.128, 0.567, 0.551),
                        (0.75, 0.135, 0.659, 0.518), (0.875, 0.478, 0.821, 0.318), (1, 0.993, 0.906, 0.144)]
        }
    }

    /// The color of `t` (clamped to [0, 1]; NaN maps to the midpoint).
    public func color(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let v = t.isNaN ? 0.5 : min(max(t, 0), 1)
        let s = stops
        var k = 0
        while k < s.count - 2 && v > s[k + 1].0 { k += 1 }
        let (p0, r0, g0, b0) = s[k], (p1, r1, g1, b1) = s[k + 1]
        let f = p1 > p0 ? (v - p0) / (p1 - p0) : 0
        func byte(_ a: Double, _ b: Double) -> UInt8 { UInt8(max(0, min(255, ((a + (b - a) * f) * 255).rounded()))) }
        return (byte(r0, r1), byte(g0, g1), byte(b0, b1))
    }
}
