import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Catalog

/// The ingestor in this process, over the tiny model fixture (1 s windows every 0.5 s) and small generated videos.
@Suite struct IngestorTests {
    /// A temporary folder with `videos/` holding one test-pattern video per entry of `seconds` (`a.mp4`, `b.mp4`, …)
    /// and a library for `embedder`.
    struct Setup {
        let dir: TemporaryDirectory
        let videos: URL
        let paths: [String]
        let library: Library

        init(seconds: [Double], embedder: Embedder) throws {
            let dir = try TemporaryDirectory(), videos = dir.file("videos")
            try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
            let paths = seconds.indices.map { videos.appendingPathComponent("\(["a", "b", "c"][$0]).mp4").path }
            for (path, seconds) in zip(paths, seconds) { try LibraryFixtures.video(path, seconds: seconds) }
            (self.dir, self.videos, self.paths) = (dir, videos, paths)
            library = try Library(path: dir.file("library").path, model: embedder.identity, create: true)
        }
    }

    /// Runs an ingestor with `batch` clips per model call over the setup's videos, recording its progress calls.
    func ingest(_ setup: Setup, _ embedder: Embedder, batch: Int) throws -> (IndexReport, ProgressLog) {
        let log = ProgressLog()
        let ingestor = Ingestor(library: setup.library, embedder: embedder, options: .init(batch: batch, queueDepth: 1),
                                progress: log.record)
        return (try ingestor.run([setup.videos.path]), log)
    }

    /// The progress calls of a run, in order.
    final class ProgressLog: Sendable {
        private let calls = Mutex<[IndexProgress]>([])
        var all: [IndexProgress] { calls.withLock { $0 } }
        func record(_ p: IndexProgress) { calls.withLock { $0.append(p) } }
    }

    /// A run waits for its decode thread to end before it returns, whether it finished or was cancelled mid-file
    /// (when the decoder may be blocked on a full queue or still inside FFmpeg). The decoder is held as it winds
    /// down until the consumer has taken its last step (the cancellation, or the last progress call), so a run that
    /// did not wait for it would return with the thread still alive.
    @Test(arguments: [false, true])
    func decodeThreadHasEndedWhenRunReturns(cancelled: Bool) throws {
        let bundle = try EmbedderTests.bundle { _ in }
        let embedder = try Embedder(directory: bundle.url)
        let setup = try Setup(seconds: [6], embedder: embedder)  // 11 clips, one per batch
        // Polls: 1 while planning, then about 3 a batch (before it and between the X-encoder's layers): the 8th
        // comes in the third batch.
        let polls = Atomic<Int>(0)
        let consumerDone = DispatchSemaphore(value: 0)
        let ingestor = Ingestor(library: setup.library, embedder: embedder, options: .init(batch: 1, queueDepth: 1),
                                progress: { p in if p.filesDone == p.filesTotal { consumerDone.signal() } },
                                isCancelled: {
                                    let stop = cancelled && polls.add(1, ordering: .relaxed).newValue >= 8
                                    if stop { consumerDone.signal() }
                                    return stop
                                })
        ingestor.decodeThreadWillEnd = { _ = consumerDone.wait(timeout: .now() + 60) }

        let report = try ingestor.run([setup.videos.path])

        #expect(ingestor.decodeThreads.alive == 0)
        #expect(report.cancelled == cancelled)
        if cancelled {
            #expect(report.clips > 0 && report.clips < 11, "cancelled mid-file")
            #expect(report.indexed == 0 && report.failed.isEmpty)
            #expect(try setup.library.videos().isEmpty, "nothing of the video in flight is written")
        } else {
            #expect(report.indexed == 1 && report.clips == 11)
            #expect(try setup.library.videos().map(\.status) == [.indexed])
        }
    }

    /// Each video is committed whole, its clips gathered over several batches in order, no segment past its end;
    /// progress ends with every file and byte done.
    @Test func eachVideoIsCommittedWithItsClipsInOrder() throws {
        let bundle = try EmbedderTests.bundle { _ in }
        let embedder = try Embedder(directory: bundle.url)
        let setup = try Setup(seconds: [2.3, 3], embedder: embedder)
        let (report, log) = try ingest(setup, embedder, batch: 2)

        #expect(report.indexed == 2 && report.failed.isEmpty && !report.cancelled)
        let videos = try setup.library.videos().sorted { $0.path < $1.path }
        #expect(videos.map(\.path) == setup.paths)
        #expect(videos.allSatisfy { $0.status == .indexed && $0.segments > 2 })
        #expect(report.clips == videos.map(\.segments).reduce(0, +))
        #expect(abs(report.videoSeconds - videos.map(\.duration).reduce(0, +)) < 1e-9)
        let status = try setup.library.status()
        #expect(status.segments == report.clips && status.vectors == report.clips)
        for video in videos {
            let segments = try setup.library.environment.read { txn in
                try (0..<UInt64(video.segments)).map { try setup.library.segment(video.id << 20 | $0, in: txn)! }
            }
            #expect(segments.first?.start == 0 && segments.map(\.start) == segments.map(\.start).sorted())
            #expect(segments.allSatisfy { $0.start < $0.end && $0.end <= video.duration }, "\(segments), \(video.duration)")
        }
        let last = try #require(log.all.last)
        #expect(last.filesDone == 2 && last.filesTotal == 2 && last.clips == report.clips)
        #expect(last.bytesDone == last.bytesTotal && last.bytesTotal > 0)
    }

    /// A video whose embedding fails is recorded as failed with the model's error at its first batch; the rest of
    /// its batches are skipped, and the next video is embedded (and fails) on its own.
    @Test func anEmbeddingFailureIsRecordedAndTheRestOfTheVideoSkipped() throws {
        let bundle = try EmbedderTests.bundle { t in t["predictor.out_proj.bias"]!.scalars[0] = .nan }
        let embedder = try Embedder(directory: bundle.url)
        let setup = try Setup(seconds: [3, 2], embedder: embedder)
        let (report, log) = try ingest(setup, embedder, batch: 1)

        let model = CatalogError.nonFiniteVector(model: embedder.bundle.directory.path)
        let failures = setup.paths.map { IndexReport.Failure(path: $0, cause: "embedding failed: \(model)") }
        #expect(report.failed == failures)
        #expect(report.indexed == 0 && report.clips == 0 && report.videoSeconds == 0 && !report.cancelled)
        #expect(try setup.library.status().failures.sorted { $0.path < $1.path } == failures)
        #expect(try setup.library.videos().allSatisfy { $0.status == .failed && $0.segments == 0 })
        #expect(try setup.library.videos().allSatisfy { $0.failure == .embedding(model.description) })
        let last = try #require(log.all.last)
        #expect(last.filesDone == 2 && last.bytesDone == last.bytesTotal)
        #expect(log.all.map(\.filesDone) == log.all.map(\.filesDone).sorted())

        // Unchanged, they are not tried again.
        let again = try Ingestor(library: setup.library, embedder: embedder).run([setup.videos.path])
        #expect(again.skippedFailed == failures && again.failed.isEmpty)
    }
}

/// The progress line `index` and the daemon show.
@Suite struct IndexProgressTests {
    @Test func lineShowsTheFilesShareRateAndBothETAs() {
        // 2 of 3 files done (600 of 1000 bytes); the third, 200 bytes, is 120 s into 480 s after 60 s on it.
        let file = IndexProgress.FileProgress(path: "/v/talk.mp4", duration: 480, position: 120, startedAt: 0,
                                              elapsed: 60, bytes: 200)
        let p = IndexProgress(filesDone: 2, filesTotal: 3, clips: 700, videoSeconds: 600, elapsed: 180, bytesDone: 600,
                              bytesTotal: 1000, file: file)
        #expect(file.fraction == 0.25)
        #expect(file.eta == 180)  // 360 s of video left at 2 s of video per second
        // Run: 650 of 1000 bytes in 180 s → 350 bytes take about 96.9 s.
        #expect(p.line == "files 2/3  talk.mp4 25% (0:02:00 of 0:08:00)  clips 700  4.0× real time  ETA file 0:03:00, run 0:01:37")
    }

    @Test func aFileWithoutDurationAndTheFirstSecondShowNoGuesses() {
        let file = IndexProgress.FileProgress(path: "/v/stream.ts", duration: nil, position: 0.5, startedAt: 0,
                                              elapsed: 0.5, bytes: 10)
        let p = IndexProgress(filesDone: 0, filesTotal: 1, clips: 1, videoSeconds: 0, elapsed: 0.5, bytesDone: 0,
                              bytesTotal: 10, file: file)
        #expect(file.fraction == nil && file.eta == nil && p.eta == nil)
        #expect(p.line == "files 0/1  stream.ts 0:00:01  clips 1  1.0× real time  ETA file -, run -")
    }
}
