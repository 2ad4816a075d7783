import Catalog
import Foundation
import SystemCall
import Logging
import Synchronization

/// Requests to a running `Watcher` from other threads: stop (graceful shutdown) and rescan (SIGHUP).
public final class WatchControl: Sendable {
    private let flags = Mutex<(stop: Bool, rescan: Bool)>((false, false))
    let wakeup: Wakeup

    public init() throws(SystemCallError) { wakeup = try Wakeup() }

    /// Finishes or abandons the video in flight, then returns from `Watcher.run`.
    public func requestStop() {
        flags.withLock { $0.stop = true }
        wakeup.signal()
    }

    public func requestRescan() {
        flags.withLock { $0.rescan = true }
        wakeup.signal()
    }

    public var isStopping: Bool { flags.withLock { $0.stop } }

    func takeRescan() -> Bool {
        flags.withLock { f in
            defer { f.rescan = false }
            return f.rescan
        }
    }
}

/// The daemon's worker: keeps a library in step with folders, on the one thread that calls `run`.
///
/// Cycle: inotify changes (and full scans: at start, every `rescan` seconds, on SIGHUP, after an inotify overflow)
/// feed files to a `SettleTracker`; files whose size and mtime held still for `settle` seconds go to a `WorkQueue`;
/// each queued file is brought up to date by `Ingestor` (embedded, re-linked after a move, or found unchanged).
/// Deleted and moved-away paths are purged from the catalog once the moves they may belong to had time to settle
/// and be re-linked. The library's writer lock is held only while indexing or purging, never while idle.
///
/// The library is opened once, at the start, and serves every scan, cycle and catalog read (LMDB wants one
/// environment per file in a process; each access is a short transaction of its own). It is reopened, with a
/// warning, only when its `data.mdb` is no longer the file opened: the folder was replaced (a `reindex` or `repair`
/// forced past the daemon, a restore from a backup) or removed.
public final class Watcher {
    public struct Configuration: Sendable {
        /// Absolute, standardised folders or files.
        public var roots: [String]
        public var library: String
        public var settle: Double
        public var rescan: Double
        public var inotify: Bool
        public var ingest: Ingestor.Options
        /// A library the daemon creates is readable by others too (755/644) instead of its owner only.
        public var shared: Bool

        public init(roots: [String], library: String, settle: Double = 5, rescan: Double = 600, inotify: Bool = true,
                    ingest: Ingestor.Options = .init(), shared: Bool = false) {
            self.shared = shared
            self.roots = roots
            self.library = library
            self.settle = settle
            self.rescan = rescan
            self.inotify = inotify
            self.ingest = ingest
        }
    }

    let configuration: Configuration
    let embedder: Embedder
    let control: WatchControl
    var logger: Logger

    private var tracker: SettleTracker
    private var queue = WorkQueue()
    /// Paths deleted or moved away → when; purged after `purgeDelay`.
    private var gone: [String: Double] = [:]
    private var watcher: DirectoryWatcher?
    private var library: Library?
    /// The device and inode of the `data.mdb` that `library` opened.
    private var libraryFile: FileID?
    private var status: WatchStatus
    private var published: WatchStatus?
    private let origin = ContinuousClock.now
    private var nextRescan = 0.0
    private var scanDue = true
    /// Scan problems and empty roots already logged, so that each is logged once while it lasts.
    private var reportedProblems: Set<String> = []

    public init(configuration: Configuration, embedder: Embedder, control: WatchControl, logger: Logger) {
        self.configuration = configuration
        self.embedder = embedder
        self.control = control
        self.logger = logger
        tracker = SettleTracker(settle: configuration.settle)
        status = WatchStatus(pid: getpid(), roots: configuration.roots, inotify: configuration.inotify,
                             settleSeconds: configuration.settle, rescanSeconds: configuration.rescan,
                             now: Date().timeIntervalSince1970)
    }

    /// Monotonic seconds since the watcher was made.
    private var now: Double { Self.seconds(origin.duration(to: .now)) }

    /// A moved file is re-linked once it settled; its old path is purged only after that had time to happen.
    private var purgeDelay: Double { 2 * configuration.settle + 1 }

    /// How often files that are settling are looked at.
    private var tick: Double { min(max(configuration.settle / 4, 0.05), 0.5) }

    /// Runs until `control.requestStop()`; throws only what leaves the library unusable (another model, LMDB
    /// failures), after which a supervisor's restart resumes the work.
    public func run() throws {
        publish()
        guard try prepareLibrary() else { return finish() }
        if configuration.inotify {
            do {
                watcher = try DirectoryWatcher(logger: logger)
                for root in configuration.roots where Self.isDirectory(root) {
                    watcher?.watch(tree: root)
                    if let kind = Self.networkFileSystem(root) {
                        logger.warning("network file system: inotify sees only changes made on this machine; relying on rescans",
                                       metadata: ["path": "\(root)", "type": "\(kind)", "every": "\(configuration.rescan) s"])
                    }
                }
                logger.info("watching", metadata: ["folders": "\(watcher?.watchedFolders ?? 0)"])
            } catch {
                logger.warning("inotify unavailable; relying on rescans", metadata: ["cause": "\(error)"])
            }
        } else {
            logger.info("inotify disabled; relying on rescans", metadata: ["every": "\(configuration.rescan) s"])
        }
        while !control.isStopping {
            if control.takeRescan() {
                logger.info("rescan requested")
                scanDue = true
            }
            if scanDue || now >= nextRescan {
                scan()
                scanDue = false
                nextRescan = now + configuration.rescan
            }
            if let watcher {
                do {
                    handle(try watcher.changes())
                } catch {
                    logger.warning("inotify failed; relying on rescans", metadata: ["cause": "\(error)"])
                    self.watcher = nil
                    scanDue = true
                    continue
                }
            }
            observePending()
            for path in tracker.takeReady() where Self.isVideo(path) { queue.push(path) }
            let t = now
            if !queue.isEmpty || gone.values.contains(where: { t - $0 >= purgeDelay }) {
                try work()
                if control.isStopping { break }
            }
            status.state = .idle
            status.file = nil
            publish()
            var timeout = nextRescan - now
            if !tracker.isEmpty { timeout = min(timeout, tick) }
            if let first = gone.values.min() { timeout = min(timeout, max(tick, first + purgeDelay - now)) }
            _ = control.wakeup.wait(other: watcher?.inotify.fd, timeout: max(0, timeout))
        }
        finish()
    }

    private func finish() {
        status.state = .stopping
        status.file = nil
        publish()
        logger.info("stopped", metadata: ["indexed": "\(status.indexed)", "queued": "\(queue.count)"])
    }

    /// Opens (creating it if need be) the library and checks that it was built with this model. False when stopped
    /// while waiting for the writer lock.
    private func prepareLibrary() throws -> Bool {
        guard let lock = try acquireLock() else { return false }
        defer { withExtendedLifetime(lock) {} }
        _ = try openLibrary(create: true)
        return true
    }

    /// The open library; reopened when its data file was replaced or removed since it was opened. Nil when there is
    /// no library and `create` is false (creating one takes the writer lock).
    private func openLibrary(create: Bool) throws -> Library? {
        let file = FileID(path: configuration.library + "/data.mdb")
        if let library, file == libraryFile { return library }
        if library != nil {
            logger.warning(file == nil ? "the library was removed; it is made again for the next file indexed"
                                       : "the library was replaced; reopening it",
                           metadata: ["path": "\(configuration.library)"])
            // Closed before another opens: two environments on one file in a process break LMDB's locks.
            library = nil
            libraryFile = nil
        }
        guard create || file != nil else { return nil }
        let opened = try Library(path: configuration.library, model: embedder.identity, create: create,
                                 shared: configuration.shared)
        library = opened
        libraryFile = FileID(path: configuration.library + "/data.mdb")
        return opened
    }

    /// Takes the writer lock, waiting (and saying so) while another process holds it; nil when asked to stop.
    private func acquireLock() throws -> LibraryLock? {
        var said = false
        while !control.isStopping {
            do {
                return try LibraryLock(library: configuration.library, wait: false)
            } catch CatalogError.locked {
                if !said {
                    logger.info("another process is writing to the library; waiting")
                    said = true
                }
                status.state = .waitingForLock
                publish()
                _ = control.wakeup.wait(other: nil, timeout: 0.5)
            }
        }
        return nil
    }

    // MARK: Finding work

    /// Walks the roots; new and changed files start settling, vanished ones are scheduled for purging.
    private func scan() {
        status.state = .scanning
        publish()
        let started = now
        if let watcher {
            for root in configuration.roots where Self.isDirectory(root) && !watcher.isWatched(root) {
                watcher.watch(tree: root)
            }
        }
        let (candidates, problems) = VideoFinder().scan(configuration.roots)
        for p in problems where reportedProblems.insert(p.path + p.cause).inserted {
            logger.warning("cannot scan", metadata: ["path": "\(p.path)", "cause": "\(p.cause)"])
        }
        let catalog = (try? openLibrary(create: false)?.videos()) ?? []
        let byPath = Dictionary(catalog.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let t = now
        var changed = 0
        for c in candidates {
            if let old = byPath[c.path], old.size == c.size, old.mtime == c.mtime { continue }
            if queue.contains(c.path) { continue }
            tracker.observe(c.path, size: c.size, mtime: c.mtime, at: t)
            changed += 1
        }
        var vanished = 0
        for root in configuration.roots {
            let prefix = root.hasSuffix("/") ? root : root + "/"
            let under = catalog.filter { $0.path == root || $0.path.hasPrefix(prefix) }
            let missing = under.filter { !FileManager.default.fileExists(atPath: $0.path) }
            if !missing.isEmpty && missing.count == under.count && Self.isDirectory(root)
                && !candidates.contains(where: { $0.path.hasPrefix(prefix) }) {
                // An empty root that held videos is more likely an unmounted share than a mass deletion.
                if reportedProblems.insert("empty " + root).inserted {
                    logger.warning("folder is empty; keeping its videos in the library (unmounted?)",
                                   metadata: ["path": "\(root)", "videos": "\(under.count)"])
                }
                continue
            }
            reportedProblems.remove("empty " + root)
            for v in missing where gone[v.path] == nil {
                gone[v.path] = t
                vanished += 1
            }
        }
        status.lastScanAt = Date().timeIntervalSince1970
        logger.info("scanned", metadata: [
            "files": "\(candidates.count)", "changed": "\(changed)", "vanished": "\(vanished)",
            "seconds": "\(String(format: "%.2f", now - started))",
        ])
    }

    private func handle(_ changes: [DirectoryWatcher.Change]) {
        var touched: Set<String> = []  // a copy in progress reports every write: stat each file once per batch
        let own = configuration.library + "/"
        for change in changes {
            switch change {
            case .touched(let path) where path.hasPrefix(own), .gone(let path) where path.hasPrefix(own):
                continue  // the library inside a watched folder: its own writes (watch.json) are no news
            case .touched(let path):
                gone[path] = nil
                if touched.insert(path).inserted { observe(path) }
            case .gone(let path):
                tracker.forget(path)
                tracker.forget(under: path)
                queue.remove(path, under: true)
                gone[path] = now
                logger.debug("gone", metadata: ["path": "\(path)"])
            case .folder(let path):
                logger.debug("new folder", metadata: ["path": "\(path)"])
                let t = now
                for c in VideoFinder().scan([path]).candidates {
                    tracker.observe(c.path, size: c.size, mtime: c.mtime, at: t)
                }
            case .overflow:
                scanDue = true
            }
        }
    }

    /// Stats `path` into the tracker; forgets it when it is no longer a regular file.
    private func observe(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            tracker.forget(path)
            return
        }
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        tracker.observe(path, size: UInt64(st.st_size), mtime: mtime, at: now)
    }

    private func observePending() {
        for path in tracker.pending { observe(path) }
    }

    // MARK: Doing the work

    /// Indexes the queue, then purges what vanished, holding the writer lock throughout.
    private func work() throws {
        guard let lock = try acquireLock() else { return }
        defer { withExtendedLifetime(lock) {} }
        guard let library = try openLibrary(create: true) else { return }
        while !control.isStopping, let path = queue.pop() {
            try index(path, library)
        }
        if control.isStopping { return }
        let t = now
        let due = gone.filter { t - $0.value >= purgeDelay }.map(\.key)
        guard !due.isEmpty else { return }
        for path in due { gone[path] = nil }
        let prefixes = due.map { $0 + "/" }
        let vanished = try library.videos().filter { v in
            (due.contains(v.path) || prefixes.contains { v.path.hasPrefix($0) })
                && !FileManager.default.fileExists(atPath: v.path)
        }
        guard !vanished.isEmpty else { return }
        try library.remove(vanished.map(\.id))
        status.removed += vanished.count
        for v in vanished { logger.info("removed", metadata: ["path": "\(v.path)"]) }
    }

    private func index(_ path: String, _ library: Library) throws {
        status.state = .indexing
        status.file = path
        publish()
        let control = self.control
        let logger = self.logger
        let throttle = ProgressThrottle()
        // A long file logs how far it got every 10 s, as `index --progress plain` prints it.
        let ingestor = Ingestor(library: library, embedder: embedder, options: configuration.ingest,
                                progress: { p in if throttle.isDue(p) { logger.info("progress", metadata: ["line": "\(p.line)"]) } },
                                isCancelled: { control.isStopping })
        let report = try ingestor.run([path])
        if report.cancelled {
            logger.info("stopped in the video in flight; the next start continues it from its last committed chunk",
                        metadata: ["path": "\(path)"])
            return
        }
        status.indexed += report.indexed
        status.relinked += report.relinked
        status.clips += report.clips
        status.videoSeconds += report.videoSeconds
        if report.indexed > 0 { status.busySeconds += report.wallSeconds }
        if report.indexed > 0 {
            logger.info("indexed", metadata: [
                "path": "\(path)", "clips": "\(report.clips)", "video_seconds": "\(String(format: "%.1f", report.videoSeconds))",
                "seconds": "\(String(format: "%.2f", report.wallSeconds))",
            ])
        } else if report.relinked > 0 {
            logger.info("relinked", metadata: ["path": "\(path)"])
        }
        for f in report.failed {
            // Vanished between settling and indexing: the delete event or the next scan deals with it.
            if !FileManager.default.fileExists(atPath: f.path) { continue }
            status.failed += 1
            status.lastError = "\(f.path): \(f.cause)"
            status.lastErrorAt = Date().timeIntervalSince1970
            logger.warning("failed; retried when the file changes", metadata: ["path": "\(f.path)", "cause": "\(f.cause)"])
        }
    }

    // MARK: Helpers

    /// Writes `watch.json` when something other than the time changed.
    private func publish() {
        status.queued = queue.count
        status.settling = tracker.count
        status.watchedFolders = watcher?.watchedFolders
        var comparable = status
        comparable.updatedAt = published?.updatedAt ?? 0
        if comparable == published { return }
        status.updatedAt = Date().timeIntervalSince1970
        do {
            try status.write(library: configuration.library)
            published = status
        } catch {
            if published != nil || status.state != .starting {
                logger.warning("cannot publish the daemon status", metadata: ["cause": "\(error)"])
            }
            published = status
        }
    }

    /// The type of the network or FUSE file system `path` is on (from `/proc/self/mountinfo`: the mount point
    /// that is the longest prefix of the resolved path), nil for a local one.
    static func networkFileSystem(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        let real = String(cString: resolved)
        free(resolved)
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        var best: (point: String, type: String)?
        for line in table.split(separator: "\n") {
            // id parent major:minor root mount-point options [optional…] - type source super-options
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 6, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            let point = fields[4].replacingOccurrences(of: "\\040", with: " ")
            let under = point == "/" || real == point || real.hasPrefix(point + "/")
            if under && point.count >= (best?.point.count ?? -1) { best = (point, fields[dash + 1]) }
        }
        guard let type = best?.type else { return nil }
        let network: Set<String> = ["nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "9p", "afs", "glusterfs", "lustre"]
        return network.contains(type) || type.hasPrefix("fuse.") ? type : nil
    }

    /// A file's identity: replacing a file (or the folder holding it) gives the new one another inode.
    struct FileID: Equatable {
        let device: UInt64
        let inode: UInt64

        /// Nil when `path` does not exist.
        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func isVideo(_ path: String) -> Bool {
        VideoFinder.looksLikeVideo(path: path, name: (path as NSString).lastPathComponent)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
