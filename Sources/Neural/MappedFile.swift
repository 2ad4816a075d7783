import Foundation
import SystemCall
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory; unmapped in `deinit`.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// Start of the mapping, nil for an empty file (which cannot be mapped).
    public let base: UnsafeRawPointer?
    public let size: Int

    /// Refuses anything but a regular file (`NeuralError.notRegularFile`). The open is non-blocking, so a FIFO
    /// without a writer fails at once instead of waiting in `open` for one.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw NeuralError.io(SystemCallError("open", path: path)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw NeuralError.io(SystemCallError("fstat", path: path)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw NeuralError.notRegularFile(path: path) }
        size = Int(info.st_size)
        if size == 0 {
            base = nil
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw NeuralError.io(SystemCallError("mmap", path: path))
        }
        base = UnsafeRawPointer(address)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// The whole contents of the regular file at `path`, copied (for small files such as JSON configs).
    public static func contents(path: String) throws -> Data {
        let file = try MappedFile(path: path)
        return withExtendedLifetime(file) { Data(file.bytes) }
    }
}
