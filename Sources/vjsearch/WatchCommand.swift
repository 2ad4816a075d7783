import ArgumentParser
import Catalog
import Foundation
import Logging
import ServiceLifecycle
import SharedLibrary
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
            SIGTERM or SIGINT stops it gracefully (exit status 0): the video in flight keeps the chunks it \
            committed (every 2 minutes of video), and the next start continues it. Long files log a \
            progress line every 10 s.

            While it runs, `vjsearch status` shows its pid, state, queue, last error and throughput (read \
            from <library>/watch.json), queries work as usual, and a `vjsearch index` without --wait on the \
            same library exits with status 75. The library's writer lock is held only while indexing. \
            Logs go to stderr, one line per event with key=value metadata.

            On a postgres:// library it makes passes of `vjsearch index` (queue what the roots hold that \
            the library lacks, then work the shared queue with the other hosts), each after a change under \
            the roots has settled, or every --rescan seconds.

            Examples:
              vjsearch watch ~/Videos                  # until SIGTERM or Ctrl-C
              vjsearch watch ~/Videos /mnt/nas/clips --settle 30 --rescan 600
              systemctl --user enable --now vjsearch-watch  # after make install
              vjsearch watch --library postgres://vj@db/vj --root footage=/mnt/footage

            """ + ExitStatus.pointer)

    @Argument(help: "Folders (or files) to keep indexed (for a postgres:// library: default, every --root).", completion: .file())
    var paths: [String] = []

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
        if paths.isEmpty && library.sharedText == nil {
            throw ValidationError("give the folders to keep indexed, such as: vjsearch watch ~/Videos")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        let logger = Logger(label: "vjsearch.watch")
        if let nice, nice > 0, setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) != 0 {
            Diagnostics.warning("cannot set niceness \(nice): \(String(cString: strerror(errno)))")
        }
        let inotify = !noInotify && ProcessInfo.processInfo.environment["VJSEARCH_WATCH_INOTIFY"] != "0"
        if let address = try library.sharedAddress() {
            let n = threads.apply()
            let indexing = SharedIndexing(
                address: address, roots: try SharedIndexing.roots(explicit: library.rootMap(), paths: paths), paths: [],
                requestedModel: model.requested, ingest: Ingestor.Options(decodeThreads: n), worker: SharedWorker.Options(),
                queueOnly: false, json: false)
            guard !indexing.roots.isEmpty else { throw ValidationError("give the folders to watch, or --root NAME=DIR") }
            do {
                try await SharedWatch(indexing: indexing, settle: settle, rescan: rescan, inotify: inotify, logger: logger).run()
            } catch {
                throw reportFailure(error)
            }
            return
        }
        let libraryPath = library.path
        let n = threads.apply()
        let roots = paths.map(LibraryOptions.absolute)
        let configuration = Watcher.Configuration(
            roots: roots, library: libraryPath, settle: settle, rescan: rescan, inotify: inotify,
            ingest: Ingestor.Options(decodeThreads: n), shared: shared)
        let model = self.model
        do {
            // Runs inside the service, after it took the presence lock: a stop signal while loading ends it cleanly.
            let service = try WatchService(configuration: configuration, logger: logger) { isStopping in
                let creating = !FileManager.default.fileExists(atPath: libraryPath + "/data.mdb")
                let embedder = try Embedder(directory: try model.directory(library: libraryPath), isCancelled: isStopping)
                if creating { Diagnostics.noteDomain(embedder.bundle.config) }
                return embedder
            }
            // From here on SIGTERM and SIGINT stop the daemon gracefully, also while the model is still loading.
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch WatchError.alreadyRunning(_, let pid) {
            Diagnostics.error("\(libraryPath): a vjsearch watch daemon\(pid.map { " (pid \($0))" } ?? "") already keeps this library up to date")
            throw ExitStatus.locked
        } catch {
            throw reportFailure(error)
        }
    }
}
