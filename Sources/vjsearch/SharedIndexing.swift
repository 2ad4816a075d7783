import ArgumentParser
import Catalog
import Foundation
import SharedLibrary

/// `vjsearch index` on a `postgres://` library: this host queues the files under its roots, then works the shared
/// queue with the other hosts until nothing is left. Every host runs the same command.
struct SharedIndexing {
    var address: PostgresAddress
    /// Root name → folder, as this host mounts it.
    var roots: [String: String]
    var paths: [String]
    var requestedModel: String?
    var ingest: Ingestor.Options
    var worker: SharedWorker.Options
    var queueOnly: Bool
    var json: Bool
    /// Forget paths under the scanned folders whose files are gone.
    var prune = false

    /// `roots` plus a root for each folder in `paths` that none covers, named after its last component.
    static func roots(explicit: [String: String], paths: [String]) throws -> [String: String] {
        var roots = explicit
        for path in paths.map(LibraryOptions.absolute) where LibraryTransfer.relative(path + "/", roots: roots) == nil {
            var folder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &folder) else { continue }
            guard folder.boolValue else {
                throw ValidationError("\(path): a file outside every --root; give its folder as --root NAME=DIR")
            }
            let name = (path as NSString).lastPathComponent
            guard LibraryOptions.isRootName(name) else {
                throw ValidationError("\(path): its name cannot be a root name; give it one with --root NAME=\(path)")
            }
            if let other = roots[name], other != path {
                throw ValidationError("\(path): the root name \(name) is taken by \(other); give it another with --root NAME=\(path)")
            }
            roots[name] = path
        }
        return roots
    }

    struct Summary: Encodable {
        var queued = 0, waiting = 0, linked = 0, unchanged = 0, skippedFailed = 0, failed = 0, pruned = 0
        var indexed = 0, lostLeases = 0, clips = 0
        var videoSeconds = 0.0, wallSeconds = 0.0
        var failures: [IndexReport.Failure] = []

        enum CodingKeys: String, CodingKey {
            case queued, waiting, linked, unchanged, failed, pruned, indexed, clips, failures
            case skippedFailed = "skipped_failed", lostLeases = "lost_leases", videoSeconds = "video_seconds"
            case wallSeconds = "wall_seconds"
        }
    }

    func run() async throws {
        let summary = try await pass()
        if json {
            print(JSONLines.encode(summary))
        } else {
            print(String(
                format: "queued %d (%d already waiting), linked %d, unchanged %d, skipped-failed %d, pruned %d; this worker indexed %d, failed %d, lost %d leases; %d clips, %.1f s of video in %.1f s",
                summary.queued, summary.waiting, summary.linked, summary.unchanged, summary.skippedFailed, summary.pruned, summary.indexed,
                summary.failed, summary.lostLeases, summary.clips, summary.videoSeconds, summary.wallSeconds))
        }
        if summary.failed > 0 { throw ExitStatus.someFailed }
    }

    /// Queues what the library lacks, then (unless `queueOnly`) works the queue until nothing under this host's
    /// roots is left, or until `isCancelled`.
    func pass(isCancelled: @escaping @Sendable () -> Bool = { false }) async throws -> Summary {
        let clock = ContinuousClock()
        let start = clock.now
        var summary = Summary()
        let embedder = try await SharedDatabase.with(address) { database in
            let stored = try await database.identity()
            let directory = try ModelOptions.resolve(requestedModel, libraryModelID: stored?.model.id)
            let embedder = try await onThread { try Embedder(directory: directory) }
            if stored == nil { Diagnostics.noteDomain(embedder.bundle.config) }
            try await database.adopt(embedder.identity)
            try await database.addRoots(Array(roots.keys))
            summary = try await queue(database, summary)
            return embedder
        }
        if !queueOnly && !isCancelled() {
            let worker = try await SharedWorker(address: address, roots: roots, embedder: embedder, ingest: ingest, options: worker,
                                                events: Self.show)
            let report: SharedWorker.Report
            do {
                report = try await worker.run(isCancelled: isCancelled)
            } catch {
                await worker.close()
                throw error
            }
            await worker.close()
            summary.indexed = report.indexed
            summary.lostLeases = report.lostLeases
            summary.clips = report.clips
            summary.videoSeconds = report.videoSeconds
            summary.failed += report.failed.count
            summary.failures += report.failed.map { .init(path: $0.path, cause: $0.cause) }
            for f in report.failed { Diagnostics.error("\(f.path): \(f.cause)") }
        }
        summary.wallSeconds = Ingestor.seconds(clock.now - start)
        return summary
    }

    /// Scans this host's roots (or the given paths) and queues what the library lacks.
    private func queue(_ database: SharedDatabase, _ summary: Summary) async throws -> Summary {
        var summary = summary
        let scanned = paths.isEmpty ? roots.values.sorted() : paths
        let (candidates, problems) = VideoFinder().scan(scanned)
        for p in problems {
            Diagnostics.error("\(p.path): \(p.cause)")
            summary.failed += 1
            summary.failures.append(.init(path: p.path, cause: p.cause))
        }
        var known: [String: [String: StoredPath]] = [:]
        for c in candidates {
            guard let (root, relative) = LibraryTransfer.relative(c.path, roots: roots) else {
                Diagnostics.error("\(c.path): under no --root")
                summary.failed += 1
                summary.failures.append(.init(path: c.path, cause: "under no --root"))
                continue
            }
            if known[root] == nil { known[root] = try await database.paths(under: root) }
            if let stored = known[root]?[relative], stored.size == c.size, stored.mtime == c.mtime {
                summary.unchanged += 1
                continue
            }
            let fingerprint: Fingerprint
            do {
                fingerprint = try Fingerprint(path: c.path)
            } catch {
                Diagnostics.error("\(c.path): \(VideoFailure(error))")
                summary.failed += 1
                continue
            }
            switch try await database.enqueue(root: root, path: relative, fingerprint: fingerprint, mtime: c.mtime) {
            case .queued: summary.queued += 1
            case .waiting: summary.waiting += 1
            case .linked: summary.linked += 1
            case .failedBefore(let cause):
                summary.skippedFailed += 1
                Diagnostics.warning("\(c.path): skipped, failed before: \(cause)")
            }
        }
        if prune {
            // Paths under the scanned folders that the library knows and whose files are gone.
            let folders = scanned.map { LibraryOptions.absolute($0) }
            for (root, folder) in roots.sorted(by: { $0.key < $1.key }) {
                // A root that is missing or empty here is more likely an unmounted share than a deleted collection:
                // every host shares this library, so nothing is pruned on its word.
                guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder), !entries.isEmpty else {
                    Diagnostics.warning("\(folder): missing or empty; nothing under root \(root) is pruned")
                    continue
                }
                let stored: [String: StoredPath]
                if let known = known[root] { stored = known } else { stored = try await database.paths(under: root) }
                for path in stored.keys.sorted() {
                    let local = folder + "/" + path
                    guard folders.contains(where: { local == $0 || local.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }),
                          !FileManager.default.fileExists(atPath: local) else { continue }
                    try await database.unlink(root: root, path: path)
                    summary.pruned += 1
                }
            }
        }
        return summary
    }

    static func show(_ event: SharedWorker.Event) {
        switch event {
        case .claimed(let item):
            Diagnostics.write("claimed \(item.root)/\(item.path)\(item.attempts > 1 ? " (attempt \(item.attempts))" : "")")
        case .indexed(let item, let clips):
            Diagnostics.write("indexed \(item.root)/\(item.path): \(clips) clips")
        case .lostLease(let item):
            Diagnostics.warning("\(item.root)/\(item.path): the lease ran out and another worker took it; this copy was dropped")
        case .retrying(let error):
            Diagnostics.warning("\(error); retrying")
        }
    }

}
