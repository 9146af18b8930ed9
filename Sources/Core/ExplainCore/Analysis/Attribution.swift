/// The result of an analyzer on a batch.
public struct Attribution: Sendable {
    /// Attribution values, shaped like the input batch (or like the explained layer for CAM methods).
    public var values: Tensor
    /// The model output at the explained node.
    public var output: Tensor
    /// The explained output index per sample (nil for `Target.all` or an explicit seed).
    public var targets: [Int]?
    /// Per sample: Σ values − what the method promises to conserve (completeness / conservation), if defined.
    public var delta: [Double]?
    /// Values captured at requested nodes during the backward pass (relevance, gradients), by node name.
    public var captured: [String: Tensor]
    /// Human-readable notes (nodes without a rule, clipping, …).
    public var diagnostics: [String]
    /// Secondary results by name, batch first (e.g. `intercepts`: LIME's per-sample intercepts).
    public var extras: [String: Tensor] = [:]

    public init(values: Tensor, output: Tensor, targets: [Int]? = nil, delta: [Double]? = nil,
                captured: [String: Tensor] = [:], diagnostics: [String] = []) {
        self.values = values
        self.output = output
        self.targets = targets
        self.delta = delta
        self.captured = captured
        self.diagnostics = diagnostics
    }

    /// Σ values per sample, in Double.
    public var sums: [Double] { values.sampleSums }

    /// The neurons this attribution explained, as a target (so that a follow-up analysis of altered
    /// inputs or models explains the same ones); `fallback` where none were picked (`.all`, a seed).
    public func sameTargets(or fallback: Target) -> Target { targets.map { .indices($0) } ?? fallback }
}

extension Tensor {
    /// The sum of each sample's elements (dimension 0 is the batch), accumulated in Double.
    public var sampleSums: [Double] {
        let n = max(shape.first ?? 1, 1)
        let per = count / n
        return withUnsafeBufferPointer { p in
            (0..<n).map { s in (0..<per).reduce(0.0) { $0 + Double(p[s * per + $1]) } }
        }
    }
}
