import ExplainCore

/// shap's `KernelExplainer`, draw for draw (`kernel_shap --set rng=numpy`): the coalitions it
/// enumerates and samples — whole coalition sizes while the budget covers them, in
/// `itertools.combinations` order with each complement next, then sizes drawn by
/// `np.random.choice` and members by `np.random.permutation`, repeats adding weight — and its
/// solve: optionally the first `r` features of least-angle regression on the efficiency-augmented
/// problem (`l1_reg="num_features(r)"`, shap's default with r = 10), then the weighted least squares
/// with the last selected feature eliminated by efficiency. Only groups that can change the output
/// take part (shap's `varying_groups`, as in `permutation_shap`).
enum ShapKernel {
    /// The coalitions over `m ≥ 2` groups and their kernel weights for a budget of `samples`
    /// coalitions (nil: 2m + 2048), drawing with `rng`.
    static func draw(groups m: Int, samples: Int?, rng: inout MersenneTwister) -> (coalitions: [[Bool]], weights: [Double]) {
        var budget = samples ?? 2 * m + 2048
        if m <= 30 { budget = min(budget, (1 << m) - 2) }
        let sizes = m / 2, paired = (m - 1) / 2   // ⌈(m − 1)/2⌉ sizes, the first ⌊(m − 1)/2⌋ with complements
        var kernel = (1...max(sizes, 1)).map { k in Double(m - 1) / (Double(k) * Double(m - k)) }
        for k in 0..<paired { kernel[k] *= 2 }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        var coalitions = [[Bool]](), weights = [Double]()
        var left = Double(budget), full = 0, remaining = kernel
        for k in 1...max(sizes, 1) {
            let count = binomial(m, k) * (k <= paired ? 2 : 1)
            guard left * remaining[k - 1] / count >= 1 - 1e-8 else { break }
            full += 1
            left -= count
            if remaining[k - 1] < 1 { let share = remaining[k - 1]; remaining = remaining.map { $0 / (1 - share) } }
            let w = kernel[k - 1] / binomial(m, k) / (k <= paired ? 2 : 1)
            for subset in KernelSHAPSampler.subsets(m, k) {
                coalitions.append(subset); weights.append(w)
                if k <= paired { coalitions.append(subset.map { !$0 }); weights.append(w) }
            }
        }
        let fixed = coalitions.count
        guard full != sizes else { return (coalitions, weights) }
        var draw = kernel
        for k in 0..<paired { draw[k] /= 2 }
        draw = Array(draw[full...])
        let drawTotal = draw.reduce(0, +)
        draw = draw.map { $0 / drawTotal }
        var samplesLeft = budget - fixed
        let picks = rng.choice(draw.count, size: 4 * max(samplesLeft, 0), p: draw)
        var seen = [[Bool]: Int](), position = 0
        while samplesLeft > 0 && position < picks.count {
            let k = picks[position] + full + 1
            position += 1
            var mask = [Bool](repeating: false, count: m)
            for i in rng.permutation(m).prefix(k) { mask[i] = true }
            let at = seen[mask]
            if let at { weights[at] += 1 } else {
                seen[mask] = coalitions.count
                samplesLeft -= 1
                coalitions.append(mask); weights.append(1)
            }
            if samplesLeft > 0 && k <= paired {
                if let at { weights[at + 1] += 1 } else {
                    samplesLeft -= 1
                    coalitions.append(mask.map { !$0 }); weights.append(1)
                }
            }
        }
        let drawn = weights[fixed...].reduce(0, +), share = kernel[full...].reduce(0, +)
        if drawn > 0 { for i in fixed..<weights.count { weights[i] *= share / drawn } }
        return (coalitions, weights)
    }

    /// C(n, k) as a Double, exactly while it fits 53 bits.
    static func binomial(_ n: Int, _ k: Int) -> Double {
        var r: UInt64 = 1
        for i in 0..<min(k, n - k) {
            let (product, overflow) = r.multipliedReportingOverflow(by: UInt64(n - i))
            if overflow { return (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) } }
            r = product / UInt64(i + 1)
        }
        return Double(r)
    }

    /// φ over the groups from the coalitions' values `v`, `fx = v(all)`, `f0 = v(∅)`: with
    /// `l1Features` only the first that many features of least-angle regression get values.
    static func solve(coalitions z: [[Bool]], weights: [Double], values v: [Double], fx: Double, f0: Double,
                      l1Features: Int?) throws -> [Double] {
        guard let m = z.first?.count, m >= 1 else { return [] }
        let difference = fx - f0
        let adjusted = v.map { $0 - f0 }
        var selected = Array(0..<m)
        if let r = l1Features {
            // The problem with efficiency as soft rows: each coalition twice, weighted by (m − |z|) and |z|.
            let size = z.map { Double($0.count { $0 }) }
            let root0 = zip(weights, size).map { ($0 * (Double(m) - $1)).squareRoot() }, root1 = zip(weights, size).map { ($0 * $1).squareRoot() }
            let y = zip(adjusted, root0).map { $0 * $1 } + zip(adjusted, root1).map { ($0 - difference) * $1 }
            let columns = (0..<m).map { j in
                z.indices.map { root0[$0] * (z[$0][j] ? 1 : 0) } + z.indices.map { root1[$0] * (z[$0][j] ? 0 : -1) }
            }
            selected = LeastAngle.activeSet(columns: columns, y: y, maxIterations: r)
        }
        var phi = [Double](repeating: 0, count: m)
        guard let last = selected.last else { return phi }
        let rest = Array(selected.dropLast())
        let rows = z.map { row in rest.map { (row[$0] ? 1.0 : 0) - (row[last] ? 1 : 0) } }
        let targets = zip(z, adjusted).map { row, value in value - (row[last] ? difference : 0) }
        var beta = [Double]()
        if !rest.isEmpty {
            let (a, b) = LinearSolve.normalEquations(rows: rows, weights: weights, targets: targets, rest.count)
            beta = try LinearSolve.solve(a, b, rest.count, what: "KernelSHAP")
        }
        for (j, g) in rest.enumerated() { phi[g] = beta[j] }
        phi[last] = difference - beta.reduce(0, +)
        return phi
    }
}

extension ShapleyValues {
    /// Sample `s`'s values as shap's KernelExplainer computes them (see `ShapKernel`).
    func shapKernelValues(sample s: Int, input: Tensor, setup: GroupPerturbation.Setup, samples: Int?, l1Features: Int?,
                          rng: inout MersenneTwister) throws -> [Double] {
        let m = setup.groups.count[s]
        let varying = Self.varyingGroups(sample: s, input: input, references: setup.background ?? setup.baseline,
                                         oneReference: setup.background == nil && setup.baseline.shape[0] > 1, groups: setup.groups)
        var phi = [Double](repeating: 0, count: m)
        let all = [Bool](repeating: true, count: m), none = [Bool](repeating: false, count: m)
        func scores(_ coalitions: [[Bool]]) throws -> [Double] {
            try perturbation.scorer.coalitionScores(coalitions, sample: s, input: input, baseline: setup.baseline, background: setup.background,
                                                    groups: setup.groups, seed: setup.seed)
        }
        guard varying.count >= 2 else {
            if let g = varying.first { let f = try scores([all, none]); phi[g] = f[0] - f[1] }
            return phi
        }
        let budget = samples ?? 2 * varying.count + 2048
        try GroupPerturbation.requireAffordable(min(budget, varying.count <= 30 ? (1 << varying.count) : budget), m, what: "coalitions")
        let (local, weights) = ShapKernel.draw(groups: varying.count, samples: samples, rng: &rng)
        let full = local.map { z in
            var row = none
            for (j, g) in varying.enumerated() where z[j] { row[g] = true }
            return row
        }
        let f = try scores(full + [all, none])
        let values = try ShapKernel.solve(coalitions: local, weights: weights, values: Array(f.prefix(local.count)), fx: f[local.count],
                                          f0: f[local.count + 1], l1Features: l1Features)
        for (j, g) in varying.enumerated() { phi[g] = values[j] }
        return phi
    }
}
