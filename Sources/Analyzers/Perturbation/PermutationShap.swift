import ExplainCore

/// shap's `PermutationExplainer` (antithetic permutation sampling): for each of
/// `⌊max_evals / (2M′ + 1)⌋` orders of the M′ groups that can change the output, the groups are
/// switched on one after the other and then off again in the same order; each group is credited
/// with the change it makes both ways, and the credits are averaged over the 2 × orders passes.
/// The values always sum to `v(all varying) − v(∅)`. Orders are drawn like the peer's: numpy's
/// legacy Mersenne Twister seeded with `seed`, one array shuffled again for every order and the
/// stream continued from sample to sample.
///
/// A group "can change the output" unless every element equals the reference values (the baseline,
/// or every background sample) within numpy's `isclose` (rtol 1e-5, atol 1e-8); the others stay
/// absent and get 0, as in shap's `varying_inputs`.
extension ShapleyValues {
    func antitheticPermutationValues(sample s: Int, input: Tensor, setup: GroupPerturbation.Setup, maxEvals: Int,
                                     rng: inout MersenneTwister) throws -> [Double] {
        let m = setup.groups.count[s]
        var order = Self.varyingGroups(sample: s, input: input, references: setup.background ?? setup.baseline,
                                       oneReference: setup.background == nil && setup.baseline.shape[0] > 1, groups: setup.groups)
        var phi = [Double](repeating: 0, count: m)
        guard !order.isEmpty else { return phi }
        let chain = 2 * order.count + 1, orders = maxEvals / chain
        guard orders > 0 else {
            throw ExplainError(.invalidArgument, "max_evals = \(maxEvals) is too low for \(order.count) varying groups: give at least 2 · \(order.count) + 1 = \(chain)")
        }
        try GroupPerturbation.requireAffordable(orders * chain, m, what: "coalitions (orders × (2 · groups + 1))")
        var coalitions = [[Bool]](), drawn = [[Int]]()
        coalitions.reserveCapacity(orders * chain)
        for _ in 0..<orders {
            rng.shuffle(&order)
            drawn.append(order)
            var z = [Bool](repeating: false, count: m)
            coalitions.append(z)
            for g in order { z[g] = true; coalitions.append(z) }
            for g in order { z[g] = false; coalitions.append(z) }
        }
        let v = try perturbation.scorer.coalitionScores(coalitions, sample: s, input: input, baseline: setup.baseline, background: setup.background,
                                           groups: setup.groups, seed: setup.seed)
        let k = order.count
        for (p, groups) in drawn.enumerated() {
            let base = p * chain
            for (j, g) in groups.enumerated() {
                phi[g] += v[base + j + 1] - v[base + j]               // switched on
                phi[g] += v[base + k + j] - v[base + k + j + 1]       // switched off
            }
        }
        return phi.map { $0 / Double(2 * orders) }
    }

    /// The groups of sample `s` with an element not `isclose` to a reference row (`references`:
    /// `(K, …)`; with `oneReference` only row `s` is its reference), ascending.
    static func varyingGroups(sample s: Int, input: Tensor, references: Tensor, oneReference: Bool, groups: FeatureGroups) -> [Int] {
        let per = input.count / input.shape[0], index = groups.index[s]
        let rows = oneReference ? [s] : Array(0..<references.shape[0])
        var varies = [Bool](repeating: false, count: groups.count[s])
        input.withUnsafeBufferPointer { px in
            references.withUnsafeBufferPointer { pr in
                for i in 0..<per where !varies[index[i]] {
                    let x = Double(px[s * per + i])
                    for r in rows {
                        let b = Double(pr[r * per + i])
                        if !(abs(x - b) <= 1e-8 + 1e-5 * abs(b)) { varies[index[i]] = true; break }
                    }
                }
            }
        }
        return varies.indices.filter { varies[$0] }
    }
}
