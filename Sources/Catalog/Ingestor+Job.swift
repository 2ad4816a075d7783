import Foundation
import Media

extension Ingestor {
    /// A file to embed, and what embedding it has gathered since its last commit: the segments and vectors of its
    /// clips, batch by batch. A long file commits a chunk whenever `chunkSeconds` of video have gathered and stays
    /// partial until its last chunk; a failure is recorded instead (each commit is one write transaction).
    struct Job: Sendable {
        var path: String
        var fingerprint: Fingerprint
        var mtime: Double
        /// Records of the file's earlier content, dropped in the same transaction as its first commit.
        var replacing: [UInt64]
        /// The partial record this file's earlier chunks are stored in (by an earlier run, or by this one).
        private(set) var stored: VideoRecord?
        /// Where decoding starts: after the end of the last stored window (0 for a video not started).
        let resumeAfter: Double
        /// One segment per clip embedded since the last commit, in order, and their vectors (the model's
        /// dimension in floats each).
        private(set) var segments: [Segment] = []
        private(set) var vectors: [Float] = []

        init(path: String, fingerprint: Fingerprint, mtime: Double, replacing: [UInt64], resuming: VideoRecord? = nil) {
            self.path = path
            self.fingerprint = fingerprint
            self.mtime = mtime
            self.replacing = replacing
            stored = resuming
            resumeAfter = resuming?.resume?.after ?? 0
        }

        /// Index of the next clip window: the clips stored and gathered so far.
        var nextClip: Int { (stored?.segments ?? 0) + segments.count }

        /// Adds an embedded batch: one vector per clip of `clips`, in order.
        mutating func add(_ clips: [Clip], vectors: [Float]) {
            self.vectors += vectors
            segments += clips.map { Segment(start: $0.start, end: $0.end) }
        }

        /// Commits what has gathered as the next chunk of a partial video, once it spans `seconds` of video.
        mutating func commitChunk(ifOver seconds: Double, spec: ClipSpec, to library: Library) throws {
            guard let first = segments.first, let last = segments.last, last.end - first.start >= seconds else { return }
            stored = try library.commit(path: path, fingerprint: fingerprint, mtime: mtime, duration: last.end,
                                        segments: segments, vectors: vectors, replacing: replacing, extending: stored,
                                        resume: .init(window: spec.window, stride: spec.stride, after: last.end))
            replacing = []
            segments = []
            vectors = []
        }

        /// Commits the rest of the video of `duration` seconds, segment ends clamped to the duration (the last window
        /// may reach past it); a video without clips is recorded as failed instead.
        func commit(duration: Double, to library: Library, _ report: inout IndexReport) throws {
            guard nextClip > 0 else {
                return try fail(.noFrames, in: library, &report)
            }
            try library.commit(path: path, fingerprint: fingerprint, mtime: mtime, duration: duration,
                               segments: Segment.clamped(segments, to: duration),
                               vectors: vectors, replacing: replacing, extending: stored)
            report.indexed += 1
            if resumeAfter > 0 { report.resumed += 1 }
            report.videoSeconds += max(0, duration - resumeAfter)
        }

        /// Records the video as failed (not retried until the file changes), dropping any part of it stored.
        func fail(_ failure: VideoFailure, in library: Library, _ report: inout IndexReport) throws {
            report.failed.append(.init(path: path, cause: failure.description))
            try library.recordFailure(path: path, fingerprint: fingerprint, mtime: mtime, failure: failure,
                                      replacing: replacing + (stored.map { [$0.id] } ?? []))
        }
    }
}
