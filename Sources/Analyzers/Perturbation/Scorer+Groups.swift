import ExplainCore

extension Scorer {
    /// `f_t` of copies of sample `s` in which the groups absent from coalition `present(copy)` take
    /// the baseline's values: `x_i` where `present(copy)[group(i)]`, else `x0_i`. With a
    /// `background` set `(K, …)` instead, absent groups take each background sample's values and
    /// the K scores of a coalition are averaged.
    public func coalitionScores(_ coalitions: [[Bool]], sample s: Int, input: Tensor, baseline x0: Tensor, background: Tensor? = nil,
                                groups: FeatureGroups, seed: Tensor) throws -> [Double] {
        let n = input.shape[0], per = input.count / n
        if let background {
            let k = background.shape[0], index = groups.index[s]
            let scores = try input.withUnsafeBufferPointer { px in
                try background.withUnsafeBufferPointer { pb in
                    try self.scores(count: coalitions.count * k, sampleShape: Array(input.shape.dropFirst()), seed: seed, sample: s) { j, out in
                        let z = coalitions[j / k], b = j % k
                        for i in 0..<per { out[i] = z[index[i]] ? px[s * per + i] : pb[b * per + i] }
                    }
                }
            }
            let means = (0..<coalitions.count).map { c in scores[(c * k)..<((c + 1) * k)].reduce(0, +) / Double(k) }
            try Self.requireFiniteScores(means, sample: s)
            return means
        }
        let b0 = x0.shape[0] == 1 ? 0 : s, index = groups.index[s]
        let y = try input.withUnsafeBufferPointer { px in
            try x0.withUnsafeBufferPointer { pb in
                try scores(count: coalitions.count, sampleShape: Array(input.shape.dropFirst()), seed: seed, sample: s) { j, out in
                    let z = coalitions[j]
                    for i in 0..<per { out[i] = z[index[i]] ? px[s * per + i] : pb[b0 * per + i] }
                }
            }
        }
        try Self.requireFiniteScores(y, sample: s)
        return y
    }

    /// Throws when a perturbed input's score is not finite: every estimate built on it (a
    /// difference, a mean, a regression) would be NaN.
    static func requireFiniteScores(_ y: [Double], sample s: Int) throws {
        guard let bad = y.firstIndex(where: { !$0.isFinite }) else { return }
        throw ExplainError.argument("the model's output on perturbed copy \(bad) of sample \(s) is \(y[bad]): check the input, the baseline and the background for huge values")
    }
}
