import Foundation

/// The `.fvecs` / `.ivecs` formats of the ANN benchmarks: per row, a little-endian `Int32` count followed
/// by that many little-endian `Float32` (fvecs) or `Int32` (ivecs) values.
public enum VecsFile {
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Reads an `.fvecs` file whose rows all have one dimension; returns the rows flat.
    public static func readFloats(_ path: String) throws -> (dimension: Int, values: [Float]) {
        try readFile(path).withUnsafeBytes { raw in try readFloats(raw, path: path) }
    }

    /// Parses an `.fvecs` image whose rows all have one dimension; `path` names it in errors.
    public static func readFloats(_ raw: UnsafeRawBufferPointer, path: String) throws(FormatError)
        -> (dimension: Int, values: [Float])
    {
        guard raw.count >= 4 else { throw FormatError(path: path, reason: "empty file") }
        let dimension = Int(Int32(littleEndian: raw.loadUnaligned(as: Int32.self)))
        guard dimension > 0 else { throw FormatError(path: path, reason: "first row has dimension \(dimension)") }
        let rowBytes = 4 + dimension * 4
        guard raw.count % rowBytes == 0 else {
            throw FormatError(path: path, reason: "\(raw.count) bytes is not a whole number of \(dimension)-d rows")
        }
        let rows = raw.count / rowBytes
        var values = [Float](repeating: 0, count: rows * dimension)
        try values.withUnsafeMutableBufferPointer { out throws(FormatError) in
            for r in 0..<rows {
                let offset = r * rowBytes
                let d = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                guard d == dimension else { throw FormatError(path: path, reason: "row \(r) has dimension \(d), not \(dimension)") }
                for j in 0..<dimension {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 + j * 4, as: UInt32.self))
                    out[r * dimension + j] = Float(bitPattern: bits)
                }
            }
        }
        return (dimension, values)
    }

    /// Reads every row of an `.ivecs` file.
    public static func readInts(_ path: String) throws -> [[Int32]] {
        try readFile(path).withUnsafeBytes { raw in try readInts(raw, path: path) }
    }

    /// Parses every row of an `.ivecs` image; `path` names it in errors.
    public static func readInts(_ raw: UnsafeRawBufferPointer, path: String) throws(FormatError) -> [[Int32]] {
        var rows: [[Int32]] = []
        var offset = 0
        while offset < raw.count {
            guard offset + 4 <= raw.count else { throw FormatError(path: path, reason: "truncated row header") }
            let n = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
            guard n >= 0, offset + 4 + n * 4 <= raw.count else { throw FormatError(path: path, reason: "truncated row") }
            rows.append((0..<n).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 + $0 * 4, as: Int32.self)) })
            offset += 4 + n * 4
        }
        return rows
    }

    /// Writes rows as `.ivecs`.
    public static func writeInts(_ rows: [[Int32]], to path: String) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows.reduce(0) { $0 + 4 + $1.count * 4 })
        func append(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        for row in rows {
            append(Int32(row.count))
            for v in row { append(v) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private static func readFile(_ path: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw FormatError(path: path, reason: "no such file") }
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    }
}
