import Glibc
import SystemCall

/// Writes one model-layout frame (`[3][size][size]` floats, normalised by `mean` / `std`) as a PNG image,
/// undoing the normalisation, so a person can see what the model sees at the model's own input size.
///
/// The file is created anew, never written through a symbolic link: a link planted at `path` (say, to a file
/// the user owns elsewhere) is an error, and an older dump of the same name is replaced only when it is a
/// plain file with no other names (no hard link to something else).
public func writePNG(
    frame: UnsafeBufferPointer<Float>, size: Int, mean: [Float], std: [Float], to path: String
) throws(MediaError) {
    precondition(frame.count >= 3 * size * size && mean.count == 3 && std.count == 3)
    // Rows of RGB bytes, each after its filter-type byte (0: none).
    let plane = size * size, row = 1 + 3 * size
    var raw = [UInt8](repeating: 0, count: size * row)
    for c in 0..<3 {
        let s = std[c] * 255, m = mean[c] * 255
        for i in 0..<plane {
            let v = frame[c * plane + i] * s + m
            raw[(i / size) * row + 1 + 3 * (i % size) + c] = UInt8(max(0, min(255, v.rounded())))
        }
    }
    try writeImage(PNG.encode(width: size, height: size, rows: raw), to: path)
}

/// Writes an encoded image (a PNG, a JPEG from `Thumbnail`) to `path` as a new file, never through a symbolic link: an
/// older plain file of that name with no other hard links is replaced; a link, a folder or a hard-linked file there is
/// `.refusedToOverwrite`. A write that fails (a full disk) removes what it wrote.
public func writeImage(_ bytes: [UInt8], to path: String) throws(MediaError) {
    let fd = try createNew(path)
    do {
        defer { try? fd.close() }
        _ = try bytes.withUnsafeBytes { try fd.writeAll($0) }
    } catch {
        unlink(path)
        throw MediaError(path: path, reason: .system(error as? Errno ?? .ioError))
    }
}

/// The smallest correct PNG encoder: 8-bit RGB, unfiltered rows in stored (uncompressed) deflate blocks. The frames
/// are small (the model's input size), so compression would save little, and it needs no zlib.
enum PNG {
    static func encode(width: Int, height: Int, rows: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0], into: &out)
        // zlib stream: header (deflate, no preset dictionary, fastest), stored blocks of up to 65,535 bytes, Adler-32.
        var z: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let n = min(65_535, rows.count - start)
            let last: UInt8 = start + n == rows.count ? 1 : 0
            z += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            z += rows[start ..< start + n]
            start += n
        } while start < rows.count
        z += bigEndian(adler32(rows))
        chunk("IDAT", z, into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        let body = Array(type.utf8) + data
        out += bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static let crcTable: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(UInt32.max) { crcTable[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) }
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes {
            a = (a + UInt32(x)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }
}

/// Opens `path` for writing as a new file (`O_CREAT | O_EXCL | O_NOFOLLOW`), first removing an older plain file of
/// that name that has no other hard links; anything else in the way is an error naming it.
private func createNew(_ path: String) throws(MediaError) -> FileDescriptor {
    var st = stat()
    if lstat(path, &st) == 0 {
        guard st.st_mode & S_IFMT == S_IFREG, st.st_nlink == 1 else {
            throw MediaError(path: path, reason: .refusedToOverwrite)
        }
        guard unlink(path) == 0 else { throw MediaError(path: path, reason: .system(Errno(rawValue: errno))) }
    }
    // Exclusive and not following links: whatever appears at `path` in the meantime is refused, not written through.
    do {
        return try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                                       permissions: [.ownerReadWrite, .groupRead, .otherRead])
    } catch let error as Errno {
        throw MediaError(path: path, reason: error == .permissionDenied ? .permissionDenied : .system(error))
    } catch {
        throw MediaError(path: path, reason: .system(.ioError))
    }
}
