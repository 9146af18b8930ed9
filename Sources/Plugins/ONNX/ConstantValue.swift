import ExplainCore

/// An integer that is either known at import time or the (dynamic) batch size.
enum SymInt: Equatable, CustomStringConvertible {
    case known(Int)
    case batch
    /// k · N for k ≥ 2 (attention reshapes fold the heads into the batch).
    case scaledBatch(Int)

    /// k · N, normalised (1 · N is the batch itself).
    static func batch(times k: Int) -> SymInt { k == 1 ? .batch : .scaledBatch(k) }

    /// The multiple of the batch size this value is (nil for a known value).
    var batchMultiple: Int? {
        switch self {
        case .known: nil
        case .batch: 1
        case .scaledBatch(let k): k
        }
    }

    var description: String {
        switch self {
        case .known(let v): "\(v)"
        case .batch: "N"
        case .scaledBatch(let k): "\(k)N"
        }
    }
}

/// An integer tensor known at import time (shape computations), possibly holding the batch symbol.
struct IntTensor: Equatable {
    var shape: [Int]
    var values: [SymInt]

    init(shape: [Int], values: [SymInt]) {
        self.shape = shape
        self.values = values
    }

    init(_ ints: [Int], shape: [Int]? = nil) {
        self.shape = shape ?? [ints.count]
        self.values = ints.map { .known($0) }
    }

    /// The values, all of which must be known.
    func known(_ what: String) throws -> [Int] {
        try values.map {
            guard case .known(let v) = $0 else {
                throw ExplainError(.unsupportedAttribute, "\(what) depends on the batch size, which is only known at run time")
            }
            return v
        }
    }
}

/// A tensor known at import time: float data (weights) or integers (shapes, indices).
enum ConstantValue {
    case float(Tensor)
    case int(IntTensor)

    var shape: [Int] {
        switch self {
        case .float(let t): t.shape
        case .int(let t): t.shape
        }
    }

    /// As a float tensor (integers converted; the batch symbol is an error).
    func floatTensor(_ what: String) throws -> Tensor {
        switch self {
        case .float(let t): return t
        case .int(let t): return try Tensor(shape: t.shape, scalars: try t.known(what).map { Float($0) })
        }
    }

    /// As integers; floats must be integral.
    func intTensor(_ what: String) throws -> IntTensor {
        switch self {
        case .int(let t): return t
        case .float(let t):
            guard t.scalars.allSatisfy({ $0.rounded() == $0 && abs($0) < 1e15 }) else {
                throw ExplainError(.unsupportedAttribute, "\(what) must be integers")
            }
            return IntTensor(shape: t.shape, values: t.scalars.map { .known(Int($0)) })
        }
    }

    /// As a flat list of known integers.
    func ints(_ what: String) throws -> [Int] { try intTensor(what).known(what) }
}
