import Foundation
import JEPA

/// What a hub etag promises about a file's bytes: LFS files are named by their sha256, the others by git's blob
/// id (sha1 of `blob <size>\0` and the bytes).
public enum ExpectedDigest: Sendable, Equatable, CustomStringConvertible {
    case sha256(String)
    case gitBlobSHA1(String)

    /// The digest an etag names, or nil when it names none (then only the size can be checked).
    public init?(etag: String) {
        let e = etag.lowercased()
        guard e.allSatisfy(\.isHexDigit) else { return nil }
        switch e.count {
        case 64: self = .sha256(e)
        case 40: self = .gitBlobSHA1(e)
        default: return nil
        }
    }

    public var hex: String {
        switch self {
        case .sha256(let h), .gitBlobSHA1(let h): return h
        }
    }

    public var description: String {
        switch self {
        case .sha256(let h): return "sha256 \(h)"
        case .gitBlobSHA1(let h): return "git blob sha1 \(h)"
        }
    }
}

/// A running digest of a file being written, which a resumed download continues over the bytes already on disk.
public struct RunningDigest: Sendable {
    private var sha256 = SHA256()
    private var sha1 = SHA1()
    private let kind: ExpectedDigest?

    /// `size` is the file's full size, which git's blob header needs up front.
    public init(_ expected: ExpectedDigest?, size: Int64) {
        kind = expected
        if case .gitBlobSHA1 = expected { sha1.update(Array("blob \(size)\0".utf8)) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch kind {
        case .sha256: sha256.update(bytes)
        case .gitBlobSHA1: sha1.update(bytes)
        case nil: break
        }
    }

    /// The hex digest, or nil when nothing was expected.
    public mutating func finish() -> String? {
        switch kind {
        case .sha256: return SHA256.hex(sha256.finalize())
        case .gitBlobSHA1: return SHA256.hex(sha1.finalize())
        case nil: return nil
        }
    }

    /// Feeds the first `length` bytes of `url` (a partial download being resumed, or a cached file being checked).
    public mutating func update(contentsOf url: URL, length: Int64) throws {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var left = length
        while left > 0 {
            let chunk = try handle.read(upToCount: Int(min(left, 4 << 20))) ?? Data()
            guard !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { update($0) }
            left -= Int64(chunk.count)
        }
    }
}

/// SHA-1 (FIPS 180-4), only for git blob ids, which is how the hub names files not kept in LFS.
struct SHA1: Sendable {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending += bytes[0..<take]
            offset = take
            if pending.count == 64 {
                pending.withUnsafeBytes { compress($0.baseAddress!) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        while offset + 64 <= bytes.count {
            compress(bytes.baseAddress! + offset)
            offset += 64
        }
        if offset < bytes.count { pending += bytes[offset...] }
    }

    mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        tail.withUnsafeBytes { update($0) }
        return [h.0, h.1, h.2, h.3, h.4].flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (24 - 8 * UInt32($0))) } }
    }

    private mutating func compress(_ block: UnsafeRawPointer) {
        var w = [UInt32](repeating: 0, count: 80)
        for i in 0..<16 { w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        @inline(__always) func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
        for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
        var (a, b, c, d, e) = h
        for i in 0..<80 {
            let (f, k): (UInt32, UInt32)
            switch i {
            case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A827999)
            case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9EBA1)
            case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1BBCDC)
            default: (f, k) = (b ^ c ^ d, 0xCA62C1D6)
            }
            let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
            (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
    }
}
