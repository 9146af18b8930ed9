import ExplainCore

/// Reads NumPy `.npz` archives written by `np.savez` (zip, stored entries, zip64 aware).
/// Compressed archives (`np.savez_compressed`) are rejected with an error that says so.
public enum NumpyArchive {
    /// Reads every array of an `.npz` file, keyed by name without the `.npy` suffix.
    public static func read(path: String) throws -> [String: NumpyArray] {
        try decode(try Files.read(path), file: path)
    }

    /// Decodes the bytes of an `.npz` archive.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> [String: NumpyArray] {
        func fail(_ m: String) -> ExplainError { ExplainError(.malformedFile, "bad .npz archive: \(m)", file: file) }
        func u16(_ o: Int) throws -> Int {
            guard o >= 0, o + 2 <= bytes.count else { throw fail("truncated") }
            return Int(bytes[o]) | Int(bytes[o + 1]) << 8
        }
        func u32(_ o: Int) throws -> Int { try u16(o) | (try u16(o + 2)) << 16 }
        func u64(_ o: Int) throws -> Int {
            let lo = try u32(o), hi = try u32(o + 4)
            guard hi < 1 << 30 else { throw fail("entry too large") }
            return lo | hi << 32
        }

        // End of central directory: scan back over a possible comment.
        guard bytes.count >= 22 else { throw fail("too short to be a zip file") }
        var eocd = -1
        var o = bytes.count - 22
        while o >= max(0, bytes.count - 22 - 65_535) {
            if bytes[o] == 0x50, bytes[o + 1] == 0x4B, bytes[o + 2] == 5, bytes[o + 3] == 6 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (not a zip file)") }
        var entries = try u16(eocd + 10)
        var cdOffset = try u32(eocd + 16)
        if entries == 0xFFFF || cdOffset == 0xFFFF_FFFF {
            // zip64 end-of-central-directory locator sits right before the EOCD.
            let locator = eocd - 20
            guard locator >= 0, try u32(locator) == 0x0706_4B50 else { throw fail("missing zip64 locator") }
            let record = try u64(locator + 8)
            guard try u32(record) == 0x0606_4B50 else { throw fail("bad zip64 record") }
            entries = try u64(record + 32)
            cdOffset = try u64(record + 48)
        }
        var result: [String: NumpyArray] = [:]
        var p = cdOffset
        for _ in 0..<entries {
            guard try u32(p) == 0x0201_4B50 else { throw fail("bad central directory entry") }
            let method = try u16(p + 10)
            var compressed = try u32(p + 20)
            var localOffset = try u32(p + 42)
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            guard p + 46 + nameLength <= bytes.count else { throw fail("truncated") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            // zip64 extra field: sizes/offset that were 0xFFFFFFFF in the fixed fields, in order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            var uncompressed = try u32(p + 24)
            while e + 4 <= extraEnd {
                let id = try u16(e), size = try u16(e + 2)
                if id == 1 {
                    var f = e + 4
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try u64(f); f += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(f); f += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try u64(f) }
                }
                e += 4 + size
            }
            guard method == 0 else {
                throw ExplainError(.unsupportedDataType, "entry '\(name)' is compressed; save with np.savez (not savez_compressed)", file: file)
            }
            guard try u32(localOffset) == 0x0403_4B50 else { throw fail("bad local header for '\(name)'") }
            let start = localOffset + 30 + (try u16(localOffset + 26)) + (try u16(localOffset + 28))
            guard start + compressed <= bytes.count else { throw fail("entry '\(name)' is truncated") }
            let key = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            do {
                result[key] = try Numpy.decode(Array(bytes[start..<(start + compressed)]), file: "\(file):\(name)")
            }
            p = extraEnd + commentLength
        }
        return result
    }
}
