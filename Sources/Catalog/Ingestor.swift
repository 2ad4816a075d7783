import Foundation
import Media
import Neural

/// What an indexing run did.
public struct IndexReport: Codable, Sendable {
    public struct Failure: Codable, Sendable, Equatable {
        public var path: String
        public var cause: String

        public init(path: String, cause: String) { (self.path, self.cause) = (path, cause) }
    }

    /// Embedded and committed in this run.
    public var indexed = 0
    /// Of those, videos an earlier run had stored in part, continued where it stopped.
    public var resumed = 0
    /// Moved or renamed files re-linked by fingerprint, without re-embedding.
    public var relinked = 0
    /// Already in the library, unchanged.
    public var unchanged = 0
    /// Failed before with the same content, not retried.
    public var skippedFailed: [Failure] = []
    /// Failed in this run.
    public var failed: [Failure] = []
    /// Vanished videos removed (`--prune`).
    public var pruned = 0
    public var clips = 0
    /// Seconds of video embedded, and wall-clock seconds of the whole run.
    public var videoSeconds = 0.0
    public var wallSeconds = 0.0
    /// Busy seconds of each stage: decoding runs on its own thread, overlapping embedding.
    public var decodeSeconds = 0.0
    public var embedSeconds = 0.0
    public var storeSeconds = 0.0
    /// Stopped early by `Ingestor`'s cancellation check; the video in flight was abandoned (nothing of it stored).
    public var cancelled = false

    /// Video seconds per wall-clock second.
    public var realtimeFactor: Double { wallSeconds > 0 ? videoSeconds / wallSeconds : 0 }
}

/// Incremental, resumable ingestion into a library.
///
/// Plan: unchanged files (same path, size and mtime) are skipped; a file whose fingerprint matches a video whose
/// path vanished is re-linked; a partial video (stored in part by an interrupted run) continues after its last
/// stored window; anything else is embedded. Pipeline: a decode thread cuts clips and feeds batches through a
/// bounded queue to the calling thread, which embeds them and commits the video's record, segments and vectors in
/// one write transaction: at its end, and for a long file also every `chunkSeconds` of video, leaving it partial
/// (searchable so far) until its last chunk. The decode thread has ended when `run` returns. A crash loses at
/// most one chunk of the video in flight, and so does cancellation: `isCancelled` is checked between files while
/// planning, before each batch is embedded and between the X-encoder's layers.
public final class Ingestor {
    public struct Options: Sendable {
        /// Codec threads for the decoder (the embedder's are `Neural.threads`).
        public var decodeThreads: Int
        public var window: Double?
        public var stride: Double?
        public var prune: Bool
        /// Clips per model call.
        public var batch: Int
        /// Batches the decode thread may run ahead.
        public var queueDepth: Int
        /// Seconds of video a long file commits at a time: an interrupted run redoes at most this much of it.
        public var chunkSeconds: Double

        public static let defaultChunkSeconds = 120.0

        public init(decodeThreads: Int = 1, window: Double? = nil, stride: Double? = nil, prune: Bool = false,
                    batch: Int = 8, queueDepth: Int = 2, chunkSeconds: Double = defaultChunkSeconds) {
            self.decodeThreads = decodeThreads
            self.window = window
            self.stride = stride
            self.prune = prune
            self.batch = batch
            self.queueDepth = queueDepth
            self.chunkSeconds = chunkSeconds
        }
    }

    let library: Library
    let embedder: Embedder
    let options: Options
    let progress: (@Sendable (IndexProgress) -> Void)?
    let isCancelled: @Sendable () -> Bool
    /// Test seams: the decode threads of this ingestor, and a hook each runs as it winds down (after its last item).
    let decodeThreads = ThreadGroup()
    var decodeThreadWillEnd: (@Sendable () -> Void)?

    /// `isCancelled` is polled on the calling thread; once it returns true the run stops at the next check and
    /// returns a report with `cancelled` set.
    public init(library: Library, embedder: Embedder, options: Options = Options(),
                progress: (@Sendable (IndexProgress) -> Void)? = nil,
                isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.library = library
        self.embedder = embedder
        self.options = options
        self.progress = progress
        self.isCancelled = isCancelled
    }

    /// Scans `roots` and brings the library up to date. Runs on the calling thread (the library's writer).
    public func run(_ roots: [String]) throws -> IndexReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report = IndexReport()
        let (candidates, problems) = VideoFinder().scan(roots)
        for p in problems { report.failed.append(.init(path: p.path, cause: p.cause)) }

        var byPath: [String: VideoRecord] = [:]
        var byFingerprint: [Fingerprint: [VideoRecord]] = [:]
        for v in try library.videos() {
            byPath[v.path] = v
            if v.status == .indexed { byFingerprint[v.fingerprint, default: []].append(v) }
        }
        let candidatePaths = Set(candidates.map(\.path))
        let spec = embedder.clipSpec(window: options.window, stride: options.stride)
        var jobs: [Job] = []
        for c in candidates {
            if isCancelled() {
                report.cancelled = true
                report.wallSeconds = Self.seconds(clock.now - start)
                return report
            }
            let old = byPath[c.path]
            if let old, old.status != .partial, old.size == c.size, old.mtime == c.mtime {
                if old.status == .failed {
                    report.skippedFailed.append(.init(path: c.path, cause: old.failure?.description ?? "failed"))
                } else {
                    report.unchanged += 1
                }
                continue
            }
            let fingerprint: Fingerprint
            do {
                fingerprint = try Fingerprint(path: c.path)
            } catch {
                report.failed.append(.init(path: c.path, cause: VideoFailure(error).description))
                continue
            }
            if let old, old.fingerprint == fingerprint, old.status == .partial {
                // Continued where it stopped, unless the windows changed (then its stored part is replaced).
                let same = old.resume.map { $0.window == spec.window && $0.stride == spec.stride } ?? false
                jobs.append(Job(path: c.path, fingerprint: fingerprint, mtime: c.mtime, replacing: same ? [] : [old.id],
                                resuming: same ? old : nil))
                continue
            }
            if let old, old.fingerprint == fingerprint {
                // Touched, not changed: keep the vectors (or the failure), remember the new mtime.
                try library.relink(old.id, to: c.path, mtime: c.mtime, replacing: [])
                if old.status == .failed {
                    report.skippedFailed.append(.init(path: c.path, cause: old.failure?.description ?? "failed"))
                } else {
                    report.unchanged += 1
                }
                continue
            }
            if let index = byFingerprint[fingerprint]?.firstIndex(where: {
                !candidatePaths.contains($0.path) && !FileManager.default.fileExists(atPath: $0.path)
            }) {
                let moved = byFingerprint[fingerprint]!.remove(at: index)
                try library.relink(moved.id, to: c.path, mtime: c.mtime, replacing: old.map { [$0.id] } ?? [])
                report.relinked += 1
                continue
            }
            jobs.append(Job(path: c.path, fingerprint: fingerprint, mtime: c.mtime, replacing: old.map { [$0.id] } ?? []))
        }

        try embed(jobs, spec: spec, &report, start: start)

        if options.prune && !report.cancelled {
            let rootPrefixes = roots.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let vanished = try library.videos().filter { v in
                rootPrefixes.contains { v.path == $0 || v.path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
                    && !FileManager.default.fileExists(atPath: v.path)
            }
            try library.remove(vanished.map(\.id))
            report.pruned = vanished.count
        }
        report.wallSeconds = Self.seconds(clock.now - start)
        return report
    }

    private func embed(_ jobs: [Job], spec: ClipSpec, _ report: inout IndexReport, start: ContinuousClock.Instant) throws {
        guard !jobs.isEmpty else { return }
        let queue = BoundedQueue<Item>(capacity: options.queueDepth)
        startDecoding(jobs, into: queue)
        defer {
            queue.close()  // wakes a decoder blocked on a full queue; it stops at its next clip, push or file
            decodeThreads.join()  // then nothing of this run touches FFmpeg after it returns
        }

        let clock = ContinuousClock()
        let workspace = Workspace()
        let bytesTotal = jobs.reduce(UInt64(0)) { $0 + $1.fingerprint.size }
        var bytesDone: UInt64 = 0
        // Items come in job order and a job ends with its last item (or earlier, when embedding fails), so those
        // of job `done` go to `job` and those of a job before it are the rest of a video whose embedding failed.
        var done = 0
        var job = jobs[0]
        var lastProgress = clock.now
        var file: IndexProgress.FileProgress?
        var fileStart = clock.now
        func finish() {
            bytesDone += job.fingerprint.size
            done += 1
            file = nil
            if done < jobs.count { job = jobs[done] }
        }
        func showProgress(_ r: IndexReport) {
            guard let progress else { return }
            let now = clock.now
            guard done == jobs.count || now - lastProgress > .milliseconds(250) else { return }
            lastProgress = now
            file?.elapsed = Self.seconds(now - fileStart)
            progress(IndexProgress(filesDone: done, filesTotal: jobs.count, clips: r.clips, videoSeconds: r.videoSeconds,
                                   elapsed: Self.seconds(now - start), bytesDone: bytesDone, bytesTotal: bytesTotal,
                                   file: file))
        }
        while let item = queue.pop() {
            report.decodeSeconds += item.decodeSeconds
            guard item.job == done else { continue }  // the rest of a video whose embedding failed
            switch item {
            case .opened(_, let duration):
                fileStart = clock.now
                file = .init(path: job.path, duration: duration, position: job.resumeAfter, startedAt: job.resumeAfter,
                             elapsed: 0, bytes: job.fingerprint.size)
            case .clips(_, let clips, let tensors, _):
                if isCancelled() {
                    // Abandon the video in flight since its last chunk (a short one: all of it); `defer` stops the
                    // decode thread and waits for it.
                    report.cancelled = true
                    return
                }
                let t0 = clock.now
                do {
                    try job.add(clips, vectors: embedder.embedClips(tensors, workspace: workspace, isCancelled: isCancelled))
                    report.clips += clips.count
                } catch is CancellationError {
                    report.cancelled = true  // stopped inside the batch: what was gathered since the last chunk is dropped
                    return
                } catch {
                    try job.fail(.embedding("\(error)"), in: library, &report)
                    finish()
                }
                report.embedSeconds += Self.seconds(clock.now - t0)
                let t1 = clock.now
                try job.commitChunk(ifOver: options.chunkSeconds, spec: spec, to: library)
                report.storeSeconds += Self.seconds(clock.now - t1)
                if let last = clips.last, let position = file?.position { file?.position = max(position, last.end) }
            case .end(_, let duration, _):
                let t0 = clock.now
                try job.commit(duration: duration, to: library, &report)
                report.storeSeconds += Self.seconds(clock.now - t0)
                finish()
            case .failed(_, let failure, _):
                try job.fail(failure, in: library, &report)
                finish()
            }
            showProgress(report)
        }
    }

    /// `d` in seconds.
    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
