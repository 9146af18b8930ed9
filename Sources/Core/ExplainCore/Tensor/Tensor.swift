import Foundation
/// A dense, row-major tensor of `Float` values with value semantics (copy-on-write).
///
/// Images are NCHW. The storage is a Swift array, so copies are cheap until one of them is
/// mutated. Hot loops go through `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer`.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The extent of each dimension.
    public private(set) var shape: [Int]
    /// The elements in row-major (C) order; `scalars.count == shape.product`.
    public private(set) var scalars: [Float]

    /// Creates a tensor from a shape and its elements; throws when the counts disagree.
    public init(shape: [Int], scalars: [Float]) throws {
        let n = try Shape.elementCount(shape)
        guard n == scalars.count else {
            throw ExplainError.shape("\(scalars.count) values do not fill shape \(Shape.format(shape)) (\(n) elements)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of a shape that comes from a file or a user: throws for a negative extent or one
    /// beyond `Shape.maxElements`, before allocating.
    public init(checkedShape shape: [Int], repeating value: Float = 0) throws {
        try Shape.checkAllocation(shape)
        self.init(shape: shape, repeating: value)
    }

    /// Creates a tensor with the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.scalars = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Creates a scalar (rank-0) tensor.
    public init(scalar: Float) {
        self.shape = []
        self.scalars = [scalar]
    }

    /// Creates a tensor whose elements are written by `fill`, without zero-initialising first.
    /// `fill` must write every element. (With a trailing closure the label disappears:
    /// `Tensor(shape: s) { p in … }` is this initialiser, and a `+=` in it reads garbage.) When the
    /// environment sets `EXPLAINKIT_POISON=1` — `make test` does — the buffer holds NaN before
    /// `fill` runs, so an element it leaves unwritten shows up in the tests.
    public init(shape: [Int], unsafeUninitialized fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        let n = shape.reduce(1, *)
        self.shape = shape
        self.scalars = try [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            if Self.poisonUninitialized, let base = buffer.baseAddress { base.initialize(repeating: .nan, count: n) }
            try fill(buffer)
            initialized = n
        }
    }

    /// Whether `init(shape:unsafeUninitialized:)` fills its buffer with NaN first (`EXPLAINKIT_POISON=1`).
    static let poisonUninitialized: Bool = ProcessInfo.processInfo.environment["EXPLAINKIT_POISON"] == "1"

    /// Internal initialiser for code that has already validated the element count.
    init(validatedShape shape: [Int], scalars: [Float]) {
        assert(shape.reduce(1, *) == scalars.count)
        self.shape = shape
        self.scalars = scalars
    }

    /// A stand-in for a value of this shape whose elements were not kept: what a backward pass
    /// hands to steps that read only a value's shape (`Layer.pullbackReadsInputs` false) after the
    /// forward pass freed it. Reading its elements is a programming error and stops the process.
    public static func placeholder(shape: [Int]) -> Tensor { Tensor(placeholderShape: shape) }

    private init(placeholderShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.scalars = []
    }

    /// Whether this is a `placeholder`: a shape without elements.
    public var isPlaceholder: Bool { scalars.isEmpty && !shape.contains(0) }

    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The number of elements (of the shape, also for a placeholder).
    public var count: Int { scalars.isEmpty ? shape.reduce(1, *) : scalars.count }

    /// Reads the elements through a buffer pointer.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(!isPlaceholder, "a placeholder's elements were read: a backward step reads a value it declared it does not read")
        return try scalars.withUnsafeBufferPointer(body)
    }

    /// Mutates the elements through a buffer pointer (copies the storage first if it is shared).

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        precondition(!isPlaceholder, "a placeholder's elements were written")
        return try scalars.withUnsafeMutableBufferPointer(body)
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        let n = try Shape.elementCount(newShape)
        guard n == count else {
            throw ExplainError.shape("cannot reshape \(Shape.format(shape)) (\(count) elements) to \(Shape.format(newShape)) (\(n) elements)")
        }
        return Tensor(validatedShape: newShape, scalars: scalars)
    }

    /// The element at a multi-index; throws when the index is out of range.
    public func element(at index: [Int]) throws -> Float {
        guard index.count == rank else {
            throw ExplainError.argument("index \(index) has \(index.count) components, tensor has rank \(rank)")
        }
        var offset = 0
        for (i, (k, d)) in zip(index, shape).enumerated() {
            guard k >= 0 && k < d else {
                throw ExplainError.argument("index \(k) out of range 0..<\(d) in dimension \(i)")
            }
            offset = offset * d + k
        }
        return scalars[offset]
    }

    /// Sample `n` of a batched tensor (dimension 0), keeping the leading dimension of size 1.
    public func sample(_ n: Int) throws -> Tensor {
        guard rank >= 1, n >= 0, n < shape[0] else {
            throw ExplainError.argument("sample \(n) out of range for shape \(Shape.format(shape))")
        }
        return try samples(n..<(n + 1))
    }

    /// Samples `range` of a batched tensor (dimension 0).
    public func samples(_ range: Range<Int>) throws -> Tensor {
        guard rank >= 1, range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw ExplainError.argument("samples \(range) out of range for shape \(Shape.format(shape))")
        }
        let per = shape[0] == 0 ? 0 : count / shape[0]
        var s = shape
        s[0] = range.count
        return Tensor(validatedShape: s, scalars: Array(scalars[(range.lowerBound * per)..<(range.upperBound * per)]))
    }

    /// Stacks equally shaped batched tensors along dimension 0.
    public static func concatenateBatches(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first else { throw ExplainError.argument("nothing to concatenate") }
        let tail = Array(first.shape.dropFirst())
        var total = 0
        for p in parts {
            guard p.rank == first.rank, Array(p.shape.dropFirst()) == tail else {
                throw ExplainError.shape("cannot stack \(Shape.format(p.shape)) onto \(Shape.format(first.shape))")
            }
            total += p.shape[0]
        }
        var scalars: [Float] = []
        scalars.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { scalars.append(contentsOf: p.scalars) }
        return Tensor(validatedShape: [total] + tail, scalars: scalars)
    }

    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor\(Shape.format(shape))[\(preview)\(count > 8 ? ", …" : "")]"
    }
}

extension Tensor {
    /// Throws a `nonFinite` error naming `what` and the first bad element when any element is NaN
    /// or infinite (explanations need finite inputs).
    public func requireFinite(_ what: String) throws {
        guard !isFinite else { return }
        let bad = withUnsafeBufferPointer { p in p.firstIndex { !$0.isFinite } } ?? 0
        let per = Swift.max(1, count / Swift.max(1, shape.first ?? 1))
        throw ExplainError(.nonFinite, "\(what) holds NaN or infinite values (first: sample \(bad / per), element \(bad % per)); "
                           + "explanations need finite inputs")
    }

    /// Whether every element is finite.
    public var isFinite: Bool {
        withUnsafeBufferPointer { p in p.isEmpty || Kernels.allFinite(p.baseAddress!, count: p.count) }
    }
}

extension Optional where Wrapped == Tensor {
    /// Runs `body` with a pointer to the elements, or with nil when there is no tensor (an optional bias).
    public func withUnsafePointer<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        guard let t = self else { return try body(nil) }
        return try t.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
