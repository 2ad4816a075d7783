import SystemCall

/// Errors above LMDB that name the thing at fault and the cause.
public enum IndexError: Error, CustomStringConvertible, Equatable {
    /// The path does not exist.
    case missing(path: String)
    /// The path exists but is not a directory.
    case notADirectory(path: String)
    /// The path names a FIFO, device, socket or folder where a file should be.
    case notARegularFile(path: String)
    /// The file or record is damaged.
    case corrupt(path: String, reason: String)
    /// The environment holds no index under this name.
    case notAnIndex(path: String, name: String)
    /// An index already exists where one was to be created, with other settings.
    case incompatible(path: String, reason: String)
    /// A vector has the wrong number of components.
    case dimensionMismatch(expected: Int, found: Int)
    /// An argument is out of range.
    case invalidArgument(String)
    /// The environment's files could not be opened or written (a full disk, an I/O error, no permission), with
    /// what that means for the data when it needs saying.
    case storage(path: String, errno: Errno, detail: String? = nil)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file or directory"
        case .notADirectory(let path): return "\(path): not a directory"
        case .notARegularFile(let path): return "\(path): not a regular file"
        case .corrupt(let path, let reason): return "\(path): corrupt index: \(reason)"
        case .notAnIndex(let path, let name): return "\(path): no vector index named '\(name)'"
        case .incompatible(let path, let reason): return "\(path): \(reason)"
        case .dimensionMismatch(let expected, let found):
            return "vector has \(found) components, the index holds \(expected)"
        case .invalidArgument(let message): return message
        case .storage(let path, let errno, let detail): return "\(path): \(errno.sentence)" + (detail.map { "; \($0)" } ?? "")
        }
    }
}
