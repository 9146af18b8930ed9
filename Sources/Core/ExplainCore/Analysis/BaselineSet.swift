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
    /// Evaluate at `α x̃ + (1 − α) x0` in float, as Captum writes it (drawn by `captum`, `shap`).
    public var captumForm = false
    /// `1 − α` rounded from double (shap's GradientExplainer); nil: computed in float.
    public var complements: [Float]?

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
            if captumForm {
                let rest = complements?[c] ?? 1 - alpha
                for i in 0..<per { p[i] = alpha * noisy[c * per + i] + rest * pb[b + i] }
            } else {
                for i in 0..<per { p[i] = pb[b + i] + alpha * (noisy[c * per + i] - pb[b + i]) }
            }
        }
    }

    /// The draws of Captum's `GradientShap` / `LayerGradientShap` for a whole batch of `n` samples,
    /// `count` copies each, after `np.random.seed(seed)` and `torch.manual_seed(seed)`: the baseline
    /// of every copy by `np.random.choice(baselines, n · count)` (no draw with one baseline), the
    /// noise by one `torch.normal(0, stdev)` over all copies, then `α` by
    /// `np.random.uniform(0, 1, n · count)` rounded to float; copy k of sample s is copy s · count + k.
    public static func captum(batch input: Tensor, count: Int, baselines: Int, stdev: Double, seed: UInt32) throws -> [ShapDraws] {
        let n = input.shape.first ?? 1, per = input.count / Swift.max(n, 1), copies = n * count
        var numpy = MersenneTwister(seed: seed), torch = MersenneTwister(seed: seed)
        let chosen = baselines > 1 ? (0..<copies).map { _ in Int(numpy.interval(UInt64(baselines - 1))) } : [Int](repeating: 0, count: copies)
        var noise = [Float]()
        if stdev > 0 { noise = torch.torchStandardNormals(copies * per) }
        let alphas = (0..<copies).map { _ in Float(numpy.nextDouble()) }
        return (0..<n).map { s in
            var draws = ShapDraws(baselines: Array(chosen[(s * count)..<((s + 1) * count)]), alphas: Array(alphas[(s * count)..<((s + 1) * count)]),
                                  noisy: [Float](repeating: 0, count: count * per))
            input.withUnsafeBufferPointer { x in
                for k in 0..<count {
                    for i in 0..<per {
                        let e = noise.isEmpty ? 0 : noise[(s * count + k) * per + i] * Float(stdev)
                        draws.noisy[k * per + i] = x[s * per + i] + e
                    }
                }
            }
            draws.captumForm = true
            return draws
        }
    }

    /// The draws of shap's `GradientExplainer(model, background).shap_values(x, nsamples=count,
    /// rseed=seed)`: `np.random.seed(seed)`, then per sample and copy a background index by
    /// `np.random.choice` (no draw with one) and `t = np.random.uniform()`; the copy is evaluated at
    /// `t x + (1 − t) x0` with `t` and `1 − t` rounded from double to float, and no noise.
    public static func shap(batch input: Tensor, count: Int, baselines: Int, seed: UInt32) -> [ShapDraws] {
        let n = input.shape.first ?? 1, per = input.count / Swift.max(n, 1)
        var numpy = MersenneTwister(seed: seed)
        return (0..<n).map { s in
            var chosen = [Int](), alphas = [Float](), complements = [Float]()
            for _ in 0..<count {
                chosen.append(baselines > 1 ? Int(numpy.interval(UInt64(baselines - 1))) : 0)
                let t = numpy.nextDouble()
                alphas.append(Float(t))
                complements.append(Float(1 - t))
            }
            var draws = ShapDraws(baselines: chosen, alphas: alphas, noisy: input.withUnsafeBufferPointer { x in
                (0..<count).flatMap { _ in Array(x[(s * per)..<((s + 1) * per)]) }
            })
            draws.captumForm = true
            draws.complements = complements
            return draws
        }
    }

    /// The `rng` parameter of the GradientSHAP methods.
    public static let rngParameter = RandomDraws.parameter(.captum, "Captum's draws after np.random.seed(seed) and torch.manual_seed(seed) (baselines and α from numpy, noise from torch)")

    init(baselines: [Int], alphas: [Float], noisy: [Float]) {
        (self.baselines, self.alphas, self.noisy) = (baselines, alphas, noisy)
    }
}
