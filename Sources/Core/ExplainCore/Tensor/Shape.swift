import Foundation

/// Helpers for shapes (`[Int]`): element counts with overflow checks, strides, broadcasting.
public enum Shape {
    /// The product of the dimensions; throws on negative dimensions or overflow.
    public static func elementCount(_ shape: [Int]) throws -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw ExplainError.shape("negative dimension in \(format(shape))") }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { throw ExplainError(.tooLarge, "shape \(format(shape)) has too many elements") }
            n = p
        }
        return n
    }

    /// The most elements one tensor may hold (2^31 − 1, 8 GiB of floats; every extent then fits the
    /// 32-bit sizes BLAS takes): larger shapes come from a damaged model or absurd options, and are
    /// rejected before anything is allocated.
    public static let maxElements = Int(Int32.max)

    /// Throws `tooLarge` when a tensor of this shape could not or should not be allocated.
    public static func checkAllocation(_ shape: [Int]) throws {
        let n = try elementCount(shape)
        guard n <= maxElements else {
            throw ExplainError(.tooLarge, "a tensor of shape \(format(shape)) (\(n) elements) is beyond the limit of \(maxElements); check the model's shapes or reduce the batch")
        }
    }

    /// Row-major strides of a shape.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// `(2, 3, 4)` style text for messages.
    public static func format(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// The NumPy broadcast of two shapes; throws when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 {
                out[i] = da
            } else if da == 1 {
                out[i] = db
            } else {
                throw ExplainError.shape("shapes \(format(a)) and \(format(b)) cannot be broadcast together")
            }
        }
        return out
    }

    /// Strides of `shape` viewed inside `target` (right-aligned), with 0 for broadcast dimensions.
    public static func broadcastStrides(_ shape: [Int], into target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { i in
            let j = i - offset
            if j < 0 || shape[j] == 1 { return 0 }
            return own[j]
        }
    }

    /// Normalises a possibly negative axis for a tensor of the given rank.
    public static func axis(_ axis: Int, rank: Int, allowEnd: Bool = false) throws -> Int {
        let limit = allowEnd ? rank + 1 : rank
        let a = axis < 0 ? axis + limit : axis
        guard a >= 0 && a < limit else {
            throw ExplainError.argument("axis \(axis) out of range for rank \(rank)")
        }
        return a
    }
}
