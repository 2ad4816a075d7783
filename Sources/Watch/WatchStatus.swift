import Foundation
import SystemCall

/// What a running daemon is doing, published as `<library>/watch.json` for `vjsearch status` and scripts.
public struct WatchStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case starting
        /// Walking the watched folders and comparing them with the catalog.
        case scanning
        /// Waiting for changes; files may be settling.
        case idle
        /// Embedding `file`.
        case indexing
        /// Work is due but another process holds the library's writer lock.
        case waitingForLock = "waiting-for-lock"
        case stopping
    }

    public var pid: Int32
    public var state: State
    /// The file being indexed (state `indexing`).
    public var file: String?
    /// Files settled and waiting to be indexed.
    public var queued: Int
    /// Files seen changing, waiting for their size and mtime to stay still for `settleSeconds`.
    public var settling: Int
    public var roots: [String]
    public var inotify: Bool
    /// Folders with an inotify watch now (nil without inotify): grows as new folders are found.
    public var watchedFolders: Int?
    public var settleSeconds: Double
    public var rescanSeconds: Double
    /// Seconds since 1970.
    public var startedAt: Double
    public var updatedAt: Double
    public var lastScanAt: Double?
    public var lastError: String?
    public var lastErrorAt: Double?
    /// Since the daemon started.
    public var indexed: Int
    public var relinked: Int
    public var failed: Int
    public var removed: Int
    public var clips: Int
    /// Seconds of video embedded, and the wall-clock seconds spent indexing them.
    public var videoSeconds: Double
    public var busySeconds: Double

    /// Video seconds embedded per second spent indexing.
    public var realtimeFactor: Double { busySeconds > 0 ? videoSeconds / busySeconds : 0 }

    public init(pid: Int32, roots: [String], inotify: Bool, settleSeconds: Double, rescanSeconds: Double, now: Double) {
        self.pid = pid
        state = .starting
        queued = 0
        settling = 0
        self.roots = roots
        self.inotify = inotify
        self.settleSeconds = settleSeconds
        self.rescanSeconds = rescanSeconds
        startedAt = now
        updatedAt = now
        indexed = 0
        relinked = 0
        failed = 0
        removed = 0
        clips = 0
        videoSeconds = 0
        busySeconds = 0
    }

    enum CodingKeys: String, CodingKey {
        case pid, state, file, queued, settling, roots, inotify, indexed, relinked, failed, removed, clips
        case settleSeconds = "settle_seconds", rescanSeconds = "rescan_seconds", startedAt = "started_at"
        case updatedAt = "updated_at", lastScanAt = "last_scan_at", lastError = "last_error"
        case lastErrorAt = "last_error_at", videoSeconds = "video_seconds", busySeconds = "busy_seconds"
        case watchedFolders = "watched_folders"
    }

    /// `indexing /v/a.mp4`, `idle`, …
    public var stateDescription: String {
        if state == .indexing, let file { return "indexing \(file)" }
        return state.rawValue
    }

    public static func path(library: String) -> String { library + "/watch.json" }

    /// Writes the status atomically (a temporary file renamed over the old one), so a reader sees the old or
    /// the new status, never half of one.
    public func write(library: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        let target = Self.path(library: library)
        let temporary = target + ".tmp-\(pid)"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw WatchError.system(SystemCallError("create", path: temporary))
        }
        guard rename(temporary, target) == 0 else {
            let failure = SystemCallError("rename", path: target)
            unlink(temporary)
            throw WatchError.system(failure)
        }
    }

    /// The last status a daemon wrote to `library`; nil when there is none or it cannot be read. It may be stale:
    /// `WatchLock.holder(library:)` tells whether the daemon still runs.
    public static func read(library: String) -> WatchStatus? {
        guard let data = FileManager.default.contents(atPath: path(library: library)) else { return nil }
        return try? JSONDecoder().decode(WatchStatus.self, from: data)
    }
}

/// Errors of the daemon that name the file or path and the cause.
public enum WatchError: Error, CustomStringConvertible, Equatable {
    /// A system call on one of the daemon's files failed.
    case system(SystemCallError)
    /// Another daemon already watches into this library.
    case alreadyRunning(library: String, pid: Int32?)

    public var description: String {
        switch self {
        case .system(let failure): return failure.description
        case .alreadyRunning(let library, let pid):
            return "\(library): a vjsearch watch daemon\(pid.map { " (pid \($0))" } ?? "") already keeps this library up to date"
        }
    }
}

/// The daemon's presence lock: an exclusive `flock` on `<library>/watch.lock`, held for the daemon's lifetime and
/// holding its pid. The kernel drops it when the process ends however it ends, so liveness is exact: a
/// `watch.json` left by a killed daemon is recognisably stale, and a second daemon on the same library is refused.
public final class WatchLock {
    private let fd: Int32

    public static func path(library: String) -> String { library + "/watch.lock" }

    /// Takes the lock for this process; throws `WatchError.alreadyRunning` when a daemon holds it.
    public init(library: String) throws {
        // Owner only until the library itself is created (`Library`'s `shared` opens it up).
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let file = Self.path(library: library)
        fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WatchError.system(SystemCallError("open", path: file)) }
        // `holder` probes with a shared lock for an instant; retry briefly so that a probe is not taken for a daemon.
        var attempts = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            attempts += 1
            if code == EWOULDBLOCK && attempts < 20 {
                usleep(50_000)
                continue
            }
            close(fd)
            if code == EWOULDBLOCK { throw WatchError.alreadyRunning(library: library, pid: Self.holder(library: library)) }
            throw WatchError.system(SystemCallError("flock", path: file, errno: Errno(rawValue: code)))
        }
        let pid = Data("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(fd) }

    /// The pid of the daemon holding `library`'s lock (0 when it has not written it yet), or nil when no daemon runs.
    /// Never blocks.
    public static func holder(library: String) -> Int32? {
        let file = path(library: library)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        while true {
            if flock(fd, LOCK_SH | LOCK_NB) == 0 {
                flock(fd, LOCK_UN)
                return nil
            }
            if errno == EINTR { continue }
            guard errno == EWOULDBLOCK else { return nil }
            break
        }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        let text = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text) ?? 0
    }
}
