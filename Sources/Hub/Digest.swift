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
