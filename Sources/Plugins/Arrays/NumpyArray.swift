import ExplainCore

/// An array read from a NumPy `.npy` file: its shape and typed elements.
public struct NumpyArray: Sendable, Equatable {
    /// The element types ExplainKit reads (little-endian, C order).
    public enum Elements: Sendable, Equatable {
        case float32([Float])
        case float64([Double])
        case int64([Int64])
        case int32([Int32])
        case uint8([UInt8])
        case bool([Bool])
    }

    public var shape: [Int]
    public var elements: Elements

    public init(shape: [Int], elements: Elements) {
        self.shape = shape
        self.elements = elements
    }

    /// The NumPy `descr` of the element type (`<f4`, `<i8`, …).
    public var descr: String {
        switch elements {
        case .float32: "<f4"
        case .float64: "<f8"
        case .int64: "<i8"
        case .int32: "<i4"
        case .uint8: "|u1"
        case .bool: "|b1"
        }
    }

    /// The elements as a float32 tensor (float64 and integer types are converted).
    public func tensor() throws -> Tensor {
        let values: [Float]
        switch elements {
        case .float32(let v): values = v
        case .float64(let v): values = v.map { Float($0) }
        case .int64(let v): values = v.map { Float($0) }
        case .int32(let v): values = v.map { Float($0) }
        case .uint8(let v): values = v.map { Float($0) }
        case .bool(let v): values = v.map { $0 ? 1 : 0 }
        }
        return try Tensor(shape: shape, scalars: values)
    }

    /// The elements in Double (float64 exactly; the others converted).
    public func doubles() -> [Double] {
        switch elements {
        case .float32(let v): v.map { Double($0) }
        case .float64(let v): v
        case .int64(let v): v.map { Double($0) }
        case .int32(let v): v.map { Double($0) }
        case .uint8(let v): v.map { Double($0) }
        case .bool(let v): v.map { $0 ? 1 : 0 }
        }
    }

    /// The elements as integers; throws for floating-point arrays (`<f4`, `<f8`).
    public func integers() throws -> [Int] {
        switch elements {
        case .int64(let v): return v.map { Int($0) }
        case .int32(let v): return v.map { Int($0) }
        case .uint8(let v): return v.map { Int($0) }
        case .bool(let v): return v.map { $0 ? 1 : 0 }
        case .float32, .float64:
            throw ExplainError(.unsupportedDataType, "expected an integer array, got \(descr); save it with dtype int64")
        }
    }
}
