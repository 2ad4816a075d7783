import Foundation

/// A zip archive of stored (uncompressed) entries, read in place: the container `torch.save` writes since torch 1.6.
///
/// Follows PKWARE's APPNOTE.TXT as far as PyTorch's writer (miniz) and Python's `zipfile` use it: one disk, the end
/// of central directory record (4.3.16) found by a bounded search backwards, the ZIP64 locator and record (4.3.14,
/// 4.3.15) and the ZIP64 extended information extra field (4.5.3), central directory headers (4.3.12) and local
/// file headers (4.3.7), whose name and extra lengths place the data. Only method 0 (stored) is accepted. Every
/// offset and length is checked against the file before anything is read, with overflow-safe arithmetic; CRCs are
/// not checked (a stored entry is read in place, and reading gigabytes of weights twice would double the load time).
struct ZipArchive {
    /// One entry: its name and where its bytes lie in the file.
    struct Entry {
        let name: String
        /// From the start of the file.
        let offset: Int
        /// In bytes (stored: compressed and uncompressed sizes are equal).
        let size: Int
    }

    /// The entries in central-directory order.
    let entries: [Entry]
    private let byName: [String: Int]
    private let bytes: UnsafeRawBufferPointer

    /// Record signatures (little-endian "PK\x01\x02" and so on).
    private enum Signature {
        static let localHeader: UInt32 = 0x0403_4B50
        static let centralHeader: UInt32 = 0x0201_4B50
        static let end: UInt32 = 0x0605_4B50
        static let zip64End: UInt32 = 0x0606_4B50
        static let zip64Locator: UInt32 = 0x0706_4B50
    }

    /// Fixed sizes of the records, without their variable-length tails.
    private enum Size {
        static let localHeader = 30
        static let centralHeader = 46
        static let end = 22
        static let zip64End = 56
        static let zip64Locator = 20
        static let maximumComment = 0xFFFF
    }

    /// Reads the central directory of the archive in `bytes` (the whole file). `path` names the file in errors.
    init(bytes: UnsafeRawBufferPointer, path: String) throws(ConvertError) {
        self.bytes = bytes
        let fields = Fields(bytes: bytes, path: path)
        let directory = try Self.findCentralDirectory(fields)
        var entries: [Entry] = []
        var byName: [String: Int] = [:]
        var at = directory.offset
        let end = directory.offset + directory.size
        for _ in 0..<directory.count {
            let entry = try Self.readEntry(fields, at: &at, directoryEnd: end)
            guard byName[entry.name] == nil else {
                throw fields.fail("zip entry '\(displayed(entry.name))' appears twice in the central directory")
            }
            byName[entry.name] = entries.count
            entries.append(entry)
        }
        self.entries = entries
        self.byName = byName
    }

    /// The entry named `name`, or nil.
    func entry(named name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The bytes of `entry`, in place in the file.
    func data(of entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[entry.offset..<entry.offset + entry.size])
    }

    /// Where the central directory lies, from the end records.
    private static func findCentralDirectory(_ fields: Fields) throws(ConvertError)
        -> (offset: Int, size: Int, count: Int)
    {
        let size = fields.bytes.count
        guard size >= Size.end else { throw fields.fail("damaged zip archive: \(size) bytes, shorter than its end record") }
        // The end record is the last thing in the file but for a comment of at most 64 KiB.
        var endAt: Int?
        var candidate = size - Size.end
        let lowest = max(0, size - Size.end - Size.maximumComment)
        while candidate >= lowest {
            if fields.u32(candidate) == Signature.end, candidate + Size.end + fields.u16(candidate + 20) <= size {
                endAt = candidate
                break
            }
            candidate -= 1
        }
        guard let end = endAt else {
            throw fields.fail("damaged zip archive: no end of central directory record (is the file truncated?)")
        }
        guard fields.u16(end + 4) == 0, fields.u16(end + 6) == 0 else {
            throw fields.fail("zip archive spans several disks")
        }
        var count = fields.u16(end + 10)
        var directorySize = fields.u32int(end + 12)
        var directoryOffset = fields.u32int(end + 16)
        var directoryLimit = end

        // ZIP64: a locator right before the end record points to the ZIP64 end record, whose values replace the
        // 16- and 32-bit ones (PyTorch writes both records for every archive).
        let locator = end - Size.zip64Locator
        if locator >= 0, fields.u32(locator) == Signature.zip64Locator {
            guard fields.u32(locator + 4) == 0, fields.u32(locator + 16) <= 1 else {
                throw fields.fail("zip archive spans several disks")
            }
            let recordAt = try fields.int(fields.u64(locator + 8), "ZIP64 end record offset")
            guard Fields.fits(recordAt, Size.zip64End, in: locator) else {
                throw fields.fail("damaged zip archive: ZIP64 end record at \(recordAt) lies outside the file")
            }
            guard fields.u32(recordAt) == Signature.zip64End else {
                throw fields.fail("damaged zip archive: no ZIP64 end record at \(recordAt)")
            }
            guard fields.u32(recordAt + 16) == 0, fields.u32(recordAt + 20) == 0 else {
                throw fields.fail("zip archive spans several disks")
            }
            count = try fields.int(fields.u64(recordAt + 32), "ZIP64 entry count")
            directorySize = try fields.int(fields.u64(recordAt + 40), "ZIP64 central directory size")
            directoryOffset = try fields.int(fields.u64(recordAt + 48), "ZIP64 central directory offset")
            directoryLimit = recordAt
        }
        guard Fields.fits(directoryOffset, directorySize, in: directoryLimit) else {
            throw fields.fail("damaged zip archive: central directory of \(directorySize) bytes at \(directoryOffset) "
                + "overruns the end records at \(directoryLimit)")
        }
        guard count <= directorySize / Size.centralHeader else {
            throw fields.fail("damaged zip archive: \(count) entries cannot fit a central directory of "
                + "\(directorySize) bytes")
        }
        return (directoryOffset, directorySize, count)
    }

    /// The central directory header at `at` and the local header it points to; advances `at` past the header.
    private static func readEntry(_ fields: Fields, at: inout Int, directoryEnd: Int) throws(ConvertError) -> Entry {
        let header = at
        guard Fields.fits(header, Size.centralHeader, in: directoryEnd),
              fields.u32(header) == Signature.centralHeader
        else {
            throw fields.fail("damaged zip archive: no central directory header at \(header)")
        }
        let flags = fields.u16(header + 8)
        let method = fields.u16(header + 10)
        var compressedSize = fields.u32int(header + 20)
        var size = fields.u32int(header + 24)
        let nameLength = fields.u16(header + 28)
        let extraLength = fields.u16(header + 30)
        let commentLength = fields.u16(header + 32)
        var disk = fields.u16(header + 34)
        var localAt = fields.u32int(header + 42)
        let variable = nameLength + extraLength + commentLength
        guard Fields.fits(header + Size.centralHeader, variable, in: directoryEnd) else {
            throw fields.fail("damaged zip archive: central directory header at \(header) overruns the directory")
        }
        let nameBytes = fields.slice(header + Size.centralHeader, nameLength)
        let name = String(decoding: nameBytes, as: UTF8.self)
        func fail(_ reason: String) -> ConvertError { fields.fail("zip entry '\(displayed(name))' \(reason)") }

        // ZIP64 extra field: 64-bit values for exactly the fields that hold 0xFFFFFFFF (0xFFFF for the disk), in order.
        var extra = header + Size.centralHeader + nameLength
        let extraEnd = extra + extraLength
        var sawZip64 = false
        while extra < extraEnd {
            guard extraEnd - extra >= 4 else { throw fail("has a damaged extra field") }
            let id = fields.u16(extra)
            let length = fields.u16(extra + 2)
            guard extraEnd - extra - 4 >= length else { throw fail("has a damaged extra field \(id)") }
            if id == 0x0001, !sawZip64 {
                sawZip64 = true
                var value = extra + 4
                let valueEnd = value + length
                func next(_ what: String) throws(ConvertError) -> Int {
                    guard valueEnd - value >= 8 else { throw fail("lacks its ZIP64 \(what)") }
                    defer { value += 8 }
                    return try fields.int(fields.u64(value), "ZIP64 \(what) of '\(displayed(name))'")
                }
                if size == 0xFFFF_FFFF { size = try next("size") }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try next("compressed size") }
                if localAt == 0xFFFF_FFFF { localAt = try next("header offset") }
                if disk == 0xFFFF {
                    guard valueEnd - value >= 4 else { throw fail("lacks its ZIP64 disk number") }
                    disk = Int(fields.u32(value))
                }
            }
            extra += 4 + length
        }
        guard disk == 0 else { throw fail("lies on another disk") }
        guard flags & 0x1 == 0 else { throw fail("is encrypted") }
        guard method == 0 else {
            throw fail("is compressed (method \(method)); only stored entries are read, as torch.save writes them")
        }
        guard compressedSize == size else {
            throw fail("is stored but its sizes differ (\(compressedSize) and \(size) bytes)")
        }

        guard Fields.fits(localAt, Size.localHeader, in: fields.bytes.count),
              fields.u32(localAt) == Signature.localHeader
        else {
            throw fail("has no local header at \(localAt)")
        }
        let localNameLength = fields.u16(localAt + 26)
        let localExtraLength = fields.u16(localAt + 28)
        let dataAt = localAt + Size.localHeader + localNameLength + localExtraLength
        guard localNameLength == nameLength,
              Fields.fits(localAt + Size.localHeader, localNameLength, in: fields.bytes.count),
              fields.slice(localAt + Size.localHeader, localNameLength).elementsEqual(nameBytes)
        else { throw fail("has another name in its local header") }
        guard Fields.fits(dataAt, size, in: fields.bytes.count) else {
            throw fail("of \(size) bytes at \(dataAt) overruns the file of \(fields.bytes.count) bytes (is it truncated?)")
        }
        at = header + Size.centralHeader + variable
        return Entry(name: name, offset: dataAt, size: size)
    }
}

/// Little-endian fields of the file. Callers check each range with `fits` before reading it.
private struct Fields {
    let bytes: UnsafeRawBufferPointer
    let path: String

    func fail(_ reason: String) -> ConvertError { ConvertError(path: path, reason: reason) }

    /// Whether `length` bytes at `offset` lie inside `0..<limit`, without overflow.
    static func fits(_ offset: Int, _ length: Int, in limit: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= limit && length <= limit - offset
    }

    func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
    }

    func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }

    func u32(_ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    func u32int(_ offset: Int) -> Int { Int(u32(offset)) }

    func u64(_ offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    /// `value` as an `Int`, or an error naming `what` when it does not fit.
    func int(_ value: UInt64, _ what: String) throws(ConvertError) -> Int {
        guard let int = Int(exactly: value) else { throw fail("damaged zip archive: \(what) \(value) is out of range") }
        return int
    }
}

/// `text` for a one-line message: control characters escaped and at most 200 characters, so that a hostile name
/// can neither break the line nor flood the terminal.
func displayed(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(200) {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            out += scalar.escaped(asASCII: true)
        default:
            out.unicodeScalars.append(scalar)
        }
    }
    return text.unicodeScalars.count > 200 ? out + "…" : out
}
