import SystemCall
import Foundation

/// The one-writer lock of a library: an exclusive `flock` on `<library>/index.lock`, released when the process
/// ends, however it ends (so a killed run never leaves a stale lock).
public final class LibraryLock: Sendable {
    private let fd: Int32

    /// Takes the lock; with `wait`, blocks until the holder lets go, otherwise throws `CatalogError.locked`.
    public init(library: String, wait: Bool) throws {
        // Owner only until the library itself is created (`Library`'s `shared` opens it up).
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let file = library + "/index.lock"
        fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CatalogError.system(SystemCallError("open", path: file)) }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { throw CatalogError.locked(library: library) }
            throw CatalogError.system(SystemCallError("flock", path: file, errno: Errno(rawValue: code)))
        }
    }

    deinit { close(fd) }
}
