/// Decides when a file has stopped changing: it is ready once its size and modification time were seen unchanged
/// for `settle` seconds. A file still being copied keeps changing, so it never becomes ready half-written.
///
/// Pure bookkeeping: the caller stats the files (`pending`) and reports what it saw with `observe`; times are
/// seconds on any monotonic clock.
public struct SettleTracker: Sendable {
    struct Entry: Sendable {
        var size: UInt64
        var mtime: Double
        /// When (size, mtime) last changed, or were first seen.
        var since: Double
        /// The latest observation.
        var seen: Double
    }

    public let settle: Double
    private var entries: [String: Entry] = [:]

    public init(settle: Double) { self.settle = max(0, settle) }

    /// Paths being watched settle, sorted.
    public var pending: [String] { entries.keys.sorted() }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Records what a stat of `path` returned at time `now`.
    public mutating func observe(_ path: String, size: UInt64, mtime: Double, at now: Double) {
        if var e = entries[path], e.size == size, e.mtime == mtime {
            e.seen = max(e.seen, now)
            entries[path] = e
        } else {
            entries[path] = Entry(size: size, mtime: mtime, since: now, seen: now)
        }
    }

    /// Stops tracking `path` (deleted, moved away, or no longer of interest).
    public mutating func forget(_ path: String) { entries[path] = nil }

    /// Stops tracking `directory` and everything under it.
    public mutating func forget(under directory: String) {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        entries = entries.filter { $0.key != directory && !$0.key.hasPrefix(prefix) }
    }

    /// Removes and returns, sorted, the paths whose last `settle` seconds of observations showed no change.
    public mutating func takeReady() -> [String] {
        let ready = entries.filter { $0.value.seen - $0.value.since >= settle }.keys.sorted()
        for path in ready { entries[path] = nil }
        return ready
    }

    /// When the next observation could make a file ready: the earliest `since + settle`, nil when nothing is pending.
    public var nextDeadline: Double? { entries.values.map { $0.since + settle }.min() }
}
