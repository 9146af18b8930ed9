import ExplainCore

/// RISE (Petsiuk, Das & Saenko 2018): random smooth masks `M_i`, saliency
/// `Σ_i f_t(x0 + M_i ⊙ (x − x0)) M_i / (n · p)` (masks broadcast over channels; with the zero
/// baseline `x ⊙ M_i`). Masks: an `s × s` grid of cells kept with probability `p`, resized bilinearly
/// to `(s + 1)·⌈H/s⌉` with mirrored borders (scikit-image `resize(order=1, mode="reflect")`) and
/// cropped at a random offset below one cell.
public struct Rise: SplitsItsOwnBatches {
    /// Where the masks come from.
    public enum Masks: Sendable {
        /// `count` masks of `cells × cells` cells drawn with `seed`.
        case random(count: Int, cells: Int, seed: UInt64)
        /// Given masks `(n, 1, H, W)` or `(n, H, W)`.
        case given(Tensor)
    }

    public let id: String
    public let scorer: Scorer
    public let baseline: Baseline
    public let masks: Masks
    /// The probability of keeping a cell (also the normaliser).
    public let keep: Double

    public init(id: String = "rise", model: ExplainableModel, masks: Masks, keep: Double = 0.5, baseline: Baseline = .zero,
                batchSize: Int = 64) throws {
        guard keep > 0, keep <= 1 else { throw ExplainError.argument("p = \(keep): the keep probability must lie in (0, 1]") }
        self.id = id
        self.scorer = Scorer(model: model, batchSize: batchSize)
        self.baseline = baseline
        self.masks = masks
        self.keep = keep
    }

    /// The masks for an `h × w` image, each `h·w` values.
    public func masks(height h: Int, width w: Int) throws -> [[Float]] {
        switch masks {
        case .given(let t):
            guard (t.rank == 4 && t.shape[1] == 1) || t.rank == 3, t.shape[t.rank - 2] == h, t.shape[t.rank - 1] == w, t.shape[0] >= 1 else {
                throw ExplainError.shape("RISE masks \(Shape.format(t.shape)) must be (n, 1, \(h), \(w)) or (n, \(h), \(w))")
            }
            return (0..<t.shape[0]).map { Array(t.scalars[($0 * h * w)..<(($0 + 1) * h * w)]) }
        case .random(let count, let s, let seed):
            guard s >= 1, s <= min(h, w) else { throw ExplainError.argument("cells = \(s): give 1…\(min(h, w))") }
            try GroupPerturbation.requireAffordable(count, h * w, what: "RISE masks")
            var rng = SeededGenerator(seed: seed)
            let cellH = (h + s - 1) / s, cellW = (w + s - 1) / s
            return (0..<count).map { _ in
                let grid = (0..<(s * s)).map { _ in Double(rng.next() >> 11) * 0x1.0p-53 < keep ? 1.0 : 0 }
                let shift = (Int(rng.next() % UInt64(cellH)), Int(rng.next() % UInt64(cellW)))
                return Self.mask(grid: grid, cells: s, shift: shift, height: h, width: w)
            }
        }
    }

    /// One mask: the `cells × cells` grid resized to `(cells + 1)·⌈H/cells⌉` × `(cells + 1)·⌈W/cells⌉`
    /// (bilinear, mirrored borders) and cropped at `shift` (row, column) to `height × width`.
    public static func mask(grid: [Double], cells s: Int, shift: (row: Int, column: Int), height h: Int, width w: Int) -> [Float] {
        let (uh, uw) = ((s + 1) * ((h + s - 1) / s), (s + 1) * ((w + s - 1) / s))
        let rows = (0..<h).map { reflectSource($0 + shift.row, from: s, to: uh) }, cols = (0..<w).map { reflectSource($0 + shift.column, from: s, to: uw) }
        return rows.flatMap { r in cols.map { c in
            Float((1 - r.t) * ((1 - c.t) * grid[r.i0 * s + c.i0] + c.t * grid[r.i0 * s + c.i1])
                  + r.t * ((1 - c.t) * grid[r.i1 * s + c.i0] + c.t * grid[r.i1 * s + c.i1]))
        } }
    }

    /// Output index `o` of a resize from `n` to `out` cells: source `(o + ½)·n/out − ½`, its two
    /// neighbours mirrored about the edge cells (−1 → 1, n → n − 2) and the second one's weight.
    static func reflectSource(_ o: Int, from n: Int, to out: Int) -> (i0: Int, i1: Int, t: Double) {
        let u = (Double(o) + 0.5) * Double(n) / Double(out) - 0.5
        let f = u.rounded(.down)
        func mirror(_ i: Int) -> Int {
            guard n > 1 else { return 0 }
            var i = i
            while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
            return i
        }
        return (mirror(Int(f)), mirror(Int(f) + 1), u - f)
    }

    public func analyze(_ input: Tensor, target: Target) throws -> Attribution {
        guard input.rank == 4 else { throw ExplainError.shape("RISE masks images (N, C, H, W); the input is \(Shape.format(input.shape))") }
        let (output, seed, picked) = try scorer.model.cleanPass(input, target: target)
        let x0 = try baseline.batch(like: input)
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3]), plane = h * w, per = input.count / n
        let all = try masks(height: h, width: w)
        var saliency = [Double](repeating: 0, count: n * plane)
        for s in 0..<n {
            let b0 = x0.shape[0] == 1 ? 0 : s
            let f = try input.withUnsafeBufferPointer { px in
                try x0.withUnsafeBufferPointer { pb in
                    try scorer.scores(count: all.count, sampleShape: Array(input.shape.dropFirst()), seed: seed, sample: s) { j, out in
                        let mask = all[j]
                        for i in 0..<per {
                            let base = pb[b0 * per + i]
                            out[i] = base + mask[i % plane] * (px[s * per + i] - base)
                        }
                    }
                }
            }
            for (j, mask) in all.enumerated() { for i in 0..<plane { saliency[s * plane + i] += f[j] * Double(mask[i]) } }
        }
        let scale = 1 / (Double(all.count) * keep)
        let values = Tensor(shape: input.shape) { out in
            for i in 0..<out.count { out[i] = Float(saliency[(i / per) * plane + i % plane] * scale) }
        }
        return Attribution(values: values, output: output, targets: picked)
    }
}
