import Foundation
import ExplainCore

/// Captum's `KernelShap` draw for draw (`kernel_shap --set rng=captum`), after
/// `torch.manual_seed(seed)`, one stream across the batch (Captum explains the examples one by one).
///
/// Per example with M groups: the all-ones and the all-zeros coalition, then for each further
/// sample a size k from `Categorical(p)`, `p_k ∝ (M − 1) / (k (M − k))` for k = 1 … M − 1
/// (`torch.multinomial` draws one category as the arg-max of `p / q`, `q` = `exponential_()` of M
/// floats), then `torch.randn(1, M)` and the k largest normals present (`kthvalue` threshold).
/// After each example Captum builds its surrogate, whose `nn.Linear(M, 1)` initialisation and
/// DataLoader seed take M + 1 and 2 further 32-bit draws. The surrogate is scikit-learn's
/// `LinearRegression` with weights 1 and 10⁶ for the all-ones and all-zeros coalitions; its
/// coefficients are the attributions.
enum CaptumKernelShap {
    /// Captum's default `n_samples`.
    static let defaultSamples = 25
    /// Captum's weight of the all-ones and all-zeros coalitions (`KernelShap.inf_weight`).
    static let endpointWeight = 1e6
    /// Singular values at most this share of the largest count as zero in the fit (so fewer samples
    /// than groups give the minimum-norm solution).
    static let cutoff = 1e-10

    /// The coalitions of one example: all ones, all zeros, then `samples − 2` random ones (fewer
    /// when `samples < 2`, as Captum takes the first `samples` of its generator).
    static func coalitions(groups m: Int, samples: Int, rng: inout MersenneTwister) -> [[Bool]] {
        var rows = [[Bool](repeating: true, count: m), [Bool](repeating: false, count: m)]
        // p_k in float as torch computes it, normalised by its sum (Categorical).
        var p = (0..<m).map { k -> Float in k == 0 ? 0 : Float(m - 1) / (Float(k) * (Float(m) - Float(k))) }
        let total = p.reduce(0, +)
        p = p.map { $0 / total }
        for _ in 0..<max(samples - 2, 0) {
            let q = rng.torchExponentials(m)
            var size = 0, best = -Float.infinity
            for k in 0..<m where p[k] / q[k] > best { best = p[k] / q[k]; size = k }
            let normals = rng.torchStandardNormals(m)
            let threshold = normals.sorted()[m - size - 1]
            rows.append(normals.map { $0 > threshold })
        }
        return Array(rows.prefix(max(samples, 0)))
    }

    /// The draws Captum makes after an example's samples, before the next example's.
    static func skipSurrogateInitialisation(groups m: Int, rng: inout MersenneTwister) {
        for _ in 0..<(m + 3) { _ = rng.nextUInt32() }
    }

    /// scikit-learn's `LinearRegression` with sample weights: weighted means subtracted, rows scaled
    /// by `√w`, minimum-norm least squares; returns the coefficients.
    static func fit(_ z: [[Bool]], _ y: [Double], groups m: Int) throws -> [Double] {
        let w = z.map { row -> Double in
            let k = row.filter { $0 }.count
            return k == 0 || k == m ? endpointWeight : 1
        }
        let total = w.reduce(0, +)
        var zbar = [Double](repeating: 0, count: m)
        for (row, wi) in zip(z, w) { for j in 0..<m where row[j] { zbar[j] += wi } }
        zbar = zbar.map { $0 / total }
        let ybar = zip(y, w).reduce(0.0) { $0 + $1.0 * $1.1 } / total
        var a = [Double](repeating: 0, count: z.count * m), b = [Double](repeating: 0, count: z.count)
        for (r, row) in z.enumerated() {
            let s = w[r].squareRoot()
            for j in 0..<m { a[r * m + j] = ((row[j] ? 1 : 0) - zbar[j]) * s }
            b[r] = (y[r] - ybar) * s
        }
        return try LAPACK.minimumNormLeastSquares(a, rows: z.count, cols: m, b, rcond: cutoff)
    }
}

extension ShapleyValues {
    /// Sample `s`'s values with Captum's draws (continuing `rng`, which the whole batch shares).
    func captumKernelValues(sample s: Int, input: Tensor, setup: GroupPerturbation.Setup, samples: Int,
                            rng: inout MersenneTwister) throws -> [Double] {
        let g = setup.groups, m = g.count[s]
        guard m >= 2 else {
            throw ExplainError.argument("rng = captum: Captum's KernelShap needs at least 2 groups (sample \(s) has \(m)); give more groups")
        }
        guard g.count.allSatisfy({ $0 == m }) else {
            throw ExplainError.argument("rng = captum: Captum numbers the groups once for the batch, so every sample needs the same groups 0…M−1 (group counts \(g.count))")
        }
        try GroupPerturbation.requireAffordable(samples, m, what: "coalitions")
        let z = CaptumKernelShap.coalitions(groups: m, samples: samples, rng: &rng)
        CaptumKernelShap.skipSurrogateInitialisation(groups: m, rng: &rng)
        let y = try perturbation.scorer.coalitionScores(z, sample: s, input: input, baseline: setup.baseline, background: setup.background,
                                                        groups: g, seed: setup.seed)
        return try CaptumKernelShap.fit(z, y, groups: m)
    }
}
