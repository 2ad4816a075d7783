import Catalog
import Foundation
import Synchronization

/// One ingestion worker of a shared library: it claims queued files under the roots this host mounts, embeds each
/// whole while a heartbeat renews its lease, and commits it in one transaction. Any number run on any hosts; a
/// worker that dies loses its lease and another takes the file. A broken connection (a database restart, a network
/// loss) is retried with backoff for `patience` seconds before the worker gives up; nothing committed is lost.
public final class SharedWorker: Sendable {
    public struct Options: Sendable {
        /// Seconds a claim lasts without a heartbeat (renewed every third of it).
        public var lease: Double
        /// Seconds to keep retrying while the database is unavailable.
        public var patience: Double
        /// Claims of one file (by workers that stopped while embedding it) before it is marked failed.
        public var maxAttempts: Int
        /// Added per clip after embedding it: the cluster benchmark's stand-in for a bigger model.
        public var simulatedClipSeconds: Double

        public init(lease: Double = 30, patience: Double = 300, maxAttempts: Int = 3, simulatedClipSeconds: Double = 0) {
            (self.lease, self.patience, self.maxAttempts, self.simulatedClipSeconds) = (lease, patience, maxAttempts, simulatedClipSeconds)
        }
    }

    /// What the worker did.
    public struct Report: Sendable {
        public var indexed = 0
        public var failed: [(path: String, cause: String)] = []
        /// Files whose lease ran out while this worker embedded them (another took them; this copy was dropped).
        public var lostLeases = 0
        public var clips = 0
        public var videoSeconds = 0.0
    }

    /// What a worker is doing, for progress lines.
    public enum Event: Sendable {
        case claimed(WorkItem)
        case indexed(WorkItem, clips: Int)
        case lostLease(WorkItem)
        case retrying(SharedLibraryError)
    }

    public let name: String
    let database: SharedDatabase
    let heartbeat: SharedDatabase
    /// Root name → the folder this host mounts it at.
    let roots: [String: String]
    let embedder: Embedder
    let ingest: Ingestor.Options
    let options: Options
    let events: @Sendable (Event) -> Void

    /// Opens two connections (work, heartbeat) and registers as `name` (default: host:pid).
    /// - Throws: `.unavailable` (exit 69) when the database cannot be reached now; `.modelMismatch` (65).
    public init(address: PostgresAddress, roots: [String: String], embedder: Embedder, ingest: Ingestor.Options,
                options: Options = Options(), name: String? = nil,
                events: @escaping @Sendable (Event) -> Void = { _ in }) async throws(SharedLibraryError) {
        let host = ProcessInfo.processInfo.hostName
        let pid = getpid()
        self.name = name ?? "\(host):\(pid)"
        database = try await SharedDatabase.open(address)
        do {
            heartbeat = try await SharedDatabase.open(address)
        } catch {
            await database.close()
            throw error
        }
        (self.roots, self.embedder, self.ingest, self.options, self.events) = (roots, embedder, ingest, options, events)
        do {
            try await database.adopt(embedder.identity)
            try await database.addRoots(Array(roots.keys))
            try await database.register(worker: self.name, host: host, pid: pid, model: embedder.modelID)
        } catch {
            await close()
            throw error
        }
    }

    public func close() async {
        try? await database.unregister(worker: name)
        await database.close()
        await heartbeat.close()
    }

    /// Works until no item under this host's roots is queued or claimed (claims of other live workers are waited
    /// for, and taken over once their leases run out), or until `isCancelled`.
    public func run(isCancelled: @escaping @Sendable () -> Bool = { false }) async throws(SharedLibraryError) -> Report {
        var report = Report()
        let rootNames = Array(roots.keys)
        while !isCancelled() {
            let claimed = try await retrying { () async throws(SharedLibraryError) in
                try await database.claim(worker: name, roots: rootNames, lease: options.lease, maxAttempts: options.maxAttempts)
            }
            guard let item = claimed else {
                let pending = try await retrying { () async throws(SharedLibraryError) in try await database.pending(roots: rootNames) }
                if pending.queued == 0 && pending.claimed == 0 { break }
                // Other workers hold the rest: look again when the soonest lease could run out, at most 1 s on.
                let wait = min(1, max(0.05, pending.soonestExpiry ?? 1))
                try? await Task.sleep(for: .seconds(wait))
                continue
            }
            events(.claimed(item))
            try await work(item, &report, isCancelled: isCancelled)
        }
        return report
    }

    /// `body`, run again while the database is unavailable, for `options.patience` seconds.
    private func retrying<R: Sendable>(_ body: () async throws(SharedLibraryError) -> R) async throws(SharedLibraryError) -> R {
        try await database.retrying(patience: options.patience, onRetry: { [events] in events(.retrying($0)) }, body)
    }

    private func work(_ item: WorkItem, _ report: inout Report, isCancelled: @escaping @Sendable () -> Bool) async throws(SharedLibraryError) {
        guard let folder = roots[item.root] else { return }
        let path = folder + "/" + item.path
        let cause: String
        if let current = try? Fingerprint(path: path), current != item.fingerprint {
            cause = "changed since it was queued; the next `vjsearch index` queues its new content"
        } else {
            let lost = Atomic<Bool>(false)
            let beat = Task { [heartbeat, name, options] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(options.lease / 3))
                    if Task.isCancelled { break }
                    if let held = try? await heartbeat.renew(item, worker: name, lease: options.lease), !held {
                        lost.store(true, ordering: .relaxed)
                    }
                }
            }
            defer { beat.cancel() }
            let outcome: FileEmbedding
            do {
                let (embedder, ingest, simulated) = (embedder, ingest, options.simulatedClipSeconds)
                outcome = try await onThread {
                    try Ingestor.embedFile(path, embedder: embedder, options: ingest, afterBatch: { clips in
                        if simulated > 0 { Thread.sleep(forTimeInterval: simulated * Double(clips)) }
                        if lost.load(ordering: .relaxed) { throw SharedLibraryError.lostLease("", path: item.path) }
                    }, isCancelled: { isCancelled() || lost.load(ordering: .relaxed) })
                }
            } catch {
                if lost.load(ordering: .relaxed) {
                    report.lostLeases += 1
                    events(.lostLease(item))
                } else {
                    // Stopped: the file goes back to the queue now rather than when the lease runs out.
                    try? await database.release(item, worker: name)
                }
                return
            }
            switch outcome {
            case .embedded(let video):
                do {
                    _ = try await retrying { () async throws(SharedLibraryError) in
                        try await database.complete(item, worker: name, video: video, model: embedder.identity)
                    }
                } catch .lostLease {
                    report.lostLeases += 1
                    events(.lostLease(item))
                    return
                }
                report.indexed += 1
                report.clips += video.segments.count
                report.videoSeconds += video.duration
                events(.indexed(item, clips: video.segments.count))
                return
            case .failed(let failure):
                cause = failure.description
            }
        }
        do {
            try await retrying { () async throws(SharedLibraryError) in try await database.fail(item, worker: name, cause: cause) }
            report.failed.append((path, cause))
        } catch .lostLease {
            report.lostLeases += 1
        }
    }
}
