import SystemCall
import Foundation

/// A video file's content identity: its size plus a hash of sampled blocks.
///
/// Reading five 64 KiB blocks (start, quarter points, end) costs the same for a 10 MB clip and a 10 GB film,
/// yet tells a moved file (same fingerprint, new path) from a changed one (new fingerprint, same path).
public struct Fingerprint: Hashable, Sendable, Codable, CustomStringConvertible {
    public let size: UInt64
    public let hash: UInt64

    public init(size: UInt64, hash: UInt64) {
        self.size = size
        self.hash = hash
    }

    /// Bytes read from each sampled block.
    public static let blockSize = 64 * 1024

    /// Fingerprints the regular file at `path`.
    public init(path: String) throws(CatalogError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(SystemCallError("open", path: path)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .system(SystemCallError("fstat", path: path)) }
        let size = UInt64(st.st_size)
        let block = UInt64(Self.blockSize)
        var offsets: [UInt64] = [0]
        if size > block {
            offsets += [size / 4, size / 2, 3 * size / 4, size - block]
        }
        var hasher = FNV1a()
        hasher.mix(size)
        var buffer = [UInt8](repeating: 0, count: Self.blockSize)
        for offset in offsets {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Self.blockSize, off_t(offset)) }
            guard n >= 0 else { throw .system(SystemCallError("pread", path: path)) }
            hasher.mix(offset)
            buffer.withUnsafeBytes { hasher.mix(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        self.init(size: size, hash: hasher.value)
    }

    public var description: String { String(format: "%llu:%016llx", size, hash) }
}

/// 64-bit FNV-1a: stable across processes and machines (unlike `Hasher`), which a stored fingerprint needs.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    mutating func mix(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes {
            h = (h ^ UInt64(b)) &* Self.prime
        }
        value = h
    }

    mutating func mix(_ word: UInt64) {
        withUnsafeBytes(of: word.littleEndian) { mix($0) }
    }
}
