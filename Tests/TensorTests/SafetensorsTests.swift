import XCTest
import Foundation
@testable import Tensor
import TestSupport

final class SafetensorsTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("safetensors-tests").path
    }

    private var fixtures: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures" }

    /// A file with `header` (JSON text) and `data` bytes, framed like a real one unless `length` overrides.
    private func writeRaw(_ header: String, data: [UInt8] = [], length: UInt64? = nil, name: String = "raw") -> String {
        let headerBytes = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { Array($0) }
        bytes += headerBytes + data
        let path = directory + "/\(name).safetensors"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    private func assertFails(_ path: String, _ code: SafetensorsError.Code, tensor: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Safetensors.read(path: path), file: file, line: line) { error in
            guard let error = error as? SafetensorsError else {
                return XCTFail("not a SafetensorsError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            XCTAssertEqual(error.file, path, file: file, line: line)
            XCTAssertEqual(error.tensor, tensor, "\(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(path), file: file, line: line)
        }
    }

    func testRoundTripKeepsValuesShapesAndMetadata() throws {
        let tensors: [String: Tensor] = [
            "b.bias": Tensor(shape: Shape(3), values: [1, -2, 3.5]),
            "a.weight": Tensor(shape: Shape(2, 2, 2), values: randomArray(8, seed: 1)),
            "scalar": Tensor(shape: Shape(), values: [42]),
            "empty": Tensor(shape: Shape(0, 4)),
        ]
        tensors["a.weight"]!.freeze()  // writing only reads
        let metadata = ["step": "120", "rng": "[1,2,3]", "quote\"and\\slash": "line\nbreak\u{1}✓"]
        let path = directory + "/ckpt.safetensors"
        try Safetensors.write(tensors, metadata: metadata, to: path)
        let file = try Safetensors.read(path: path)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(Set(file.names), Set(tensors.keys))
        XCTAssertTrue(file.skipped.isEmpty)
        for (name, tensor) in tensors {
            XCTAssertEqual(file.tensors[name]!.shape, tensor.shape, name)
            XCTAssertEqual(file.tensors[name]!.toArray(), tensor.toArray(), name)
        }
        // Data section 8-byte aligned; no temporary files left behind.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } % 8, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["ckpt.safetensors"])
    }

    func testWriteReplacesAnExistingFileAndWritesViews() throws {
        let path = directory + "/ckpt.safetensors"
        try Safetensors.write(["x": Tensor(shape: Shape(2), values: [1, 2])], to: path)
        let big = Tensor(shape: Shape(4, 2), values: (0..<8).map(Float.init))
        try Safetensors.write(["rows": big.rows(1..<3)], to: path)
        let file = try Safetensors.read(path: path)
        XCTAssertEqual(file.names, ["rows"])
        XCTAssertEqual(file.tensors["rows"]!.toArray(), [2, 3, 4, 5])
    }

    func testReadsFileWrittenByPython() throws {
        let file = try Safetensors.read(path: fixtures + "/tiny.safetensors")
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "unipelt \"fixture\" ✓"])
        XCTAssertEqual(file.names, ["encoder.bias", "encoder.weight", "half"])
        XCTAssertEqual(file.tensors["encoder.weight"]!.shape, Shape(2, 3))
        XCTAssertEqual(file.tensors["encoder.weight"]!.toArray(), [-0.5, -0.25, 0, 0.25, 0.5, 0.75])
        XCTAssertEqual(file.tensors["encoder.bias"]!.toArray(), [3.14159265])
        XCTAssertEqual(file.tensors["half"]!.toArray(), [1.5, -2, 0x1p-24, 65504])
        XCTAssertEqual(file.skipped, [.init(name: "embeddings.position_ids", dtype: "I64", shape: [1, 4])])

        let bf16 = try Safetensors.read(path: fixtures + "/bf16.safetensors")
        XCTAssertEqual(bf16.tensors["bf16"]!.toArray(), [1, -0.5, Float(3.00405527047391e+38), 0x1p-130])
    }

    func testHalfConversionCoversSpecialValues() {
        XCTAssertEqual(Safetensors.floatFromHalf(0x0000), 0)
        XCTAssertEqual(Safetensors.floatFromHalf(0x8000).sign, .minus)
        XCTAssertEqual(Safetensors.floatFromHalf(0x3c00), 1)
        XCTAssertEqual(Safetensors.floatFromHalf(0x83ff), -Float(0x3ff) * 0x1p-24)
        XCTAssertEqual(Safetensors.floatFromHalf(0x7c00), .infinity)
        XCTAssertEqual(Safetensors.floatFromHalf(0xfc00), -.infinity)
        XCTAssertTrue(Safetensors.floatFromHalf(0x7e00).isNaN)
    }

    // MARK: Every error case

    func testMissingFileIsUnreadable() {
        assertFails(directory + "/absent.safetensors", .unreadable)
    }

    func testFileShorterThanTheLengthPrefixIsTruncated() {
        let path = directory + "/short.safetensors"
        FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
        assertFails(path, .truncated)
    }

    func testBadHeaderLengths() {
        assertFails(writeRaw("{}", length: 0, name: "zero"), .invalidHeaderLength)
        assertFails(writeRaw("{}", length: UInt64.max, name: "huge"), .invalidHeaderLength)
        assertFails(writeRaw("{}", length: 500, name: "beyond"), .truncated)
    }

    func testNonJSONHeaders() {
        assertFails(writeRaw("{\"a\": [", name: "cut"), .invalidHeaderJSON)
        assertFails(writeRaw("[1, 2]", name: "array"), .invalidHeaderJSON)
        assertFails(writeRaw("\u{FF}\u{FE}garbage", name: "binary"), .invalidHeaderJSON)
    }

    func testMalformedEntries() {
        let four = [UInt8](repeating: 0, count: 4)
        assertFails(writeRaw(#"{"t": 3}"#, data: four, name: "notobject"), .invalidEntry, tensor: "t")
        assertFails(writeRaw(#"{"t": {"shape": [1], "data_offsets": [0, 4]}}"#, data: four, name: "nodtype"),
                    .invalidEntry, tensor: "t")
        assertFails(writeRaw(#"{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, data: four,
                             name: "negshape"), .invalidEntry, tensor: "t")
        assertFails(writeRaw(#"{"t": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#, data: four,
                             name: "fracshape"), .invalidEntry, tensor: "t")
        assertFails(writeRaw(#"{"t": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#, data: four,
                             name: "oneoffset"), .invalidEntry, tensor: "t")
        assertFails(writeRaw(#"{"t": {"dtype": "F32", "shape": [1,1,1,1,1], "data_offsets": [0, 4]}}"#, data: four,
                             name: "rank5"), .invalidEntry, tensor: "t")
        assertFails(writeRaw(#"{"__metadata__": {"k": 1}}"#, name: "metanum"), .invalidEntry)
        assertFails(writeRaw(#"{"__metadata__": [1]}"#, name: "metalist"), .invalidEntry)
    }

    func testUnsupportedDType() {
        assertFails(writeRaw(#"{"t": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}"#,
                             data: [0, 0, 0, 0]), .unsupportedDType, tensor: "t")
    }

    func testOffsetErrors() {
        let eight = [UInt8](repeating: 0, count: 8)
        assertFails(writeRaw(#"{"t": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}}"#, data: eight,
                             name: "reversed"), .offsetsOutOfRange, tensor: "t")
        assertFails(writeRaw(#"{"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, data: eight,
                             name: "pastend"), .truncated, tensor: "t")
        assertFails(writeRaw(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
                             data: eight, name: "overlap"), .overlappingOffsets, tensor: "b")
    }

    func testByteCountMismatch() {
        assertFails(writeRaw(#"{"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#,
                             data: [UInt8](repeating: 0, count: 8)), .byteCountMismatch, tensor: "t")
        assertFails(writeRaw(#"{"ids": {"dtype": "I64", "shape": [2], "data_offsets": [0, 8]}}"#,
                             data: [UInt8](repeating: 0, count: 8), name: "int"), .byteCountMismatch, tensor: "ids")
    }

    func testTruncatedRealFile() throws {
        let path = directory + "/full.safetensors"
        try Safetensors.write(["w": Tensor(shape: Shape(16), values: randomArray(16, seed: 3))], to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = directory + "/cut.safetensors"
        FileManager.default.createFile(atPath: cut, contents: bytes.prefix(bytes.count - 5))
        assertFails(cut, .truncated, tensor: "w")
        FileManager.default.createFile(atPath: cut, contents: bytes.prefix(20))
        assertFails(cut, .truncated)
    }

    func testWriteErrors() {
        let t = Tensor(shape: Shape(1))
        for name in ["", "__metadata__"] {
            XCTAssertThrowsError(try Safetensors.write([name: t], to: directory + "/x.safetensors")) {
                XCTAssertEqual(($0 as? SafetensorsError)?.code, .invalidName)
            }
        }
        XCTAssertThrowsError(try Safetensors.write(["t": t], to: directory + "/no/such/dir/x.safetensors")) {
            XCTAssertEqual(($0 as? SafetensorsError)?.code, .writeFailed)
        }
    }
}
