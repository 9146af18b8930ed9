/// Bilinear resizing of image planes, with PyTorch's two coordinate conventions.
public enum Bilinear {
    /// Where output index `i` samples the input: half-pixel centres (`(i + ½)·in/out − ½`, clamped
    /// at 0; `align_corners=False`, also ONNX `half_pixel` with edge clamping) or aligned corners
    /// (`i·(in − 1)/(out − 1)`; `align_corners=True`). Returns the lower index, the upper index
    /// (clamped to the last) and the weight of the upper one.
    @inline(__always)
    static func source<T: BinaryFloatingPoint>(_ i: Int, from n: Int, to out: Int, alignCorners: Bool, _: T.Type) -> (Int, Int, T) {
        let position: T
        if alignCorners {
            position = out > 1 ? T(i) * (T(n - 1) / T(out - 1)) : 0
        } else {
            position = Swift.max(0, (T(i) + 0.5) * (T(n) / T(out)) - 0.5)
        }
        let lower = Swift.min(Int(position), n - 1)
        return (lower, Swift.min(lower + 1, n - 1), position - T(lower))
    }

    /// Resizes one `h × w` plane to `outH × outW`.
    public static func resize<T: BinaryFloatingPoint>(_ src: UnsafeBufferPointer<T>, height h: Int, width w: Int,
                                                      into dst: UnsafeMutableBufferPointer<T>, height outH: Int, width outW: Int,
                                                      alignCorners: Bool = false) {
        precondition(src.count >= h * w && dst.count >= outH * outW && h > 0 && w > 0, "bilinear: plane sizes")
        let columns = (0..<outW).map { source($0, from: w, to: outW, alignCorners: alignCorners, T.self) }
        for y in 0..<outH {
            let (y0, y1, ty) = source(y, from: h, to: outH, alignCorners: alignCorners, T.self)
            for (x, (x0, x1, tx)) in columns.enumerated() {
                let top = (1 - tx) * src[y0 * w + x0] + tx * src[y0 * w + x1]
                let bottom = (1 - tx) * src[y1 * w + x0] + tx * src[y1 * w + x1]
                dst[y * outW + x] = (1 - ty) * top + ty * bottom
            }
        }
    }
}

extension Tensor {
    /// Every `(h, w)` plane of an `(N, C, h, w)` tensor resized bilinearly to `height × width`.
    public func resizedBilinear(height: Int, width: Int, alignCorners: Bool = false) throws -> Tensor {
        guard rank == 4, shape[2] > 0, shape[3] > 0 else {
            throw ExplainError.shape("bilinear resize needs an (N, C, H, W) tensor with H, W > 0, got \(Shape.format(shape))")
        }
        guard height > 0, width > 0, height <= 1 << 16, width <= 1 << 16 else {
            throw ExplainError.argument("resize to \(height)×\(width): give a size between 1 and 65536")
        }
        let (h, w) = (shape[2], shape[3]), planes = shape[0] * shape[1]
        return Tensor(shape: [shape[0], shape[1], height, width]) { out in
            withUnsafeBufferPointer { src in
                for p in 0..<planes {
                    Bilinear.resize(UnsafeBufferPointer(rebasing: src[(p * h * w)..<((p + 1) * h * w)]), height: h, width: w,
                                    into: UnsafeMutableBufferPointer(rebasing: out[(p * height * width)..<((p + 1) * height * width)]),
                                    height: height, width: width, alignCorners: alignCorners)
                }
            }
        }
    }
}

extension Tensor {
    /// Every `(h, w)` plane of an `(N, C, h, w)` tensor resized to `height × width` by nearest
    /// neighbour, PyTorch's `mode="nearest"`: output index `i` reads input `⌊i · in / out⌋`.
    public func resizedNearest(height: Int, width: Int) throws -> Tensor {
        guard rank == 4, shape[2] > 0, shape[3] > 0 else {
            throw ExplainError.shape("nearest resize needs an (N, C, H, W) tensor with H, W > 0, got \(Shape.format(shape))")
        }
        guard height > 0, width > 0, height <= 1 << 16, width <= 1 << 16 else {
            throw ExplainError.argument("resize to \(height)×\(width): give a size between 1 and 65536")
        }
        let (h, w, planes) = (shape[2], shape[3], shape[0] * shape[1])
        let rows = (0..<height).map { min(h - 1, $0 * h / height) }, cols = (0..<width).map { min(w - 1, $0 * w / width) }
        return Tensor(shape: [shape[0], shape[1], height, width]) { out in
            withUnsafeBufferPointer { src in
                for p in 0..<planes { for (y, r) in rows.enumerated() { for (x, c) in cols.enumerated() {
                    out[(p * height + y) * width + x] = src[(p * h + r) * w + c]
                } } }
            }
        }
    }
}
