#if canImport(Glibc)
import Glibc
#endif
import SystemCall

/// A file being written through a buffer of `capacity` bytes. Every failed call throws `SystemCallError` with the
/// call and the file (`write` with `.noSpace` when the disk fills), and `finish` makes the bytes durable.
final class OutputFile {
    let path: String
    private var descriptor: Int32
    private let buffer: UnsafeMutableRawPointer
    let capacity: Int
    private var used = 0

    /// Creates or truncates `path`; `permissions` go through the umask, as Python's `open(path, "w")` does.
    init(path: String, permissions: mode_t = 0o666, capacity: Int = 1 << 20) throws(SystemCallError) {
        self.path = path
        descriptor = try SystemCallError.check(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions),
                                               "open", path: path)
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        buffer.deallocate()
    }

    /// Appends `bytes` (copied into the buffer, or written straight through when they are larger than it).
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        guard !bytes.isEmpty else { return }
        if used + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try writeThrough(bytes)
        } else {
            (buffer + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            used += bytes.count
        }
    }

    func write(_ bytes: [UInt8]) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let n = min(capacity, bytes.count - offset)
            try append(count: n) { out in
                bytes.withUnsafeBytes { out.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            }
            offset += n
        }
    }

    func write(_ text: String) throws(SystemCallError) { try write(Array(text.utf8)) }

    /// Lets `fill` write exactly `count` bytes (at most `capacity`) straight into the buffer.
    func append(count: Int, _ fill: (UnsafeMutableRawPointer) -> Void) throws(SystemCallError) {
        precondition(count <= capacity, "\(count) bytes do not fit a \(capacity)-byte buffer")
        if used + count > capacity { try flush() }
        fill(buffer + used)
        used += count
    }

    /// Writes the buffer out.
    func flush() throws(SystemCallError) {
        try writeThrough(UnsafeRawBufferPointer(start: buffer, count: used))
        used = 0
    }

    /// Sets the permissions regardless of the umask (`os.chmod`).
    func setPermissions(_ mode: mode_t) throws(SystemCallError) {
        try SystemCallError.check(fchmod(descriptor, mode), "fchmod", path: path)
    }

    /// Flushes, `fsync`s and closes the file.
    func finish() throws(SystemCallError) {
        try flush()
        try SystemCallError.check(fsync(descriptor), "fsync", path: path)
        let closing = descriptor
        descriptor = -1
        try SystemCallError.check(close(closing), "close", path: path)
    }

    private func writeThrough(_ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("write", path: path)
            }
            // A regular file returns 0 only for a zero-byte request; treat anything else as a full disk.
            guard n > 0 else { throw SystemCallError("write", path: path, errno: .noSpace) }
            offset += n
        }
    }

    /// `fsync`s an existing file or folder (a folder, so that the names of new files in it are durable too).
    static func sync(path: String) throws(SystemCallError) {
        let fd = try SystemCallError.check(open(path, O_RDONLY | O_CLOEXEC), "open", path: path)
        defer { close(fd) }
        try SystemCallError.check(fsync(fd), "fsync", path: path)
    }
}
