import ExplainCore

/// The reference-reading rule of `Docs/HowTo/WriteARule.md` §6, compiled and tested: the ratio of
/// output to input differences at an element-wise activation (DeepLIFT's Rescale without its
/// fallback to the derivative).
public struct DifferenceRatioRule: Rule {
    public init() {}
    public var description: String { "difference_ratio" }
    public func accepts(_ layer: any Layer) -> Bool { layer is any ElementwiseActivation }
    public func propagate(_ incoming: Tensor, at site: Site) throws -> [Tensor] {
        let ref = try site.requireReference(for: self)
        let (z, y, z0, y0) = (site.inputs[0], site.output, ref.inputs[0], ref.output)
        let per = z0.count   // a shared baseline is a batch of one
        return [Tensor(shape: z.shape) { out in
            for i in 0..<out.count {
                let dz = z.scalars[i] - z0.scalars[i % per]
                out[i] = abs(dz) < 1e-10 ? 0 : incoming.scalars[i] * (y.scalars[i] - y0.scalars[i % per]) / dz
            }
        }]
    }
}
