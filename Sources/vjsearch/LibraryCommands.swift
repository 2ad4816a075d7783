import ArgumentParser
import Catalog
import Foundation

/// `vjsearch status`: what the library holds.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the library's videos, hours, segments, model, failures and index health.",
        discussion: ExitStatus.discussion)

    @OptionGroup var library: LibraryOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let path = library.path
        let status: LibraryStatus
        do {
            status = try await onThread { try Library(path: path, model: nil, create: false).status() }
        } catch {
            throw reportFailure(error)
        }
        if json {
            print(JSONLines.encode(status))
            return
        }
        print("""
            library    \(status.library)
            model      \(status.modelID) (\(status.dimension) dimensions)
            videos     \(status.videos) (\(String(format: "%.2f", status.hours)) hours)
            segments   \(status.segments)
            vectors    \(status.vectors)\(status.healthy ? "" : " (does not match the segments: run `vjsearch verify`)")
            failures   \(status.failures.count)
            """)
        for f in status.failures { print("  \(f.path): \(f.cause)") }
    }
}

/// `vjsearch remove PATH…`: forget videos.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove videos (files, or everything under folders) from the library.",
        discussion: ExitStatus.discussion)

    @Argument(help: "Video paths or folders, as indexed.")
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

/// `vjsearch verify`: catalog and index integrity.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the HNSW graph, that segments and vectors match one to one, and that every video's segments exist.",
        discussion: "Exit status 0 when the library is consistent, 1 when not.\n\n" + ExitStatus.discussion)

    @OptionGroup var library: LibraryOptions

    func run() async throws {
        let path = library.path
        let report: LibraryVerification
        do {
            report = try await onThread { try Library(path: path, model: nil, create: false).verify() }
        } catch {
            throw reportFailure(error)
        }
        for p in report.problems { Diagnostics.error("\(path): \(p)") }
        print("\(report.isConsistent ? "consistent" : "INCONSISTENT"): \(report.videos) videos, \(report.segments) segments, \(report.vectors) vectors")
        if !report.isConsistent { throw ExitStatus.someFailed }
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

            """ + ExitStatus.discussion)

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var threads: ThreadOptions

    @Flag(help: "Wait for another run writing to the library instead of exiting with status 75.")
    var wait = false

    func run() async throws {
        let libraryPath = library.path
        let n = threads.apply()
        let wait = self.wait
        let report: IndexReport
        do {
            let modelDirectory = try model.directory()
            report = try await onThread {
                let lock = try LibraryLock(library: libraryPath, wait: wait)
                defer { withExtendedLifetime(lock) {} }
                let paths = try Library(path: libraryPath, model: nil, create: false).videos().map(\.path)
                let staging = libraryPath + ".reindex"
                try? FileManager.default.removeItem(atPath: staging)
                let embedder = try Embedder(directory: modelDirectory)
                let report: IndexReport
                do {
                    let fresh = try Library(path: staging, model: (embedder.modelID, embedder.dimension), create: true)
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
                throw CatalogError.file(b, "cannot exchange with \(a): \(String(cString: strerror(errno)))")
            }
        }
        let aside = b + ".old"
        try? FileManager.default.removeItem(atPath: aside)
        guard rename(b, aside) == 0, rename(a, b) == 0, rename(aside, a) == 0 else {
            throw CatalogError.file(b, "cannot replace with \(a): \(String(cString: strerror(errno)))")
        }
    }
}
