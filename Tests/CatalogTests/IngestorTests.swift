import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Catalog

/// The ingestor in this process, over the tiny model fixture and a small generated video.
@Suite struct IngestorTests {
    /// A run waits for its decode thread to end before it returns, whether it finished or was cancelled mid-file
    /// (when the decoder may be blocked on a full queue or still inside FFmpeg). The decoder is held for a moment
    /// as it winds down, so a run that did not wait for it would return with the thread still alive.
    @Test(arguments: [false, true])
    func decodeThreadHasEndedWhenRunReturns(cancelled: Bool) throws {
        let bundle = try EmbedderTests.bundle { _ in }
        let embedder = try Embedder(directory: bundle.url)
        let dir = try TemporaryDirectory()
        let videos = dir.file("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        // 6 s at 1 s windows every 0.5 s: 11 clips, one per batch.
        try Tool.run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=6",
                                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                videos.appendingPathComponent("a.mp4").path])
        let library = try Library(path: dir.file("library").path, model: embedder.identity, create: true)
        // Polls: 1 while planning, then about 3 a batch (before it and between the X-encoder's layers): the 8th
        // comes in the third batch.
        let polls = Atomic<Int>(0)
        let ingestor = Ingestor(library: library, embedder: embedder, options: .init(batch: 1, queueDepth: 1),
                                isCancelled: { cancelled && polls.add(1, ordering: .relaxed).newValue >= 8 })
        ingestor.decodeThreadWillEnd = { Thread.sleep(forTimeInterval: 0.2) }

        let report = try ingestor.run([videos.path])

        #expect(ingestor.decodeThreads.alive == 0)
        #expect(report.cancelled == cancelled)
        if cancelled {
            #expect(report.clips > 0 && report.clips < 11, "cancelled mid-file")
            #expect(report.indexed == 0 && report.failed.isEmpty)
            #expect(try library.videos().isEmpty, "nothing of the video in flight is written")
        } else {
            #expect(report.indexed == 1 && report.clips == 11)
            #expect(try library.videos().map(\.status) == [.indexed])
        }
    }
}
