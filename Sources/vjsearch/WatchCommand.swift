import ArgumentParser
import Catalog
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Watch

/// `vjsearch watch PATH…`: the ingestion daemon.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Keep the library up to date with the given folders, as a long-running daemon.",
        discussion: """
            Starts with an incremental scan (as `vjsearch index` does), then follows changes with inotify \
            (recursively, including folders created later) and rescans everything every --rescan seconds \
            and on SIGHUP, for network mounts and lost events; folders inotify cannot watch are logged and \
            left to the rescans. A new or changed file is indexed once its size and modification time have \
            held still for --settle seconds, so files still being copied are never indexed half-written. \
            Moved files are re-linked without re-embedding; deleted ones are removed from the library. \
            SIGTERM or SIGINT stops it gracefully (exit status 0): the video in flight is committed whole \
            or abandoned, and the next start picks it up.

            While it runs, `vjsearch status` shows its pid, state, queue, last error and throughput (read \
            from <library>/watch.json), queries work as usual, and a `vjsearch index` without --wait on the \
            same library exits with status 75. The library's writer lock is held only while indexing. \
            Logs go to stderr, one line per event with key=value metadata.

            """ + ExitStatus.discussion)

    @Argument(help: "Folders (or files) to keep indexed.")
    var paths: [String]

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var threads: ThreadOptions

    @Option(help: "Seconds a file's size and modification time must hold still before it is indexed.")
    var settle = 5.0

    @Option(help: "Seconds between full rescans (the fallback for network mounts and lost events), 0.1-86400.")
    var rescan = 600.0

    @Option(help: "Lower the daemon's CPU priority by this niceness (0-19).")
    var nice: Int32?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Flag(help: "Make a new library readable by other users (folder 755, files 644); by default only you can read it (700, 600).")
    var shared = false

    @Flag(help: ArgumentHelp("Do not use inotify; find changes by rescanning only (also: VJSEARCH_WATCH_INOTIFY=0).",
                             visibility: .hidden))
    var noInotify = false

    func validate() throws {
        // A day at most: beyond that a wait overflows the timers it is turned into, and means "never" anyway.
        if !(0...86_400).contains(settle) { throw ValidationError("--settle must be 0 to 86400 seconds") }
        if !(0.1...86_400).contains(rescan) { throw ValidationError("--rescan must be 0.1 to 86400 seconds") }
        if let nice, !(0...19).contains(nice) { throw ValidationError("--nice must be between 0 and 19") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        let logger = Logger(label: "vjsearch.watch")
        if let nice, nice > 0, setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) != 0 {
            Diagnostics.warning("cannot set niceness \(nice): \(String(cString: strerror(errno)))")
        }
        // From here on SIGTERM/SIGINT stop the daemon gracefully, also while the model is still loading.
        let stop = StopRequest(signals: [SIGTERM, SIGINT])
        let libraryPath = library.path
        let n = threads.apply()
        let roots = paths.map(LibraryOptions.absolute)
        let inotify = !noInotify && ProcessInfo.processInfo.environment["VJSEARCH_WATCH_INOTIFY"] != "0"
        let lock: WatchLock
        let embedder: Embedder
        do {
            lock = try WatchLock(library: libraryPath)
            let creating = !FileManager.default.fileExists(atPath: libraryPath + "/data.mdb")
            let directory = try model.directory(library: libraryPath)
            embedder = try await onThread { try Embedder(directory: directory) }
            if creating { Diagnostics.noteDomain(embedder.bundle.config) }
        } catch WatchError.alreadyRunning(_, let pid) {
            Diagnostics.error("\(libraryPath): a vjsearch watch daemon\(pid.map { " (pid \($0))" } ?? "") already keeps this library up to date")
            throw ExitStatus.locked
        } catch {
            throw reportFailure(error)
        }
        defer { withExtendedLifetime((lock, stop)) {} }
        logger.info("starting", metadata: [
            "pid": "\(getpid())", "library": "\(libraryPath)", "model": "\(embedder.modelID)", "roots": "\(roots)",
            "settle": "\(settle)", "rescan": "\(rescan)", "threads": "\(n)",
        ])
        let configuration = Watcher.Configuration(
            roots: roots, library: libraryPath, settle: settle, rescan: rescan, inotify: inotify,
            ingest: Ingestor.Options(decodeThreads: n), shared: shared)
        do {
            let service = try WatchService(configuration: configuration, embedder: embedder, logger: logger)
            // Stop signals reach the group through `stop` (which has caught them since start-up), not its own handlers.
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [service], logger: logger))
            guard stop.hand(to: group) else {
                logger.info("stopped before starting", metadata: ["cause": "signal while loading"])
                return
            }
            try await group.run()
        } catch {
            logger.critical("stopped by an error", metadata: ["cause": "\(error)"])
            throw reportFailure(error)
        }
    }
}

/// Catches stop signals from the daemon's first moment: before the service group runs (while the model loads) a
/// signal is remembered, afterwards it is passed on as a graceful shutdown. Without it, a SIGTERM during start-up
/// would kill the process by the default action instead of ending it with status 0.
final class StopRequest: @unchecked Sendable {  // `sources` is set once in init; `state` is locked
    private let state = Mutex<(requested: Bool, group: ServiceGroup?)>((false, nil))
    private var sources: [any DispatchSourceSignal] = []

    init(signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)  // delivered to the dispatch source instead of the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.requested() }
            source.resume()
            sources.append(source)
        }
    }

    private func requested() {
        let group = state.withLock { s -> ServiceGroup? in
            s.requested = true
            return s.group
        }
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    /// From now on a signal shuts `group` down gracefully. Returns false when a stop was already requested.
    func hand(to group: ServiceGroup) -> Bool {
        state.withLock { s in
            s.group = group
            return !s.requested
        }
    }
}
