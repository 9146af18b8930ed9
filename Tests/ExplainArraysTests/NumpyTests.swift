import ExplainArrays
import ExplainCore
import ExplainTestSupport
import Foundation
import Testing

@Suite struct NumpyTests {
    let dir = TestPaths.arrays

    @Test func readsEverySupportedType() throws {
        let f4 = try Numpy.read(path: dir + "/f4.npy")
        #expect(f4.shape == [3, 4])
        let t = try f4.tensor()
        #expect(abs(t.scalars[5] - 5.0 / 7.0) < 1e-7)
        #expect(try Numpy.read(path: dir + "/f8.npy").tensor() == t)
        #expect(try Numpy.read(path: dir + "/v2.npy").tensor() == t)
        #expect(try Numpy.read(path: dir + "/v3.npy").tensor() == t)
        #expect(try Numpy.read(path: dir + "/i8.npy").integers() == [-3, -2, -1, 0, 1, 2])
        #expect(try Numpy.read(path: dir + "/i4.npy").integers() == [-3, -2, -1, 0, 1, 2])
        #expect(try Numpy.read(path: dir + "/u1.npy").integers() == [250, 251, 252, 253, 254, 255])
        #expect(try Numpy.read(path: dir + "/b1.npy").integers() == [1, 0, 1])
        let scalar = try Numpy.read(path: dir + "/scalar.npy")
        #expect(scalar.shape == [])
        #expect(try scalar.tensor().scalars == [2.5])
        #expect(throws: ExplainError.self) { try Numpy.read(path: dir + "/f4.npy").integers() }
    }

    @Test func roundTrip() throws {
        var rng = TestRandom(seed: 4)
        let t = rng.tensor([2, 3, 5])
        let path = NSTemporaryDirectory() + "/explainkit-roundtrip-\(UUID().uuidString).npy"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Numpy.write(t, path: path)
        #expect(try Numpy.readTensor(path: path) == t)
        let ints = NumpyArray(shape: [3], elements: .int64([1, -2, 3]))
        #expect(try Numpy.decode(Numpy.encode(ints)) == ints)
        // The header is padded so that the data starts at a multiple of 64 bytes.
        #expect((Numpy.encode(ints).count - 24) % 64 == 0)
    }

    @Test func rejectsWhatItCannotRead() throws {
        func code(_ file: String) -> ExplainError.Code? {
            do { _ = try Numpy.read(path: dir + "/" + file); return nil } catch let e as ExplainError { return e.code } catch { return nil }
        }
        #expect(code("fortran.npy") == .unsupportedDataType)
        #expect(code("bigendian.npy") == .unsupportedDataType)
        #expect(code("c8.npy") == .unsupportedDataType)
        #expect(code("missing.npy") == .io)
        let bytes = try Files.read(dir + "/f4.npy")
        #expect(throws: ExplainError.self) { try Numpy.decode(Array(bytes.prefix(bytes.count - 3))) }
        #expect(throws: ExplainError.self) { try Numpy.decode(Array(bytes.prefix(20))) }
        #expect(throws: ExplainError.self) { try Numpy.decode(Array(repeating: 0x41, count: 100)) }
        // Declared shape far larger than the data: rejected before allocating.
        var absurd = Array(String("\u{93}NUMPY").utf8.dropFirst(2))
        absurd = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000000000), }\n"
        absurd += [UInt8(header.utf8.count), 0] + Array(header.utf8)
        #expect(throws: ExplainError.self) { try Numpy.decode(absurd) }
    }

    @Test func readsStoredArchives() throws {
        let arrays = try NumpyArchive.read(path: dir + "/stored.npz")
        #expect(Set(arrays.keys) == ["x", "y"])
        #expect(try arrays["x"]?.tensor() == (try Numpy.read(path: dir + "/f4.npy").tensor()))
        #expect(try arrays["y"]?.integers() == [0, 1, 2])
        do {
            _ = try NumpyArchive.read(path: dir + "/compressed.npz")
            Issue.record("expected an error")
        } catch let e as ExplainError {
            #expect(e.message.contains("savez_compressed"))
        }
        #expect(throws: ExplainError.self) { try NumpyArchive.decode(Array(repeating: 7, count: 64)) }
    }
}
