import ExplainCore

/// Magnitudes of an LRP ratio tensor `s = c · R / stab(z)`, gathered while it is written:
/// `Σ |c·R|` and `Σ |stab(z)|` over the kept entries, and `max |s|`. `TransposedProduct` reads
/// them to decide whether Winograd may compute `W'ᵀs` (see there).
public struct RatioStats: Sendable {
    public var relevance: Float
    public var denominator: Float
    public var largest: Float

    public init(relevance: Float = 0, denominator: Float = 0, largest: Float = 0) {
        self.relevance = relevance
        self.denominator = denominator
        self.largest = largest
    }

    public func merged(_ o: RatioStats) -> RatioStats {
        RatioStats(relevance: relevance + o.relevance, denominator: denominator + o.denominator,
                   largest: largest.isNaN || o.largest.isNaN ? .nan : Swift.max(largest, o.largest))
    }

    /// The ratio of a typical entry, `Σ |c·R| / Σ |stab(z)|` (NaN when an input was NaN).
    public var typical: Float { denominator > 0 ? relevance / denominator : (relevance == 0 ? 0 : .infinity) }
}

/// The ratio passes of the LRP rules (SIMD, split over the cores), each also returning `RatioStats`.
extension RelevanceKernels {
    /// Per-lane running sums and maximum of `RatioStats`, plus the sum of the ratios themselves
    /// (a NaN among them makes it NaN, which `stats` reports as a NaN maximum).
    struct Lanes {
        var relevance = V(repeating: 0), denominator = V(repeating: 0), largest = V(repeating: 0), total = V(repeating: 0)
        /// The scalar tail's share.
        var tail = RatioStats()

        @inline(__always) static func magnitude(_ v: V) -> V {
            unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x7FFF_FFFF), to: V.self)
        }

        /// Adds entries with scaled relevance `r`, stabilised denominator `d` and ratio `q` (all of
        /// them kept; callers zero rejected lanes first).
        @inline(__always) mutating func add(r: V, d: V, q: V) {
            relevance += Lanes.magnitude(r)
            denominator += Lanes.magnitude(d)
            let m = Lanes.magnitude(q)
            largest = largest.replacing(with: m, where: m .> largest)
            total += q
        }
        @inline(__always) mutating func add(r: Float, d: Float, q: Float) {
            tail = tail.merged(RatioStats(relevance: abs(r), denominator: abs(d), largest: q.isNaN ? .nan : abs(q)))
        }
        var stats: RatioStats {
            RatioStats(relevance: relevance.sum(), denominator: denominator.sum(), largest: total.sum().isNaN ? .nan : largest.max())
                .merged(tail)
        }
    }

    /// Runs `body` on disjoint parts of `0..<n` (in parallel for large `n`) and merges what each returns.
    static func splitMerging(_ n: Int, _ body: (Range<Int>) -> RatioStats) -> RatioStats {
        let grain = 1 << 16
        var parts = [RatioStats](repeating: RatioStats(), count: Parallel.pieces(n, grain: grain))
        parts.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out.baseAddress!
            Parallel.forEachPiece(n, grain: grain) { piece, range in out[piece] = body(range) }
        }
        return parts.reduce(RatioStats()) { $0.merged($1) }
    }

    /// `s = r / stab(z)`, zero where `mask` (tested on `m`, default `z`) rejects the entry, written
    /// over `z` (which the caller no longer needs; copied first only if its storage is shared).
    static func ratio(_ r: Tensor, overwriting z: inout Tensor, epsilon: Float, mask: Kernels.SignMask = .all,
                      by m: Tensor? = nil) -> RatioStats {
        precondition(r.count == z.count, "ratio of differently sized tensors")
        if r.count == 0 { return RatioStats() }
        var stats = RatioStats()
        z.withUnsafeMutableBufferPointer { out in
            r.withUnsafeBufferPointer { pr in
                m.withUnsafePointer { pmGiven in
                    // Each lane reads z (and m) before it writes s over z.
                    nonisolated(unsafe) let (pr, pz, po) = (pr.baseAddress!, UnsafePointer(out.baseAddress!), out.baseAddress!)
                    nonisolated(unsafe) let pm = pmGiven ?? pz
                    let e = V(repeating: epsilon), zero = V(repeating: 0)
                    stats = splitMerging(out.count) { range in
                        var lanes = Lanes()
                        var i = range.lowerBound
                        while i &+ 8 <= range.upperBound {
                            let zv = load(pz, i), rv = load(pr, i), d = stabilized(zv, e)
                            let keep: SIMDMask<V.MaskStorage>
                            switch mask {
                            case .all: keep = SIMDMask(repeating: true)
                            case .positive: keep = load(pm, i) .> zero
                            case .negative: keep = load(pm, i) .< zero
                            }
                            let q = (rv / d).replacing(with: 0, where: .!keep)
                            store(q, po, i)
                            if case .all = mask { lanes.add(r: rv, d: d, q: q) }
                            else { lanes.add(r: rv.replacing(with: 0, where: .!keep), d: d.replacing(with: 0, where: .!keep), q: q) }
                            i &+= 8
                        }
                        while i < range.upperBound {
                            let keep = switch mask { case .all: true; case .positive: pm[i] > 0; case .negative: pm[i] < 0 }
                            let d = stabilize(pz[i], epsilon)
                            po[i] = keep ? pr[i] / d : 0
                            if keep { lanes.add(r: pr[i], d: d, q: po[i]) }
                            i &+= 1
                        }
                        return lanes.stats
                    }
                }
            }
        }
        return stats
    }

    /// A stacked cotangent for a `StackedLayer` of two weights, shaped `(n, 2·c, …)` after `like`
    /// `(n, c, …)`: each sample is cut into `blocks` equal parts (the layer's groups) and part k of the
    /// input becomes the pair `(first_k, second_k)`. `fill(offset, count, first, second)` writes the
    /// pair for the input elements `offset ..< offset + count`, on disjoint ranges in parallel.
    private static func stacked(like t: Tensor, blocks: Int,
                                _ fill: (Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> RatioStats) -> (Tensor, RatioStats) {
        let n = t.shape.first ?? 0, blocks = max(1, blocks), per = n == 0 ? 0 : t.count / n / blocks
        var shape = t.shape
        if shape.count > 1 { shape[1] *= 2 }
        var stats = RatioStats()
        let s = Tensor(shape: shape) { out in
            guard per > 0 else { return }
            nonisolated(unsafe) let po = out.baseAddress!
            for block in 0..<(n * blocks) {
                let first = po + 2 * block * per
                stats = stats.merged(splitMerging(per) { s in
                    fill(block * per + s.lowerBound, s.count, first + s.lowerBound, first + per + s.lowerBound)
                })
            }
        }
        return (s, stats)
    }

    /// The α-β rule's two scaled ratios `(a · R / stab(z⁺), b · R / stab(z⁻))`, stacked per block
    /// (see `stacked`).
    static func scaledRatiosStacked(_ r: Tensor, _ zp: Tensor, _ zn: Tensor, scales: (Float, Float), epsilon: Float,
                                    blocks: Int = 1) -> (Tensor, RatioStats) {
        r.withUnsafeBufferPointer { pr in
            zp.withUnsafeBufferPointer { pp in
                zn.withUnsafeBufferPointer { pn in
                    nonisolated(unsafe) let (pr, pp, pn) = (pr.baseAddress, pp.baseAddress, pn.baseAddress)
                    let (a, b, e) = (V(repeating: scales.0), V(repeating: scales.1), V(repeating: epsilon))
                    return stacked(like: r, blocks: blocks) { offset, count, pu, pd in
                        let (pr, pp, pn) = (pr! + offset, pp! + offset, pn! + offset)
                        var lanes = Lanes()
                        var i = 0
                        while i &+ 8 <= count {
                            let rv = load(pr, i), dp = stabilized(load(pp, i), e), dn = stabilized(load(pn, i), e)
                            let u = a * (rv / dp), d = b * (rv / dn)
                            store(u, pu, i)
                            store(d, pd, i)
                            lanes.add(r: a * rv, d: dp, q: u)
                            lanes.add(r: b * rv, d: dn, q: d)
                            i &+= 8
                        }
                        while i < count {
                            let dp = stabilize(pp[i], epsilon), dn = stabilize(pn[i], epsilon)
                            pu[i] = scales.0 * (pr[i] / dp)
                            pd[i] = scales.1 * (pr[i] / dn)
                            lanes.add(r: scales.0 * pr[i], d: dp, q: pu[i])
                            lanes.add(r: scales.1 * pr[i], d: dn, q: pd[i])
                            i &+= 1
                        }
                        return lanes.stats
                    }
                }
            }
        }
    }

    /// The two ratios of the γ-rule from the layer output `z` and `p = W⁺x + b⁺` (for `x ≥ 0`),
    /// stacked per block (see `stacked`): `up = R / stab(z + γp)` where `z > 0`,
    /// `down = R / stab(z + γ(z − p))` where `z < 0`, else 0.
    static func gammaRatiosStacked(_ r: Tensor, z: Tensor, p: Tensor, gamma: Float, epsilon: Float, blocks: Int = 1) -> (Tensor, RatioStats) {
        r.withUnsafeBufferPointer { pr in
            z.withUnsafeBufferPointer { pz in
                p.withUnsafeBufferPointer { pp in
                    nonisolated(unsafe) let (pr, pz, pp) = (pr.baseAddress, pz.baseAddress, pp.baseAddress)
                    let g = V(repeating: gamma), e = V(repeating: epsilon), zero = V(repeating: 0)
                    return stacked(like: r, blocks: blocks) { offset, count, pu, pd in
                        let (pr, pz, pp) = (pr! + offset, pz! + offset, pp! + offset)
                        var lanes = Lanes()
                        var i = 0
                        while i &+ 8 <= count {
                            let zv = load(pz, i), pv = load(pp, i), rv = load(pr, i)
                            let du = stabilized(zv + g * pv, e), dd = stabilized(zv + g * (zv - pv), e)
                            let up = zv .> zero, down = zv .< zero
                            let u = (rv / du).replacing(with: zero, where: .!up), d = (rv / dd).replacing(with: zero, where: .!down)
                            store(u, pu, i)
                            store(d, pd, i)
                            lanes.add(r: rv.replacing(with: zero, where: .!up), d: du.replacing(with: zero, where: .!up), q: u)
                            lanes.add(r: rv.replacing(with: zero, where: .!down), d: dd.replacing(with: zero, where: .!down), q: d)
                            i &+= 8
                        }
                        while i < count {
                            let zi = pz[i], pi = pp[i]
                            let du = stabilize(zi + gamma * pi, epsilon), dd = stabilize(zi + gamma * (zi - pi), epsilon)
                            pu[i] = zi > 0 ? pr[i] / du : 0
                            pd[i] = zi < 0 ? pr[i] / dd : 0
                            if zi > 0 { lanes.add(r: pr[i], d: du, q: pu[i]) }
                            if zi < 0 { lanes.add(r: pr[i], d: dd, q: pd[i]) }
                            i &+= 1
                        }
                        return lanes.stats
                    }
                }
            }
        }
    }
}
