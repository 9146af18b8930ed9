import ExplainCore

/// Direct-loop reference implementations used to check the fast layers.
enum Naive {
    static func conv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), pads: (Int, Int, Int, Int),
                     dilation: (Int, Int), groups: Int) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let oh = (h + pads.0 + pads.2 - ((kh - 1) * dilation.0 + 1)) / stride.0 + 1
        let ow = (wd + pads.1 + pads.3 - ((kw - 1) * dilation.1 + 1)) / stride.1 + 1
        let mg = m / groups
        var out = [Float](repeating: 0, count: n * m * oh * ow)
        for s in 0..<n { for o in 0..<m { for i in 0..<oh { for j in 0..<ow {
            let g = o / mg
            var acc = Double(b?.scalars[o] ?? 0)
            for ci in 0..<cg { for a in 0..<kh { for bb in 0..<kw {
                let ih = i * stride.0 - pads.0 + a * dilation.0, iw = j * stride.1 - pads.1 + bb * dilation.1
                if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                let cIn = g * cg + ci
                acc += Double(x.scalars[((s * c + cIn) * h + ih) * wd + iw]) * Double(w.scalars[((o * cg + ci) * kh + a) * kw + bb])
            } } }
            out[((s * m + o) * oh + i) * ow + j] = Float(acc)
        } } } }
        return try! Tensor(shape: [n, m, oh, ow], scalars: out)
    }

    static func pool(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), pads: (Int, Int, Int, Int), max isMax: Bool,
                     ceil: Bool = false, countIncludePad: Bool = false) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        func size(_ len: Int, _ p0: Int, _ p1: Int, _ k: Int, _ s: Int) -> Int {
            let e = len + p0 + p1 - k
            var o = (ceil ? (e + s - 1) / s : e / s) + 1
            if ceil && (o - 1) * s >= len + p0 { o -= 1 }
            return o
        }
        let oh = size(h, pads.0, pads.2, kernel.0, stride.0), ow = size(w, pads.1, pads.3, kernel.1, stride.1)
        var out = [Float](repeating: 0, count: n * c * oh * ow)
        for p in 0..<(n * c) { for i in 0..<oh { for j in 0..<ow {
            var best = -Float.infinity, sum = 0.0, count = 0
            let hs = i * stride.0 - pads.0, ws = j * stride.1 - pads.1
            let he = min(hs + kernel.0, h + pads.2), we = min(ws + kernel.1, w + pads.3)
            for a in hs..<he { for b in ws..<we {
                guard a >= 0, a < h, b >= 0, b < w else { continue }
                let v = x.scalars[(p * h + a) * w + b]
                best = max(best, v); sum += Double(v); count += 1
            } }
            let divisor = countIncludePad ? (he - hs) * (we - ws) : count
            out[(p * oh + i) * ow + j] = isMax ? best : Float(sum / Double(divisor))
        } } }
        return try! Tensor(shape: [n, c, oh, ow], scalars: out)
    }
}
