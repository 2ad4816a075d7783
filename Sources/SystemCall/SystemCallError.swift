#if canImport(Glibc)
import Glibc
#endif
@_exported import SystemPackage

/// A failed system call: which call, on which file (when it names one), and swift-system's `Errno` for why.
///
/// The one shape of an errno in vjsearch: every module that calls the C library throws this (or keeps it as the
/// cause of its own error), so that the file and the reason always reach the user, and code can test the reason
/// (`error.errno == .noSpace`) instead of a string.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call that failed, e.g. `open` or `inotify_add_watch`.
    public let call: String
    public let path: String?
    public let errno: Errno

    /// The error of a call that just failed, from the thread's `errno`.
    public init(_ call: String, path: String?) {
        self.init(call, path: path, errno: Errno(rawValue: Glibc.errno))
    }

    public init(_ call: String, path: String?, errno: Errno) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    /// `result`, or the error in `errno` when it is negative (the C library's convention).
    @discardableResult
    public static func check(_ result: Int32, _ call: String, path: String? = nil) throws(SystemCallError) -> Int32 {
        guard result >= 0 else { throw SystemCallError(call, path: path) }
        return result
    }

    /// `errno`'s words, without the path: `no space left on device`.
    public var cause: String { errno.sentence }

    public var description: String { path.map { "\($0): \(cause)" } ?? "\(call): \(cause)" }
}

extension Errno {
    /// `strerror`'s words as the rest of a one-line message: `permission denied`.
    public var sentence: String {
        let words = description
        guard let first = words.first else { return "error \(rawValue)" }
        return first.lowercased() + words.dropFirst()
    }
}
