import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header, then the tensor bytes.
///
/// Header entries are `name: {"dtype", "shape", "data_offsets": [begin, end]}` with offsets relative to the
/// data section, plus an optional `__metadata__` map of strings. Validation is strict: the header fits the file,
/// is one JSON object, each dtype is known, each byte count equals the shape's, and the tensors tile the data
/// section exactly, with no overlap and no hole.
public enum SafeTensors {
    public enum DType: String, Sendable, CaseIterable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
        case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"
        case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

        public var size: Int {
            switch self {
            case .f64, .i64, .u64: return 8
            case .f32, .i32, .u32: return 4
            case .f16, .bf16, .i16, .u16: return 2
            case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int
        public let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// Largest header accepted (100 MB, the reference implementation's limit).
    public static let maximumHeaderSize = 100_000_000

    /// Parses and validates the header of a safetensors image of `bytes.count` bytes.
    /// - Returns: the entries by name, the metadata and the offset of the data section.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws
        -> (entries: [String: Entry], metadata: [String: String], dataOffset: Int)
    {
        func fail(_ reason: String) -> NeuralError { .malformed(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw fail("file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(maximumHeaderSize) else { throw fail("header length \(length) exceeds \(maximumHeaderSize)") }
        let headerLength = Int(length)
        guard headerLength <= bytes.count - 8 else {
            throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        guard headerLength >= 2 else { throw fail("header length \(headerLength) too small for a JSON object") }
        let header = Data(bytes[8..<(8 + headerLength)])
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: header, options: [])
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataOffset = 8 + headerLength
        let dataSize = bytes.count - dataOffset
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in map {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let fields = value as? [String: Any] else { throw fail("tensor '\(name)' entry is not an object") }
            guard let dtypeName = fields["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype string") }
            guard let dtype = DType(rawValue: dtypeName) else { throw fail("tensor '\(name)' has unknown dtype '\(dtypeName)'") }
            guard let shapeValues = fields["shape"] as? [Any] else { throw fail("tensor '\(name)' has no shape array") }
            let shape = try shapeValues.map { v -> Int in
                guard let d = integer(v), d >= 0 else { throw fail("tensor '\(name)' has a bad dimension in its shape") }
                return d
            }
            guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = integer(offsets[0]), let end = integer(offsets[1])
            else { throw fail("tensor '\(name)' has no [begin, end] data_offsets") }
            guard begin >= 0, begin <= end else { throw fail("tensor '\(name)' has offsets [\(begin), \(end)] out of order") }
            guard end <= dataSize else {
                throw fail("tensor '\(name)' ends at \(end), past the \(dataSize)-byte data section")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("tensor '\(name)' shape \(shape) overflows") }
                elements = product
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, byteCount == end - begin else {
                throw fail("tensor '\(name)' \(dtypeName) \(shape) needs \(elements) × \(dtype.size) bytes, offsets span \(end - begin)")
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
        }
        // The tensors must tile the data section: sorted by offset, each starts where the previous ended.
        var cursor = 0
        for entry in entries.values.sorted(by: { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }) {
            if entry.begin < cursor { throw fail("tensor '\(entry.name)' overlaps the previous tensor") }
            if entry.begin > cursor { throw fail("hole of \(entry.begin - cursor) bytes before tensor '\(entry.name)'") }
            cursor = entry.end
        }
        guard cursor == dataSize else { throw fail("\(dataSize - cursor) trailing bytes after the last tensor") }
        return (entries, metadata, dataOffset)
    }

    /// An integral JSON number that fits in `Int` (rejects booleans, fractions and strings).
    private static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        // JSON booleans arrive as NSNumbers of C type `char` (corelibs and Darwin alike).
        let type = String(cString: number.objCType)
        guard type != "c", type != "B" else { return nil }
        let d = number.doubleValue
        guard d.isFinite, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }
}

/// A memory-mapped safetensors file with a validated header.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let entries: [String: SafeTensors.Entry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataOffset: Int

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        (entries, metadata, dataOffset) = try SafeTensors.parseHeader(file.bytes, path: path)
    }

    public convenience init(url: URL) throws { try self.init(path: url.path) }

    public var names: [String] { entries.keys.sorted() }

    /// The tensor as Float32: F32 data is used in place when aligned, F16 and BF16 are converted.
    /// - Returns: nil when there is no tensor of that name.
    public func parameter(_ name: String) throws -> Parameter? {
        guard let entry = entries[name] else { return nil }
        let source = file.bytes.baseAddress! + dataOffset + entry.begin
        let count = entry.count
        switch entry.dtype {
        case .f32:
            if Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0 {
                return Parameter(shape: entry.shape, borrowing: source.assumingMemoryBound(to: Float.self), owner: file)
            }
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            UnsafeMutableRawPointer(buffer).copyMemory(from: source, byteCount: count * 4)
            return Parameter(shape: entry.shape, adopting: buffer)
        case .f16, .bf16:
            // One branch-free pass the compiler vectorises: cold start (a query loading the text encoder)
            // converts tens of millions of halves.
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            Self.withHalves(source, count: count) { halves in
                if entry.dtype == .f16 {
                    for i in 0..<count { buffer[i] = Float(halfBits: UInt16(littleEndian: halves[i])) }
                } else {
                    for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(UInt16(littleEndian: halves[i])) << 16) }
                }
            }
            return Parameter(shape: entry.shape, adopting: buffer)
        default:
            throw NeuralError.unsupportedDType(path: path, tensor: name, dtype: entry.dtype.rawValue)
        }
    }

    /// The rank-2 F16 or BF16 tensor `name` in place, or nil when there is none or it has another dtype.
    public func halfMatrix(_ name: String) -> HalfMatrix? {
        guard let entry = entries[name], entry.dtype == .f16 || entry.dtype == .bf16, entry.shape.count == 2 else {
            return nil
        }
        return HalfMatrix(rows: entry.shape[0], columns: entry.shape[1],
                          words: UnsafeRawPointer(file.bytes.baseAddress! + dataOffset + entry.begin),
                          bfloat16: entry.dtype == .bf16, owner: file)
    }

    /// Calls `body` with the 16-bit words at `source`, copied first only when `source` is not 2-byte aligned.
    private static func withHalves(_ source: UnsafeRawPointer, count: Int, _ body: (UnsafePointer<UInt16>) -> Void) {
        if Int(bitPattern: source) % 2 == 0 {
            body(source.assumingMemoryBound(to: UInt16.self))
            return
        }
        let copy = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, count))
        defer { copy.deallocate() }
        UnsafeMutableRawPointer(copy).copyMemory(from: source, byteCount: 2 * count)
        body(copy)
    }

    /// An integer tensor (I64 or I32) as `Int`s, for fixtures such as token ids; nil when absent.
    public func integers(_ name: String) throws -> (shape: [Int], values: [Int])? {
        guard let entry = entries[name] else { return nil }
        let source = file.bytes.baseAddress! + dataOffset + entry.begin
        switch entry.dtype {
        case .i64:
            return (entry.shape, (0..<entry.count).map { Int(Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) })
        case .i32:
            return (entry.shape, (0..<entry.count).map { Int(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) })
        default:
            throw NeuralError.unsupportedDType(path: path, tensor: name, dtype: entry.dtype.rawValue)
        }
    }
}

extension Float {
    /// Converts IEEE 754 binary16 bits, including subnormals, infinities and NaN, without branches (so loops
    /// over it vectorise): the 15 magnitude bits shifted into a Float's place read as a value 2^112 too small
    /// (subnormals included); an all-ones exponent is infinity or NaN and keeps its bits.
    @inline(__always)
    init(halfBits h: UInt16) {
        let w = UInt32(h)
        let magnitude = (w & 0x7FFF) &<< 13
        let scaled = (Float(bitPattern: magnitude) * 0x1p112).bitPattern
        let bits = (w & 0x7C00) == 0x7C00 ? magnitude | 0x7F80_0000 : scaled
        self = Float(bitPattern: bits | (w & 0x8000) &<< 16)
    }
}
