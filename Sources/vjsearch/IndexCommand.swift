import ArgumentParser
import Catalog
import Foundation
import Neural
import SharedLibrary
import VectorIndex
import Watch

/// `vjsearch index PATH…`: scan, embed and store; incremental and resumable.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index the videos under the given paths into the library.",
        discussion: """
            Folders are scanned recursively (symbolic-link loops are safe; hidden and junk entries are \
            skipped; videos are recognised by content as well as by extension). Unchanged videos are \
            skipped, changed ones re-embedded, moved or renamed ones re-linked by content fingerprint \
            without re-embedding; with --prune, videos that vanished from the scanned paths are removed. \
            A video commits in one transaction, and a long one also every 2 minutes of video: an \
            interrupted (or killed) run loses at most that much, the part stored is searchable (marked \
            partial), and the next run continues after it. Files that failed are remembered with their \
            fingerprint and not retried until they change (reported as skipped-failed, exit status 0).

            A postgres:// library is shared by many machines: each host queues the files under its roots \
            that the library lacks, then embeds queued files with the other hosts until none is left. Run \
            the same command on every host (see the README, "Many machines").

            Examples:
              vjsearch index ~/Videos                   # all under it, incrementally
              vjsearch index talk.mp4 --progress plain  # a line every 10 s, as in logs
              vjsearch index ~/Videos --prune --json    # forget deleted files; JSON
              vjsearch index /mnt/nas --vectors int8    # new library, small search memory
              vjsearch index --library postgres://vj@db/vj --root footage=/mnt/footage

            """ + ExitStatus.pointer)

    @Argument(help: "Video files or folders (for a postgres:// library: default, every --root).", completion: .file())
    var paths: [String] = []

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var threads: ThreadOptions

    @OptionGroup var clip: ClipWindowOptions

    @Option(help: ArgumentHelp(
        "How a new library keeps vectors for search: f32 (exact), or int8 (the graph walk reads a quarter of the bytes; the final ranking is still exact). Fixed when the library is made; `reindex --vectors` changes it.",
        valueName: "f32|int8"))
    var vectors: VectorStorage?

    @Flag(help: "Make a new library readable by other users (folder 755, files 644); by default only you can read it (700, 600), since it reveals what you watch and search for.")
    var shared = false

    @Flag(help: "Remove videos under the given paths whose files no longer exist.")
    var prune = false

    @Flag(help: "Wait for another run writing to the library, or index beside a running `vjsearch watch` daemon, instead of exiting with status 75.")
    var wait = false

    @Flag(help: "Print the summary as one JSON object (with the time split between decoding, embedding and storing).")
    var json = false

    @Option(help: ArgumentHelp(
        "Progress on stderr: tty (one line redrawn: files, percent of the current file, clips, × real time, ETA of the file and the run), plain (that line every 10 s, for logs), none, or auto (tty on a terminal, else plain).",
        valueName: "mode"))
    var progress: ProgressMode = .auto

    @Flag(help: "For a postgres:// library: only queue the files; workers (`vjsearch index` on other hosts) embed them.")
    var queueOnly = false

    @Option(help: ArgumentHelp("For a postgres:// library: seconds a file stays this worker's without a heartbeat, 3-3600; a worker that dies loses it after this long.", valueName: "seconds"))
    var lease = 30.0

    @Option(help: ArgumentHelp("For a postgres:// library: seconds to keep retrying while the database is unreachable, 0-86400.", valueName: "seconds"))
    var patience = 300.0

    @Option(help: ArgumentHelp("Seconds to wait per clip after embedding it (Tools/bench/cluster's stand-in for a larger model), 0-60.", visibility: .hidden))
    var simulateClipSeconds = 0.0

    @Option(help: ArgumentHelp("Seconds of video a long file commits at a time (an interrupted run redoes at most this much), 1-3600.", visibility: .hidden))
    var chunkSeconds = Ingestor.Options.defaultChunkSeconds

    @Option(help: ArgumentHelp("Clips per model call, 1-4096.", visibility: .hidden))
    var batch = 8

    @Option(help: ArgumentHelp("Decoder threads, 0-256 (0: automatic; default: --threads).", visibility: .hidden))
    var decodeThreads: Int?

    func validate() throws {
        try OptionCheck.count(batch, "--batch", in: Self.batchRange)
        try OptionCheck.count(decodeThreads, "--decode-threads", in: 0...Neural.maxThreads)
        try OptionCheck.seconds(chunkSeconds, "--chunk-seconds", in: 1...3600)
        try OptionCheck.seconds(lease, "--lease", in: 3...3600)
        try OptionCheck.seconds(patience, "--patience", in: 0...86400)
        try OptionCheck.seconds(simulateClipSeconds, "--simulate-clip-seconds", in: 0...60)
        if paths.isEmpty && library.sharedText == nil {
            throw ValidationError("give the video files or folders to index, such as: vjsearch index ~/Videos")
        }
    }

    /// Clips per model call: each holds `frames × 3 × size²` floats (1.6 M for the default model).
    static let batchRange = 1...4096

    func run() async throws {
        let n = threads.apply()
        let options = Ingestor.Options(decodeThreads: decodeThreads ?? n, window: clip.window, stride: clip.stride, prune: prune,
                                       batch: batch, chunkSeconds: chunkSeconds)
        if let address = try library.sharedAddress() {
            if vectors != nil || shared {
                throw ValidationError("--vectors and --shared are for folder libraries; a postgres:// library takes neither yet")
            }
            let indexing = SharedIndexing(
                address: address, roots: try SharedIndexing.roots(explicit: library.rootMap(), paths: paths), paths: paths,
                requestedModel: model.requested, ingest: options,
                worker: SharedWorker.Options(lease: lease, patience: patience, simulatedClipSeconds: simulateClipSeconds),
                queueOnly: queueOnly, json: json, prune: prune)
            do { try await indexing.run() } catch { throw reportFailure(error) }
            return
        }
        let libraryPath = library.path
        let roots = paths
        let display = ProgressDisplay(progress)
        let modelDirectory: URL
        let creating = !FileManager.default.fileExists(atPath: libraryPath + "/data.mdb")
        if creating, !roots.contains(where: { FileManager.default.fileExists(atPath: $0) }) {
            // Nothing to index: no library (nor its folder, which the writer lock would make) is created.
            for root in roots { Diagnostics.error("\(root): no such file or folder") }
            throw ExitStatus.someFailed
        }
        do { modelDirectory = try model.directory(library: libraryPath) } catch { throw reportFailure(error) }
        let wait = self.wait, shared = self.shared, storage = self.vectors
        if !wait, let pid = WatchLock.holder(library: libraryPath) {
            // A cron job next to a running daemon: the daemon already does this work, so say so and leave.
            Diagnostics.error("a vjsearch watch daemon (pid \(pid)) keeps this library up to date; use --wait to index anyway")
            throw ExitStatus.locked
        }
        let report: IndexReport
        do {
            report = try await onThread {
                let lock = try LibraryLock(library: libraryPath, wait: wait)
                defer { withExtendedLifetime(lock) {} }
                let embedder = try Embedder(directory: modelDirectory)
                if creating { Diagnostics.noteDomain(embedder.bundle.config) }
                let library = try Library(path: libraryPath, model: embedder.identity, create: true, shared: shared, storage: storage)
                let ingestor = Ingestor(library: library, embedder: embedder, options: options,
                                        progress: display.callback)
                return try ingestor.run(roots)
            }
        } catch {
            throw reportFailure(error)
        }
        display.finish()
        for f in report.failed { Diagnostics.error("\(f.path): \(f.cause)") }
        for f in report.skippedFailed { Diagnostics.warning("\(f.path): skipped, failed before: \(f.cause)") }
        if json {
            print(JSONLines.encode(Summary(report)))
        } else {
            print(String(
                format: "indexed %d%@, relinked %d, unchanged %d, skipped-failed %d, failed %d, pruned %d; %d clips, %.1f s of video in %.1f s (%.1f× real time)",
                report.indexed, report.resumed > 0 ? " (\(report.resumed) resumed)" : "", report.relinked, report.unchanged, report.skippedFailed.count, report.failed.count,
                report.pruned, report.clips, report.videoSeconds, report.wallSeconds, report.realtimeFactor))
        }
        if !report.failed.isEmpty { throw ExitStatus.someFailed }
    }

    /// The `--json` summary.
    struct Summary: Encodable {
        var indexed, resumed, relinked, unchanged, skippedFailed, failed, pruned, clips: Int
        var videoSeconds, wallSeconds, realtimeFactor, decodeSeconds, embedSeconds, storeSeconds: Double
        var failures: [IndexReport.Failure]

        init(_ r: IndexReport) {
            indexed = r.indexed
            resumed = r.resumed
            relinked = r.relinked
            unchanged = r.unchanged
            skippedFailed = r.skippedFailed.count
            failed = r.failed.count
            pruned = r.pruned
            clips = r.clips
            videoSeconds = r.videoSeconds
            wallSeconds = r.wallSeconds
            realtimeFactor = r.realtimeFactor
            decodeSeconds = r.decodeSeconds
            embedSeconds = r.embedSeconds
            storeSeconds = r.storeSeconds
            failures = r.failed + r.skippedFailed
        }

        enum CodingKeys: String, CodingKey {
            case indexed, resumed, relinked, unchanged, failed, pruned, clips, failures
            case skippedFailed = "skipped_failed", videoSeconds = "video_seconds", wallSeconds = "wall_seconds"
            case realtimeFactor = "realtime_factor", decodeSeconds = "decode_seconds", embedSeconds = "embed_seconds"
            case storeSeconds = "store_seconds"
        }
    }
}

extension VectorStorage: ExpressibleByArgument {}
