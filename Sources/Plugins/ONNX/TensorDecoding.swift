import ExplainCore
import Foundation

/// Decodes ONNX `TensorProto`s (typed fields or `raw_data`, any alignment) into constants,
/// checking declared sizes against the configured limit before allocating.
struct TensorDecoder {
    let maxBytes: Int

    static let typeNames: [Int32: String] = [
        1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
        9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 16: "BFLOAT16",
    ]

    func decode(_ t: Onnx_TensorProto, what: String) throws -> ConstantValue {
        if t.dataLocation == 1 || !t.externalData.isEmpty {
            throw ExplainError(.unsupportedAttribute,
                "\(what) is stored as external data; re-export with the weights embedded (onnx.save(model, path, save_as_external_data=False)); models over 2 GB are not supported")
        }
        var shape: [Int] = []
        for d in t.dims {
            guard d >= 0 && d < Int64(Int32.max) else {
                throw ExplainError(.malformedFile, "\(what) declares an invalid dimension \(d)")
            }
            shape.append(Int(d))
        }
        let count: Int
        do { count = try Shape.elementCount(shape) } catch {
            throw ExplainError(.tooLarge, "\(what) declares shape \(Shape.format(shape)), too many elements")
        }
        let itemSize: Int
        switch t.dataType {
        case 1, 6, 12: itemSize = 4
        case 7, 11, 13: itemSize = 8
        case 2, 3, 9: itemSize = 1
        case 4, 5, 10, 16: itemSize = 2
        default:
            throw ExplainError(.unsupportedDataType, "\(what) has element type \(Self.typeNames[t.dataType] ?? "\(t.dataType)"), which is not supported")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, bytes <= maxBytes else {
            throw ExplainError(.tooLarge, "\(what) declares shape \(Shape.format(shape)) (\(count) elements), over the limit of \(maxBytes) bytes; raise ImportOptions.maxTensorBytes if the model is genuine")
        }
        let raw = t.rawData
        if !raw.isEmpty || (count > 0 && typedCount(t) == 0) {
            guard raw.count == bytes else {
                throw ExplainError(.malformedFile, "\(what): raw_data has \(raw.count) bytes, shape \(Shape.format(shape)) of \(Self.typeNames[t.dataType] ?? "?") needs \(bytes)")
            }
            return try fromRaw(raw, type: t.dataType, count: count, shape: shape)
        }
        guard typedCount(t) == count else {
            throw ExplainError(.malformedFile, "\(what) holds \(typedCount(t)) values, shape \(Shape.format(shape)) needs \(count)")
        }
        switch t.dataType {
        case 1: return .float(try Tensor(shape: shape, scalars: t.floatData))
        case 11: return .float(try Tensor(shape: shape, scalars: t.doubleData.map { Float($0) }))
        case 10: return .float(try Tensor(shape: shape, scalars: t.int32Data.map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) }))
        case 16: return .float(try Tensor(shape: shape, scalars: t.int32Data.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0) << 16) }))
        case 7: return .int(IntTensor(t.int64Data.map { Int($0) }, shape: shape))
        case 12, 13: return .int(IntTensor(t.uint64Data.map { Int(truncatingIfNeeded: $0) }, shape: shape))
        default: return .int(IntTensor(t.int32Data.map { Int($0) }, shape: shape))
        }
    }

    private func typedCount(_ t: Onnx_TensorProto) -> Int {
        switch t.dataType {
        case 1: t.floatData.count
        case 11: t.doubleData.count
        case 7: t.int64Data.count
        case 12, 13: t.uint64Data.count
        default: t.int32Data.count
        }
    }

    private func fromRaw(_ raw: Data, type: Int32, count: Int, shape: [Int]) throws -> ConstantValue {
        raw.withUnsafeBytes { (p: UnsafeRawBufferPointer) -> ConstantValue in
            func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
                (0..<count).map { T(littleEndian: p.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
            }
            switch type {
            case 1: return .float(Tensor(shape: shape) { out in
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
            })
            case 11: return .float(Tensor(shape: shape) { out in
                for (i, v) in load(UInt64.self).enumerated() { out[i] = Float(Double(bitPattern: v)) }
            })
            case 10: return .float(Tensor(shape: shape) { out in
                for (i, v) in load(UInt16.self).enumerated() { out[i] = Float(Float16(bitPattern: v)) }
            })
            case 16: return .float(Tensor(shape: shape) { out in
                for (i, v) in load(UInt16.self).enumerated() { out[i] = Float(bitPattern: UInt32(v) << 16) }
            })
            case 7: return .int(IntTensor(load(Int64.self).map { Int($0) }, shape: shape))
            case 13: return .int(IntTensor(load(UInt64.self).map { Int(truncatingIfNeeded: $0) }, shape: shape))
            case 6: return .int(IntTensor(load(Int32.self).map { Int($0) }, shape: shape))
            case 12: return .int(IntTensor(load(UInt32.self).map { Int($0) }, shape: shape))
            case 4: return .int(IntTensor(load(UInt16.self).map { Int($0) }, shape: shape))
            case 5: return .int(IntTensor(load(Int16.self).map { Int($0) }, shape: shape))
            case 3: return .int(IntTensor(load(Int8.self).map { Int($0) }, shape: shape))
            default: return .int(IntTensor(load(UInt8.self).map { Int($0) }, shape: shape))
            }
        }
    }
}
