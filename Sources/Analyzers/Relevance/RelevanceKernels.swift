import ExplainCore

/// The element-wise passes of the LRP rules: SIMD loops split over the cores (at batch 8 the
/// relevance tensors of a VGG-16 are hundreds of megabytes, and these passes are memory-bound).
enum RelevanceKernels {
    typealias V = SIMD8<Float>

    /// Runs `body(range)` on disjoint parts of `0..<n`, in parallel for large `n`.
    @inline(__always)
    static func split(_ n: Int, _ body: (Range<Int>) -> Void) { Parallel.forEachRange(n, grain: 1 << 16, body) }

    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V { UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self) }

    /// `z + ε·sign(z)` with `sign(0) = +1`, lane-wise.
    @inline(__always) static func stabilized(_ z: V, _ e: V) -> V { z + e.replacing(with: -e, where: z .< 0) }

    /// The range of a rule's input `x` (the node's first input): `(0, ∞)` without a scan when the
    /// graph guarantees `x ≥ 0` (the rules only ask whether any element is < 0 or > 0), else `minMax`.
    static func range(of x: Tensor, at site: Site) -> (min: Float, max: Float) {
        site.inputsNonNegative.first == true ? (0, .infinity) : minMax(x)
    }

    /// The smallest and largest element of `x` (0, 0 when empty).
    static func minMax(_ x: Tensor) -> (min: Float, max: Float) {
        x.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress, !p.isEmpty else { return (0, 0) }
            let grain = 1 << 16
            var parts = [(min: Float, max: Float)](repeating: (.infinity, -.infinity), count: Parallel.pieces(p.count, grain: grain))
            parts.withUnsafeMutableBufferPointer { out in
                nonisolated(unsafe) let (base, out) = (base, out.baseAddress!)
                Parallel.forEachPiece(p.count, grain: grain) { piece, r in out[piece] = Kernels.minMax(base + r.lowerBound, count: r.count) }
            }
            return (parts.map(\.min).min() ?? 0, parts.map(\.max).max() ?? 0)
        }
    }

    /// `g = sign · x ⊙ g`.
    static func scaleByInput(_ g: inout Tensor, _ x: Tensor, sign: Float) {
        if g.count == 0 { return }
        g.withUnsafeMutableBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                nonisolated(unsafe) let (pg, px) = (pg.baseAddress!, px.baseAddress!)
                let sv = V(repeating: sign)
                split(x.count) { s in
                    var i = s.lowerBound
                    while i &+ 8 <= s.upperBound { store(sv * load(px, i) * load(pg, i), pg, i); i &+= 8 }
                    while i < s.upperBound { pg[i] = sign * px[i] * pg[i]; i &+= 1 }
                }
            }
        }
    }

    /// `acc += sign · x ⊙ g`.
    static func accumulate(_ acc: inout Tensor, _ x: Tensor, _ g: Tensor, sign: Float) {
        let n = acc.count
        if n == 0 { return }
        acc.withUnsafeMutableBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                g.withUnsafeBufferPointer { pg in
                    nonisolated(unsafe) let (pa, px, pg) = (pa.baseAddress!, px.baseAddress!, pg.baseAddress!)
                    let sv = V(repeating: sign)
                    split(n) { s in
                        var i = s.lowerBound
                        while i &+ 8 <= s.upperBound { store(load(pa, i) + sv * load(px, i) * load(pg, i), pa, i); i &+= 8 }
                        while i < s.upperBound { pa[i] += sign * px[i] * pg[i]; i &+= 1 }
                    }
                }
            }
        }
    }

    /// `acc += sign · y`.
    static func addScaled(_ acc: inout Tensor, _ y: Tensor, sign: Float) {
        let n = acc.count
        if n == 0 { return }
        acc.withUnsafeMutableBufferPointer { pa in
            y.withUnsafeBufferPointer { py in
                nonisolated(unsafe) let (pa, py) = (pa.baseAddress!, py.baseAddress!)
                let sv = V(repeating: sign)
                split(n) { s in
                    var i = s.lowerBound
                    while i &+ 8 <= s.upperBound { store(load(pa, i) + sv * load(py, i), pa, i); i &+= 8 }
                    while i < s.upperBound { pa[i] += sign * py[i]; i &+= 1 }
                }
            }
        }
    }

    /// `t = factor · t`.
    static func scale(_ t: inout Tensor, by factor: Float) {
        let n = t.count
        if n == 0 { return }
        t.withUnsafeMutableBufferPointer { p in
            nonisolated(unsafe) let p = p.baseAddress!
            let f = V(repeating: factor)
            split(n) { s in
                var i = s.lowerBound
                while i &+ 8 <= s.upperBound { store(f * load(p, i), p, i); i &+= 8 }
                while i < s.upperBound { p[i] *= factor; i &+= 1 }
            }
        }
    }

    /// The norm rule for a sum `y` of equally shaped summands: `R_k = x_k ⊙ R / stab(y)`.
    static func shareBySummands(_ r: Tensor, y: Tensor, summands: [Tensor], epsilon: Float) -> [Tensor] {
        if r.count == 0 { return summands }
        let e = V(repeating: epsilon)
        return summands.map { x in
            Tensor(shape: x.shape) { po in
                r.withUnsafeBufferPointer { pr in
                    y.withUnsafeBufferPointer { py in
                        x.withUnsafeBufferPointer { px in
                            nonisolated(unsafe) let (pr, py, px, po) = (pr.baseAddress!, py.baseAddress!, px.baseAddress!, po.baseAddress!)
                            split(x.count) { s in
                                var i = s.lowerBound
                                while i &+ 8 <= s.upperBound { store(load(px, i) * (load(pr, i) / stabilized(load(py, i), e)), po, i); i &+= 8 }
                                while i < s.upperBound { po[i] = px[i] * (pr[i] / stabilize(py[i], epsilon)); i &+= 1 }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The norm rule for two equally shaped summands (a residual Add) in one pass:
    /// `R_a = a ⊙ q`, `R_b = b ⊙ q` with `q = R / stab(a + b)` (the sum formed as the forward pass does).
    static func shareByTwo(_ r: Tensor, _ a: Tensor, _ b: Tensor, epsilon: Float) -> [Tensor] {
        if r.count == 0 { return [a, b] }
        let e = V(repeating: epsilon)
        var outB = Tensor(shape: b.shape) { _ in }   // written in full below
        let outA = Tensor(shape: a.shape) { poa in
            outB.withUnsafeMutableBufferPointer { pob in
                r.withUnsafeBufferPointer { pr in
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            nonisolated(unsafe) let (pr, pa, pb, poa, pob) =
                                (pr.baseAddress!, pa.baseAddress!, pb.baseAddress!, poa.baseAddress!, pob.baseAddress!)
                            split(r.count) { s in
                                var i = s.lowerBound
                                while i &+ 8 <= s.upperBound {
                                    let av = load(pa, i), bv = load(pb, i)
                                    let q = load(pr, i) / stabilized(av + bv, e)
                                    store(av * q, poa, i)
                                    store(bv * q, pob, i)
                                    i &+= 8
                                }
                                while i < s.upperBound {
                                    let q = pr[i] / stabilize(pa[i] + pb[i], epsilon)
                                    poa[i] = pa[i] * q
                                    pob[i] = pb[i] * q
                                    i &+= 1
                                }
                            }
                        }
                    }
                }
            }
        }
        return [outA, outB]
    }
}
