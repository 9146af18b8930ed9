/// A set of reference inputs (a "background" distribution) for the SHAP-style methods: one or more
/// samples shaped like one input sample, or a single value for every element.
public struct BaselineSet: Sendable {
    /// `(B, …)`: B baselines of one sample's shape.
    public let samples: Tensor

    /// The baselines of the `baselines` option: `file:B.npy` with B samples (or one sample's shape),
    /// else a number (default 0) for a single baseline.
    public init(from options: Options, like input: Tensor) throws {
        var one = input.shape
        one[0] = 1
        if let t = try options.tensor("baselines") {
            if t.shape == Array(input.shape.dropFirst()) { samples = try t.reshaped(one); return }
            guard t.rank == input.rank, Array(t.shape.dropFirst()) == Array(input.shape.dropFirst()), t.shape[0] >= 1 else {
                throw ExplainError.shape("baselines \(Shape.format(t.shape)): give (B, \(input.shape.dropFirst().map(String.init).joined(separator: ", "))) — B reference samples shaped like the input's")
            }
            try t.requireFinite("the baselines")
            samples = t
        } else {
            samples = try Baseline.parse(options.string("baselines", default: "0"), key: "baselines").batch(like: try input.samples(0..<1))
        }
    }

    public var count: Int { samples.shape[0] }
    public static let parameter = Parameter("baselines", default: "0", "file:B.npy: reference samples (the background distribution), or one value")
}

extension BaselineSet {
    /// The SHAP methods' completeness gap, Σ R − Σ seed ⊙ (f(x) − mean_k f(x0_k)), per sample of `a`.
    public func completenessDelta(_ a: Attribution, seed: Tensor, model: ExplainableModel) throws -> [Double] {
        let reference = try BatchChunks.predict(model.graph, samples, output: model.output)
        let k = reference.count / count
        let mean = (0..<k).map { j in (0..<count).reduce(0.0) { $0 + Double(reference.scalars[$1 * k + j]) } / Double(count) }
        let n = a.output.shape[0]
        return (0..<n).map { s in
            let change = (0..<k).reduce(0.0) { $0 + Double(seed.scalars[s * k + $1]) * (Double(a.output.scalars[s * k + $1]) - mean[$1]) }
            return a.sums[s] - change
        }
    }
}

extension BaselineSet {
    /// Sample `s` of `input` repeated against every baseline of the set, in batches of at most
    /// `batchSize` copies (DeepLIFT-SHAP and its layer form): `body(analyzer, copies, target, m)`
    /// gets `analyzer` with the batch's baselines as its per-sample baseline, m copies of the
    /// sample, and the target for the copies.
    public func againstEach(sample s: Int, of input: Tensor, analyzer: BackpropAnalyzer, batchSize: Int, target: Target,
                            resolved: [Int]?, _ body: (BackpropAnalyzer, Tensor, Target, Int) throws -> Void) throws {
        let per = input.count / Swift.max(input.shape.first ?? 1, 1)
        let size = BatchChunks.copiesPerBatch(batchSize, elementsPerCopy: per, graph: analyzer.model.graph)
        let sample = try input.sample(s)
        for start in stride(from: 0, to: count, by: size) {
            let m = Swift.min(size, count - start)
            var chunk = analyzer
            chunk.baseline = .tensor(try samples.samples(start..<(start + m)))
            try body(chunk, try Tensor.concatenateBatches([Tensor](repeating: sample, count: m)),
                     try target.copies(ofSample: s, count: m, resolved: resolved), m)
        }
    }
}

/// The random draws of GradientSHAP for one sample (Captum `GradientShap`, `LayerGradientShap`):
/// per copy a baseline index, `α ~ U(0, 1)` and the input with Gaussian noise `ε ~ N(0, stdev²)`.
public struct ShapDraws: Sendable {
    /// Per copy: the index of its baseline in the set.
    public var baselines: [Int]
    /// Per copy: the position on the path from the baseline to the noisy input.
    public var alphas: [Float]
    /// `count` noisy copies of the sample, one after the other.
    public var noisy: [Float]

    /// Draws `count` copies of sample `s` of `input` against a set of `baselines` references.
    public init(sample s: Int, of input: Tensor, count: Int, baselines: Int, stdev: Double, using rng: inout SeededGenerator) {
        let per = input.count / Swift.max(input.shape.first ?? 1, 1)
        self.baselines = (0..<count).map { _ in Int(rng.next() % UInt64(Swift.max(baselines, 1))) }
        self.alphas = (0..<count).map { _ in Float(Double(rng.next() >> 11) * 0x1.0p-53) }
        var noisy = [Float](repeating: 0, count: count * per)
        noisy.withUnsafeMutableBufferPointer { p in
            if stdev > 0 { rng.fillGaussian(p) }
            input.withUnsafeBufferPointer { x in
                for c in 0..<count { for i in 0..<per { p[c * per + i] = x[s * per + i] + Float(stdev) * p[c * per + i] } }
            }
        }
        self.noisy = noisy
    }

    /// Writes copy `c`'s evaluation point `x0 + α (x + ε − x0)` (its baseline from `set`) into `p`
    /// (one sample's size).
    public func point(_ c: Int, baselines set: BaselineSet, into p: UnsafeMutableBufferPointer<Float>) {
        let per = p.count, b = baselines[c] * per, alpha = alphas[c]
        set.samples.withUnsafeBufferPointer { pb in
            for i in 0..<per { p[i] = pb[b + i] + alpha * (noisy[c * per + i] - pb[b + i]) }
        }
    }
}
