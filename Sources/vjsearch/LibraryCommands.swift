import SystemCall
import ArgumentParser
import Catalog
import Foundation
import JEPA
import VectorIndex
import Watch

/// `vjsearch status`: what the library holds.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the library's videos, hours, segments, model, failures and index health.",
        discussion: """
            Also lists videos indexed in part (an interrupted run on a long file) and the `vjsearch watch` \
            daemon's state, when one runs.

            For a postgres:// library: its model and size, the queue (queued, claimed, done, failed), \
            each worker with the file it holds and the seconds left on its lease, and how far this host's \
            replica is behind.

            Examples:
              vjsearch status
              vjsearch status --json --library ~/archive/vjsearch
              vjsearch status --library postgres://vj@db/vj

            """ + ExitStatus.pointer)

    @OptionGroup var library: LibraryOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        if let address = try library.sharedAddress() {
            do { try await SharedStatusReport(address: address, roots: library.rootMap(), json: json).print() } catch { throw reportFailure(error) }
            return
        }
        let path = library.path
        let status: LibraryStatus
        do {
            status = try await onThread { try Library(path: path, model: nil, create: false).status() }
        } catch {
            throw reportFailure(error)
        }
        let daemon = Daemon(library: path)
        if json {
            print(JSONLines.encode(MergedJSON(status, DaemonKey(daemon: daemon))))
            return
        }
        print("""
            library    \(status.library.escapingControlCharacters)
            model      \(Self.modelLine(status))
            videos     \(status.videos) (\(String(format: "%.2f", status.hours)) hours)
            segments   \(status.segments)
            vectors    \(status.vectors)\(status.healthy ? "" : " (does not match the segments: run `vjsearch verify`)")
            storage    \(status.storage): \(status.searchBytesPerVector) B per vector read by search, \(status.storedBytesPerVector) B stored
            failures   \(status.failures.count)
            """)
        for f in status.failures { print("  " + "\(f.path): \(f.cause)".escapingControlCharacters) }
        if !status.partial.isEmpty {
            print("partial    \(status.partial.count) (indexed in part; the next `vjsearch index` continues them)")
            for p in status.partial { print("  " + "\(p.path): \(timestamp(p.stored)) stored".escapingControlCharacters) }
        }
        for line in daemon.lines { print(line.escapingControlCharacters) }
    }

    /// Name, id, dimensions and domain of the library's model; name and domain from the library's record, else from
    /// the installed bundle with that id.
    static func modelLine(_ status: LibraryStatus) -> String {
        var name = status.modelName, domain = status.domain
        if name == nil || domain == nil,
           let directory = ModelCatalog().directory(forModelID: status.modelID),
           let bundle = try? ModelBundle(directory: directory) {
            name = name ?? directory.lastPathComponent
            domain = domain ?? bundle.config.domain
        }
        return "\(name.map { "\($0) " } ?? "")\(status.modelID) (\(status.dimension) dimensions)\n"
            + "domain     \(domain ?? "unknown"): \(ModelConfig.summary(domain: domain))"
    }

    /// The `vjsearch watch` daemon of the library, if one runs: liveness from its lock, details from `watch.json`.
    struct Daemon: Encodable {
        var running: Bool
        var pid: Int32?
        /// What the daemon last published; when not running, the state a stopped or killed daemon left behind.
        var status: WatchStatus?

        init(library: String) {
            let holder = WatchLock.holder(library: library)
            running = holder != nil
            status = WatchStatus.read(library: library)
            pid = holder.flatMap { $0 > 0 ? $0 : nil } ?? status?.pid
            if running, let s = status, s.pid != pid { status = nil }  // from an earlier daemon; the new one is starting
        }

        var lines: [String] {
            guard running, let pid else {
                let last = status.map { s in
                    " (last run pid \(s.pid), stopped or killed; last update \(Self.date(s.updatedAt)))"
                } ?? ""
                return ["daemon     not running" + last]
            }
            guard let s = status else { return ["daemon     running, pid \(pid), starting"] }
            var lines = [
                "daemon     running, pid \(pid), since \(Self.date(s.startedAt)), \(s.inotify ? "inotify" : "rescans only")",
                "  state    \(s.stateDescription)",
                "  queue    \(s.queued) queued, \(s.settling) settling",
                String(format: "  done     %d indexed, %d relinked, %d removed, %d failed; %.1f s of video in %.1f s (%.1f× real time)",
                       s.indexed, s.relinked, s.removed, s.failed, s.videoSeconds, s.busySeconds, s.realtimeFactor),
            ]
            if let scan = s.lastScanAt { lines.append("  scanned  \(Self.date(scan))") }
            lines.append("  error    " + (s.lastError.map { "\($0)" + (s.lastErrorAt.map { " (\(Self.date($0)))" } ?? "") } ?? "none"))
            return lines
        }

        /// Local time, to the second.
        static func date(_ seconds: Double) -> String {
            var t = time_t(seconds)
            var parts = tm()
            localtime_r(&t, &parts)
            return String(format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                          Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        }
    }

    /// The `daemon` key `status --json` and `/api/status` add to the library's status.
    struct DaemonKey: Encodable { var daemon: Daemon }
}

/// `vjsearch remove PATH…`: forget videos.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove videos (files, or everything under folders) from the library.",
        discussion: """
            The files themselves are not touched. Paths are matched as indexed (absolute).

            Examples:
              vjsearch remove ~/Videos/holiday.mp4
              vjsearch remove ~/Videos/old/

            """ + ExitStatus.pointer)

    @Argument(help: "Video paths or folders, as indexed.", completion: .file())
    var paths: [String]

    @OptionGroup var library: LibraryOptions

    @Flag(help: "Wait for another run writing to the library instead of exiting with status 75.")
    var wait = false

    func run() async throws {
        let libraryPath = library.path
        let targets = paths.map(LibraryOptions.absolute)
        let wait = self.wait
        let (removed, unknown): (Int, [String])
        do {
            (removed, unknown) = try await onThread {
                let lock = try LibraryLock(library: libraryPath, wait: wait)
                defer { withExtendedLifetime(lock) {} }
                let library = try Library(path: libraryPath, model: nil, create: false)
                let videos = try library.videos()
                var ids: [UInt64] = []
                var unknown: [String] = []
                for t in targets {
                    let matched = videos.filter { $0.path == t || $0.path.hasPrefix(t.hasSuffix("/") ? t : t + "/") }
                    if matched.isEmpty { unknown.append(t) }
                    ids += matched.map(\.id)
                }
                let unique = Array(Set(ids))
                try library.remove(unique)
                return (unique.count, unknown)
            }
        } catch {
            throw reportFailure(error)
        }
        for u in unknown { Diagnostics.error("\(u): not in the library") }
        print("removed \(removed) video\(removed == 1 ? "" : "s")")
        if !unknown.isEmpty { throw ExitStatus.someFailed }
    }
}

/// `vjsearch verify`: the pages of the library's file, then catalog and index integrity.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the library's file page by page, the HNSW graph, that segments and vectors match one to one, and that every video's segments exist.",
        discussion: """
            First every page of data.mdb that the library uses is checked without trusting it: page numbers, headers, \
            node offsets and sizes, key order, overflow runs, cycles, and that each page is either in use or free. \
            When that finds damage, the library is not opened (a damaged file can crash LMDB); it must then be \
            rebuilt or restored from a backup. Otherwise the catalog and the index are checked. --deep also reads \
            every byte of the large values (vectors and links, most of the file), so that disk read errors show. \
            A library whose first `index` was stopped before it stored anything is empty and consistent. \
            To rebuild an inconsistent library from what survives in it, run `vjsearch repair`.

            Examples:
              vjsearch verify
              vjsearch verify --deep --library ~/backups/vjsearch

            Exit status 0 when the library is consistent, 1 when not; the others are listed in `vjsearch --help`.
            """)

    @OptionGroup var library: LibraryOptions

    @Flag(help: "Also read every byte of the large values (most of the file), so that disk read errors show.")
    var deep = false

    /// The trees `vjsearch reindex` reads from the old library (it opens the catalog and the index and lists the
    /// videos); damage elsewhere does not stop it.
    static let readByReindex: Set = ["meta pages", "main database", "catalog.meta", "catalog.videos", "hnsw.meta"]

    func run() async throws {
        let path = library.path
        let file = path + "/data.mdb"
        let deep = self.deep
        var pages: LMDBFileReport?
        do {
            if FileManager.default.fileExists(atPath: file) {
                pages = try await onThread { try LMDBFileCheck.check(environment: path, readEveryByte: deep) }
            }
        } catch {
            throw reportFailure(error)
        }
        if let pages {
            for p in pages.problems { Diagnostics.error("\(file): \(p)") }
            if pages.problemCount > pages.problems.count {
                Diagnostics.error("\(file): … \(pages.problemCount) problems in all")
            }
            if pages.isDamaged {
                let remedy = Set(pages.damaged).isDisjoint(with: Self.readByReindex)
                    ? "rebuild it with `vjsearch reindex` (the list of videos it reads is intact)"
                    : "move it aside and index the videos into a new library"
                print("INCONSISTENT: \(file) is damaged in \(pages.damaged.joined(separator: ", ")), so the library was "
                      + "not opened; \(remedy), or restore it from a backup")
                throw ExitStatus.someFailed
            }
        }
        let report: LibraryVerification
        do {
            // The walk above already refused a damaged file.
            report = try await onThread { try Library(path: path, model: nil, create: false, checkPages: false).verify() }
        } catch CatalogError.emptyLibrary where pages?.isClean == true {
            // A sound file with no catalog yet: a first `index` stopped before its first commit. Nothing was stored.
            print("consistent: an empty library (nothing indexed yet); pages: \(pages?.pagesVisited ?? 0) checked")
            return
        } catch {
            throw reportFailure(error)
        }
        for p in report.problems { Diagnostics.error("\(path): \(p)") }
        let consistent = report.isConsistent && pages?.isClean != false
        let checksums = report.checksummed ? "checksums match" : "no checksums yet (the next write adds them)"
        print("\(consistent ? "consistent" : "INCONSISTENT"): \(report.videos) videos, "
              + (report.partial > 0 ? "\(report.partial) indexed in part, " : "") + "\(report.segments) segments, "
              + "\(report.vectors) vectors, "
              + (consistent ? checksums : "run `vjsearch repair` to rebuild the library from what survives")
              + (pages.map { "; pages: \($0.pagesVisited) checked" } ?? ""))
        if !consistent { throw ExitStatus.someFailed }
    }
}

/// `vjsearch reindex --model DIR`: re-embed the whole library with another model.
struct ReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Re-embed every video of the library with another model, then swap the libraries atomically.",
        discussion: """
            A new library is built beside the old one (<library>.reindex) from the paths in the catalog; \
            when it is complete the two folders are exchanged in one rename and the old one is deleted. \
            Until then queries keep using the old library; an interrupted reindex starts over.

            Examples:
              vjsearch reindex --model objects
              vjsearch reindex --model ~/models/my-bundle --library ~/archive/vjsearch
              vjsearch reindex --vectors int8           # same model, int8 for search

            """ + ExitStatus.pointer)

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var threads: ThreadOptions

    @Option(help: ArgumentHelp("How the new library keeps vectors for search (see `index --vectors`); default: as the old one.",
                               valueName: "f32|int8"))
    var vectors: VectorStorage?

    @Flag(help: "Wait for another run writing to the library instead of exiting with status 75.")
    var wait = false

    func run() async throws {
        let libraryPath = library.path
        let n = threads.apply()
        let wait = self.wait, requested = self.vectors
        if let pid = WatchLock.holder(library: libraryPath) {
            // The swap would pull the library from under the daemon, which must restart with the new model anyway.
            Diagnostics.error("a vjsearch watch daemon (pid \(pid)) keeps this library up to date; stop it before reindexing, then restart it with the new --model")
            throw ExitStatus.locked
        }
        let report: IndexReport
        do {
            let modelDirectory = try model.directory()
            report = try await onThread {
                let lock = try LibraryLock(library: libraryPath, wait: wait)
                defer { withExtendedLifetime(lock) {} }
                let old = try Library(path: libraryPath, model: nil, create: false)
                let paths = try old.videos().map(\.path)
                let storage = requested ?? old.index.storage
                let staging = libraryPath + ".reindex"
                try? FileManager.default.removeItem(atPath: staging)
                let embedder = try Embedder(directory: modelDirectory)
                let report: IndexReport
                do {
                    // The new library keeps the old one's openness (a library others may read stays so).
                    let mode = (try? FileManager.default.attributesOfItem(atPath: libraryPath)[.posixPermissions] as? Int) ?? 0o700
                    let fresh = try Library(path: staging, model: embedder.identity, create: true, shared: mode & 0o005 != 0,
                                            storage: storage)
                    report = try Ingestor(library: fresh, embedder: embedder,
                                          options: .init(decodeThreads: n)).run(paths)
                }
                try Self.exchange(staging, libraryPath)
                try FileManager.default.removeItem(atPath: staging)
                return report
            }
        } catch {
            throw reportFailure(error)
        }
        for f in report.failed { Diagnostics.error("\(f.path): \(f.cause)") }
        print(String(format: "reindexed %d videos (%d failed); %.1f s of video in %.1f s", report.indexed,
                     report.failed.count, report.videoSeconds, report.wallSeconds))
        if !report.failed.isEmpty { throw ExitStatus.someFailed }
    }

    /// Swaps two directories in one `renameat2(RENAME_EXCHANGE)` (Linux 3.15+; glibc declares it only under
    /// _GNU_SOURCE, so it is looked up at run time). Without it, two renames leave a short window with no library.
    static func exchange(_ a: String, _ b: String) throws {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        let renameExchange: UInt32 = 1 << 1
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") {
            let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
            if renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0 { return }
            if errno != EINVAL && errno != ENOSYS {
                throw CatalogError.rename(from: a, to: b, errno: Errno(rawValue: errno))
            }
        }
        let aside = b + ".old"
        try? FileManager.default.removeItem(atPath: aside)
        guard rename(b, aside) == 0, rename(a, b) == 0, rename(aside, a) == 0 else {
            throw CatalogError.rename(from: a, to: b, errno: Errno(rawValue: errno))
        }
    }
}

/// `vjsearch repair`: rebuild a damaged library from what survives in it.
struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Rebuild a damaged library's index from the vectors that pass their checksums.",
        discussion: """
            For a library that `vjsearch verify` reports damaged (a vector that fails its checksum, a broken \
            HNSW link, segments and vectors that do not match). A new library is built beside the old one \
            (<library>.repair) from every video record that reads, each indexed video's segments when all \
            their vectors pass their checksums, and a fresh HNSW graph over those vectors: no video is decoded \
            or embedded again. Videos that lost a vector are left out and listed; the next `vjsearch index` \
            of their folders embeds them again. The two folders are then exchanged in one rename and the old \
            library is kept as <library>.damaged-<time> until you delete it.

            Examples:
              vjsearch verify || vjsearch repair && vjsearch index ~/Videos
              vjsearch repair --library ~/archive/vjsearch

            """ + ExitStatus.pointer)

    @OptionGroup var library: LibraryOptions

    @Flag(help: "Wait for another run writing to the library instead of exiting with status 75.")
    var wait = false

    func run() async throws {
        let libraryPath = library.path
        let wait = self.wait
        if let pid = WatchLock.holder(library: libraryPath) {
            Diagnostics.error("\(libraryPath): a vjsearch watch daemon (pid \(pid)) keeps this library up to date; stop it before repairing, then restart it")
            throw ExitStatus.locked
        }
        let (report, aside): (RepairReport, String)
        do {
            (report, aside) = try await onThread {
                let lock = try LibraryLock(library: libraryPath, wait: wait)
                defer { withExtendedLifetime(lock) {} }
                let damaged = try Library(path: libraryPath, model: nil, create: false)
                let staging = libraryPath + ".repair"
                try? FileManager.default.removeItem(atPath: staging)
                let mode = (try? FileManager.default.attributesOfItem(atPath: libraryPath)[.posixPermissions] as? Int) ?? 0o700
                let report = try damaged.rebuild(into: staging, shared: mode & 0o005 != 0) { done, total in
                    guard stderrIsTerminal else { return }
                    FileHandle.standardError.write(Data("\r\u{1B}[Krepair: \(done)/\(total) vectors re-linked".utf8))
                }
                if stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                try ReindexCommand.exchange(staging, libraryPath)
                let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withYear, .withMonth, .withDay, .withTime])
                let aside = libraryPath + ".damaged-" + stamp
                guard rename(staging, aside) == 0 else {
                    throw CatalogError.rename(from: staging, to: aside, errno: Errno(rawValue: errno))
                }
                return (report, aside)
            }
        } catch {
            throw reportFailure(error)
        }
        print("repaired: \(report.videos) videos, \(report.segments) segments and vectors kept; \(report.failures) failure records kept")
        if report.damagedVectors > 0 { print("dropped \(report.damagedVectors) vectors that fail their checksums") }
        if report.orphanVectors > 0 { print("dropped \(report.orphanVectors) vectors of no kept segment") }
        if report.unreadableRecords > 0 { print("dropped \(report.unreadableRecords) unreadable catalog records") }
        if !report.reembed.isEmpty {
            print("\(report.reembed.count) videos lost vectors and were left out; `vjsearch index` on their folders embeds them again:")
            for path in report.reembed { print("  \(path.escapingControlCharacters)") }
        }
        print("the damaged library is kept as \(aside.escapingControlCharacters); delete it when you are satisfied")
    }
}
