import ExplainCore

/// Occlusion as zennit 0.5.1 computes it (`zennit.attribution.Occlusion`; `occlusion --set
/// style=zennit`): a window of `min(window_d, size_d)` elements per sample dimension is moved in
/// steps of `min(stride_d, size_d)` from every offset `0, stride, …` below the size — wrapping around
/// the far edge (zennit rolls the window, `torch.roll`) — and every element inside receives the
/// explained output on the occluded input, summed over the windows that contain it (not a drop, not
/// averaged). zennit's default occlusion function, `occlude_independent`, computes
/// `input · mask + ¬mask · fill`: it *keeps* the window and fills everything else (its docstring says
/// the opposite), so the output is the model's on the window alone, the rest at the baseline (zennit's
/// default fill: zeros) — reproduced as computed.
public struct RolledOcclusion: SplitsItsOwnBatches {
    public let id = "occlusion"
    public let scorer: Scorer
    public let baseline: Baseline
    /// Window and stride per sample dimension; one value applies to every dimension (zennit's int).
    public let window: [Int], steps: [Int]

    public init(model: ExplainableModel, window: [Int] = [8], stride: [Int] = [8], baseline: Baseline = .zero, batchSize: Int = 64) throws {
        guard !window.isEmpty, !stride.isEmpty, (window + stride).allSatisfy({ $0 >= 1 }) else {
            throw ExplainError.argument("window \(window) and strides \(stride): give sizes ≥ 1 (one number, or one per sample dimension)")
        }
        self.scorer = Scorer(model: model, batchSize: batchSize)
        self.baseline = baseline
        (self.window, self.steps) = (window, stride)
    }

    /// zennit's window and stride for a sample shape: one number for every dimension, clamped to it.
    func resolve(_ dims: [Int]) throws -> (window: [Int], stride: [Int]) {
        func expand(_ v: [Int], _ name: String) throws -> [Int] {
            let full = v.count == 1 ? [Int](repeating: v[0], count: dims.count) : v
            guard full.count == dims.count else {
                throw ExplainError.argument("\(name) has \(v.count) values; the samples have \(dims.count) dimensions \(Shape.format(dims)) (one value, or one per dimension)")
            }
            return zip(full, dims).map { min($0, $1) }
        }
        return (try expand(window, "window"), try expand(steps, "strides"))
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, seed, picked) = try scorer.model.cleanPass(input, target: target)
        let dims = Array(input.shape.dropFirst()), n = input.shape[0], per = input.count / max(n, 1)
        let (w, st) = try resolve(dims)
        // Offsets: every combination of 0, stride, … < size per dimension (row-major, as itertools.product).
        var offsets: [[Int]] = [[]]
        for (size, step) in zip(dims, st) { offsets = offsets.flatMap { o in stride(from: 0, to: size, by: step).map { o + [$0] } } }
        try GroupPerturbation.requireAffordable(offsets.count, per, what: "occluded copies")
        let windowCount = w.reduce(1, *)
        var rowMajor = [Int](repeating: 1, count: dims.count)
        for d in stride(from: dims.count - 2, through: 0, by: -1) { rowMajor[d] = rowMajor[d + 1] * dims[d + 1] }
        // The flat indices inside the window rolled to an offset.
        func members(_ offset: [Int]) -> [Int] {
            (0..<windowCount).map { j in
                var rest = j, index = 0
                for d in stride(from: dims.count - 1, through: 0, by: -1) {
                    let k = rest % w[d]
                    rest /= w[d]
                    index += ((offset[d] + k) % dims[d]) * rowMajor[d]
                }
                return index
            }
        }
        let windows = offsets.map(members)
        let x0 = try baseline.batch(like: input)
        var values = [Float](repeating: 0, count: input.count)
        for s in 0..<n {
            let b = x0.shape[0] == 1 ? 0 : s
            let scores = try input.withUnsafeBufferPointer { px in
                try x0.withUnsafeBufferPointer { pb in
                    try scorer.scores(count: windows.count, sampleShape: dims, seed: seed, sample: s) { k, out in
                        for i in 0..<per { out[i] = pb[b * per + i] }
                        for i in windows[k] { out[i] = px[s * per + i] }
                    }
                }
            }
            var sum = [Double](repeating: 0, count: per)
            for (k, members) in windows.enumerated() { for i in members { sum[i] += scores[k] } }
            for i in 0..<per { values[s * per + i] = Float(sum[i]) }
        }
        return Attribution(values: try Tensor(shape: input.shape, scalars: values), output: output, targets: picked)
    }
}
