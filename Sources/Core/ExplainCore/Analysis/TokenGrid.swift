/// A layer of tokens `(N, T, C)` of a vision transformer seen as a feature map `(N, C, h, w)`:
/// the leading class token dropped when `T − 1` patches fill an `h × w` grid of the input's aspect
/// ratio, else all `T` tokens when they do (pytorch-grad-cam's `reshape_transform` for ViT).
public struct TokenGrid: Sendable, Equatable {
    /// Leading tokens that are not patches (0 or 1).
    public let skip: Int
    public let rows: Int
    public let columns: Int

    /// The grid for `tokens` tokens and an input of `height × width`, or nil when neither `T − 1`
    /// nor `T` tokens fill a grid of that aspect ratio.
    public init?(tokens: Int, height: Int, width: Int) {
        guard height > 0, width > 0 else { return nil }
        for skip in [1, 0] where tokens - skip > 0 {
            let n = tokens - skip
            // h · w = n and h / w = height / width.
            for h in 1...n where n % h == 0 && h * width == (n / h) * height {
                (self.skip, self.rows, self.columns) = (skip, h, n / h)
                return
            }
        }
        return nil
    }

    /// `(N, T, C)` → `(N, C, h, w)`, the skipped tokens dropped.
    public func featureMap(_ t: Tensor) throws -> Tensor {
        guard t.rank == 3, t.shape[1] == skip + rows * columns else {
            throw ExplainError.shape("token grid \(rows) × \(columns) (+\(skip)) does not fit \(Shape.format(t.shape))")
        }
        let (n, tokens, c) = (t.shape[0], t.shape[1], t.shape[2]), hw = rows * columns
        return Tensor(shape: [n, c, rows, columns]) { out in
            t.withUnsafeBufferPointer { p in
                for s in 0..<n {
                    for k in 0..<hw {
                        let src = (s * tokens + skip + k) * c
                        for ch in 0..<c { out[(s * c + ch) * hw + k] = p[src + ch] }
                    }
                }
            }
        }
    }
}
