import Glibc
import SystemCall

/// Writes one model-layout frame (`[3][size][size]` floats, normalised by `mean` / `std`) as a
/// binary PPM image, undoing the normalisation, so a person can see what the model sees.
///
/// The file is created anew, never written through a symbolic link: a link planted at `path` (say, to a file
/// the user owns elsewhere) is an error, and an older dump of the same name is replaced only when it is a
/// plain file with no other names (no hard link to something else).
public func writePPM(
    frame: UnsafeBufferPointer<Float>, size: Int, mean: [Float], std: [Float], to path: String
) throws(MediaError) {
    precondition(frame.count >= 3 * size * size && mean.count == 3 && std.count == 3)
    let fd = try createNew(path)
    defer { try? fd.close() }
    let header = Array("P6\n\(size) \(size)\n255\n".utf8)
    var pixels = [UInt8](repeating: 0, count: header.count + 3 * size * size)
    pixels.replaceSubrange(0..<header.count, with: header)
    let plane = size * size
    for c in 0..<3 {
        let s = std[c] * 255, m = mean[c] * 255
        for i in 0..<plane {
            let v = frame[c * plane + i] * s + m
            pixels[header.count + 3 * i + c] = UInt8(max(0, min(255, v.rounded())))
        }
    }
    do {
        _ = try pixels.withUnsafeBytes { try fd.writeAll($0) }
    } catch {
        throw MediaError(path: path, reason: .system(error as? Errno ?? .ioError))
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
