import ExplainCore

/// Feature ablation: each group in turn takes the baseline's values, and every element of the
/// group receives the drop of the target output, `d_g = f_t(x) − f_t(x with group g := x0)`
/// (not divided by the group size; Captum `FeatureAblation`). With `.permutation` the group takes
/// instead the values of another sample of the batch, by a random permutation of the batch drawn
/// per group that moves at least one sample (Captum `FeaturePermutation`: a batch-level importance
/// for tabular data; the groups must be the same for every sample). Its forward passes run any
/// batch (`Scorer`), so a graph fixed at batch size 1 does not split its batch (permutations need it whole).
public struct FeatureAblation: SplitsItsOwnBatches {
    /// Where an ablated group's values come from.
    public enum Replacement: Sendable, Equatable {
        case baseline
        /// Another sample of the batch (seeded permutations; batches of at least 2).
        case permutation(seed: UInt64, torch: Bool = false)
    }

    public let id: String
    public let perturbation: GroupPerturbation
    public let replacement: Replacement

    /// `groups` defaults to every element its own group (as Captum).
    public init(id: String = "feature_ablation", model: ExplainableModel, baseline: Baseline = .zero, replacement: Replacement = .baseline,
                batchSize: Int = 64, groups: @escaping @Sendable (Tensor) throws -> FeatureGroups = { FeatureGroups(elementsOf: $0) }) {
        self.id = id
        self.perturbation = GroupPerturbation(model: model, baseline: baseline, batchSize: batchSize, groups: groups)
        self.replacement = replacement
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let setup = try perturbation.start(input, target: target)
        let n = input.shape[0], per = input.count / n
        // The sample each group of each sample takes its values from (permutation only).
        var source: [[Int]] = []
        if case .permutation(let seed, let torch) = replacement {
            guard setup.groups.index.allSatisfy({ $0 == setup.groups.index[0] }) else {
                throw ExplainError.argument("\(id) needs the same feature groups for every sample (a shared groups file or grid, not per-image superpixels)")
            }
            source = try BatchPermutation.draw(units: setup.groups.count[0], batch: n, seed: seed, torch: torch)
        }
        var values = [[Double]]()
        for s in 0..<n {
            let m = setup.groups.count[s], b0 = setup.baseline.shape[0] == 1 ? 0 : s
            var members = [[Int]](repeating: [], count: m)
            for (i, g) in setup.groups.index[s].enumerated() { members[g].append(i) }
            // Copy 0: the input (f_t(x)); copy 1 + j: group j replaced.
            let f = try input.withUnsafeBufferPointer { px in
                try setup.baseline.withUnsafeBufferPointer { pb in
                    try perturbation.scorer.scores(count: m + 1, sampleShape: Array(input.shape.dropFirst()), seed: setup.seed, sample: s) { j, out in
                        for i in 0..<per { out[i] = px[s * per + i] }
                        guard j > 0 else { return }
                        if source.isEmpty {
                            for i in members[j - 1] { out[i] = pb[b0 * per + i] }
                        } else {
                            let other = source[j - 1][s]
                            for i in members[j - 1] { out[i] = px[other * per + i] }
                        }
                    }
                }
            }
            values.append((0..<m).map { f[0] - f[1 + $0] })
        }
        return Attribution(values: FeatureGroups.spread(values, over: setup.groups, shape: input.shape), output: setup.output, targets: setup.picked)
    }
}

/// Occlusion: a window slides over each sample's dimensions; at each position the window takes
/// the baseline's values and every element inside receives the drop of the target output; each
/// element's attribution is the mean over the windows that contain it (Zeiler & Fergus 2014;
/// Captum `Occlusion`). Window corners lie at `0, s, 2s, …` with `⌈(D − w)/s⌉ + 1` positions per
/// dimension (the last window clipped at the border when `s` does not divide `D − w`).
public struct Occlusion: SplitsItsOwnBatches {
    public let id: String
    public let scorer: Scorer
    public let baseline: Baseline
    /// Window and strides per sample dimension (nil: the defaults of `resolve`).
    public let window: [Int]?
    public let strides: [Int]?

    public init(id: String = "occlusion", model: ExplainableModel, window: [Int]? = nil, strides: [Int]? = nil,
                baseline: Baseline = .zero, batchSize: Int = 64) {
        self.id = id
        self.scorer = Scorer(model: model, batchSize: batchSize)
        self.baseline = baseline
        self.window = window
        self.strides = strides
    }

    /// Window and strides for a sample shape: a single number k stands for (C, k, k) on images and
    /// (k) on vectors; defaults: all channels × ⌈H/8⌉ × ⌈W/8⌉ (vectors: 1), strides ⌈window/2⌉.
    public func resolve(_ dims: [Int]) throws -> (window: [Int], strides: [Int]) {
        func expand(_ v: [Int]?, _ fallback: [Int], _ name: String) throws -> [Int] {
            guard let v else { return fallback }
            let full = v.count == 1 && dims.count == 3 ? [dims[0], v[0], v[0]] : v
            guard full.count == dims.count else {
                throw ExplainError.argument("\(name) has \(v.count) values; the samples have \(dims.count) dimensions \(Shape.format(dims)) (one value per dimension, or one for an image's H and W)")
            }
            return full
        }
        let w = try expand(window, dims.count == 3 ? [dims[0], (dims[1] + 7) / 8, (dims[2] + 7) / 8] : dims.map { _ in 1 }, "window")
        let s = try expand(strides, w.map { $0 / 2 + $0 % 2 }, "strides")
        for (d, (wi, si)) in zip(dims, zip(w, s)) where wi < 1 || wi > d || si < 1 {
            throw ExplainError.argument("window \(w) / strides \(s): each window size must lie in 1…its dimension \(Shape.format(dims)) and each stride be ≥ 1")
        }
        return (w, zip(s, dims).map { min($0, $1) })   // a stride beyond the dimension places the same windows
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        let (output, seed, picked) = try scorer.model.cleanPass(input, target: target)
        let dims = Array(input.shape.dropFirst()), (w, st) = try resolve(dims)
        let x0 = try baseline.batch(like: input)
        let n = input.shape[0], per = input.count / n
        let counts = zip(dims, zip(w, st)).map { d, ws in (d - ws.0) / ws.1 + ((d - ws.0) % ws.1 == 0 ? 1 : 2) }   // ⌈(D − w)/s⌉ + 1
        let positions = try Shape.elementCount(counts)
        guard positions <= 10_000_000 else { throw ExplainError(.tooLarge, "\(positions) window positions per sample: use larger strides") }
        var strides = [Int](repeating: 1, count: dims.count)
        for d in stride(from: dims.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * dims[d + 1] }
        /// Calls `body` with the flat index of every element inside window position `p`.
        func forEachElement(_ p: Int, _ body: (Int) -> Void) {
            var corner = [Int](repeating: 0, count: dims.count), end = corner, rest = p
            for d in stride(from: dims.count - 1, through: 0, by: -1) {
                corner[d] = (rest % counts[d]) * st[d]
                end[d] = min(corner[d] + w[d], dims[d])
                rest /= counts[d]
            }
            // A last window that starts at the border (stride beyond D − w) is empty, as in Captum.
            guard zip(corner, end).allSatisfy({ $0 < $1 }) else { return }
            var index = corner
            while true {
                body(zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 })
                var d = dims.count - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < end[d] { break }
                    index[d] = corner[d]
                    d -= 1
                }
                if d < 0 { return }
            }
        }
        var total = [Double](repeating: 0, count: input.count), covered = [Int](repeating: 0, count: per)
        for p in 0..<positions { forEachElement(p) { covered[$0] += 1 } }
        for s in 0..<n {
            let b0 = x0.shape[0] == 1 ? 0 : s
            let f = try input.withUnsafeBufferPointer { px in
                try x0.withUnsafeBufferPointer { pb in
                    try scorer.scores(count: positions + 1, sampleShape: dims, seed: seed, sample: s) { j, out in
                        for i in 0..<per { out[i] = px[s * per + i] }
                        if j > 0 { forEachElement(j - 1) { out[$0] = pb[b0 * per + $0] } }
                    }
                }
            }
            for p in 0..<positions { forEachElement(p) { total[s * per + $0] += f[0] - f[1 + p] } }
        }
        let values = Tensor(shape: input.shape) { out in
            for i in 0..<out.count { out[i] = covered[i % per] > 0 ? Float(total[i] / Double(covered[i % per])) : 0 }
        }
        return Attribution(values: values, output: output, targets: picked)
    }
}
