import ExplainCore
import Foundation

/// Reads and writes NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) and reads `.npz` archives.
///
/// Supported element types: `<f4`, `<f8`, `<i8`, `<i4`, `|u1`, `|b1`, C order. Fortran order and
/// big-endian data are rejected with an error that says how to re-save the array.
public enum Numpy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads an `.npy` file.
    public static func read(path: String) throws -> NumpyArray {
        try decode(try Files.read(path), file: path)
    }

    /// Reads an `.npy` file as a float32 tensor.
    public static func readTensor(path: String) throws -> Tensor {
        do { return try read(path: path).tensor() } catch let e as ExplainError { throw e.inFile(path) }
    }

    /// Decodes the bytes of an `.npy` file; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> NumpyArray {
        func fail(_ message: String) -> ExplainError { ExplainError(.malformedFile, message, file: file) }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw fail("not a NumPy .npy file (missing the \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major).\(bytes[7]) (1.0, 2.0 and 3.0 are supported)")
        }
        guard bytes.count >= headerStart + headerLength else { throw fail("truncated header") }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw fail("header is not text")
        }
        let dict = try HeaderParser.parse(header, file: file)
        guard case .string(let descr)? = dict["descr"] else { throw fail("header has no 'descr' string") }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw fail("header has no 'fortran_order'") }
        guard case .tuple(let shape)? = dict["shape"] else { throw fail("header has no 'shape' tuple") }
        if fortran {
            throw ExplainError(.unsupportedDataType, "Fortran-order arrays are not supported; save with np.ascontiguousarray(a)", file: file)
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in shape \(shape)") }
        let count: Int
        do { count = try Shape.elementCount(shape) } catch { throw fail("shape \(shape) is too large") }

        let normalized = descr.replacingOccurrences(of: "=", with: "<")
        let itemSize: Int
        switch normalized {
        case "<f4", "<i4": itemSize = 4
        case "<f8", "<i8": itemSize = 8
        case "|u1", "|b1", "<u1", "<b1": itemSize = 1
        default:
            if descr.hasPrefix(">") {
                throw ExplainError(.unsupportedDataType, "big-endian data ('\(descr)') is not supported; save with a.astype(a.dtype.newbyteorder('<'))", file: file)
            }
            throw ExplainError(.unsupportedDataType, "element type '\(descr)' is not supported (use <f4, <f8, <i8, <i4, |u1 or |b1)", file: file)
        }
        let start = headerStart + headerLength
        let (size, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, bytes.count - start >= size else {
            throw fail("truncated data: shape \(shape) needs \(count) × \(itemSize) bytes, the file has \(bytes.count - start)")
        }
        let elements: NumpyArray.Elements = bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + start
            func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
                (0..<count).map { T(littleEndian: base.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
            }
            switch normalized {
            case "<f4": return .float32(load(UInt32.self).map { Float(bitPattern: $0) })
            case "<f8": return .float64(load(UInt64.self).map { Double(bitPattern: $0) })
            case "<i8": return .int64(load(Int64.self))
            case "<i4": return .int32(load(Int32.self))
            case "|b1", "<b1": return .bool(load(UInt8.self).map { $0 != 0 })
            default: return .uint8(load(UInt8.self))
            }
        }
        return NumpyArray(shape: shape, elements: elements)
    }

    /// Encodes an array as `.npy` version 1.0 bytes.
    public static func encode(_ array: NumpyArray) -> [UInt8] {
        let shapeText = array.shape.count == 1 ? "(\(array.shape[0]),)" : "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(array.descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        out += Array(header.utf8)
        func append<T: FixedWidthInteger>(_ values: [T]) {
            for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        }
        switch array.elements {
        case .float32(let v): append(v.map(\.bitPattern))
        case .float64(let v): append(v.map(\.bitPattern))
        case .int64(let v): append(v)
        case .int32(let v): append(v)
        case .uint8(let v): out += v
        case .bool(let v): out += v.map { $0 ? 1 : 0 }
        }
        return out
    }

    /// Writes an array as an `.npy` file.
    public static func write(_ array: NumpyArray, path: String) throws {
        try Files.write(encode(array), to: path)
    }

    /// Writes a float32 tensor as an `.npy` file.
    public static func write(_ tensor: Tensor, path: String) throws {
        try write(NumpyArray(shape: tensor.shape, elements: .float32(tensor.scalars)), path: path)
    }
}

/// File access with errors that name the file.
public enum Files {
    /// Reads a whole file.
    public static func read(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExplainError(.io, "file not found", file: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExplainError(.io, "cannot read the file (is it a directory, or unreadable?)", file: path)
        }
        return [UInt8](data)
    }

    /// Writes a whole file, replacing it.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ExplainError(.io, "cannot write the file (does the directory exist?)", file: path)
        }
    }
}
