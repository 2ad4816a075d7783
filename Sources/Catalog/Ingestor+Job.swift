import Foundation
import Media

extension Ingestor {
    /// A file to embed, and what embedding it has gathered so far: the segments and vectors of its clips, batch by
    /// batch, until it commits itself or records its failure (either in one write transaction).
    struct Job: Sendable {
        var path: String
        var fingerprint: Fingerprint
        var mtime: Double
        /// Records of the file's earlier content, dropped in the same transaction.
        var replacing: [UInt64]
        /// One segment per clip embedded so far, in order, and their vectors (the model's dimension in floats each).
        private(set) var segments: [Segment] = []
        private(set) var vectors: [Float] = []

        init(path: String, fingerprint: Fingerprint, mtime: Double, replacing: [UInt64]) {
            self.path = path
            self.fingerprint = fingerprint
            self.mtime = mtime
            self.replacing = replacing
        }

        /// Adds an embedded batch: one vector per clip of `clips`, in order.
        mutating func add(_ clips: [Clip], vectors: [Float]) {
            self.vectors += vectors
            segments += clips.map { Segment(start: $0.start, end: $0.end) }
        }

        /// Commits the video of `duration` seconds with its segments and vectors, segment ends clamped to the duration
        /// (the last window may reach past it); a video without clips is recorded as failed instead.
        func commit(duration: Double, to library: Library, _ report: inout IndexReport) throws {
            guard !segments.isEmpty else {
                return try fail(.noFrames, in: library, &report)
            }
            let clamped = segments.map { Segment(start: $0.start, end: duration > $0.start ? min($0.end, duration) : $0.end) }
            try library.commit(path: path, fingerprint: fingerprint, mtime: mtime, duration: duration, segments: clamped,
                               vectors: vectors, replacing: replacing)
            report.indexed += 1
            report.videoSeconds += duration
        }

        /// Records the video as failed (not retried until the file changes).
        func fail(_ failure: VideoFailure, in library: Library, _ report: inout IndexReport) throws {
            report.failed.append(.init(path: path, cause: failure.description))
            try library.recordFailure(path: path, fingerprint: fingerprint, mtime: mtime, failure: failure, replacing: replacing)
        }
    }
}
