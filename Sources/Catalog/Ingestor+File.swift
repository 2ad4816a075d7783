import Foundation
import Media
import Neural

/// One file embedded whole, not stored: what a shared library's worker commits to its database.
public struct EmbeddedVideo: Sendable {
    /// One segment per clip window, in order, their ends clamped to `duration`.
    public var segments: [Segment]
    /// `segments.count × dimension` floats, flat.
    public var vectors: [Float]
    /// Seconds, as decoded.
    public var duration: Double

    public init(segments: [Segment], vectors: [Float], duration: Double) {
        (self.segments, self.vectors, self.duration) = (segments, vectors, duration)
    }
}

/// What embedding one file came to.
public enum FileEmbedding: Sendable {
    case embedded(EmbeddedVideo)
    /// Why it cannot be indexed (a file FFmpeg refuses, no frames, a model failure).
    case failed(VideoFailure)
}

extension Ingestor {
    /// Decodes and embeds the file at `path` on a decode thread, as `run` does: the same windows, batches, order
    /// and clamping, so that the vectors equal those `run` would store for it. `afterBatch` runs on the calling
    /// thread after each batch with its clip count (a worker renews its lease there; the cluster benchmark adds its
    /// simulated cost). The decode thread has ended when this returns.
    ///
    /// - Throws: `CancellationError` once `isCancelled` returns true; what `afterBatch` throws.
    public static func embedFile(_ path: String, embedder: Embedder, options: Options,
                                 afterBatch: (Int) throws -> Void = { _ in },
                                 isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> FileEmbedding {
        let spec = embedder.clipSpec(window: options.window, stride: options.stride)
        let decodeOptions = FrameSampler.Options(threads: options.decodeThreads)
        let batch = max(1, options.batch)
        let queue = BoundedQueue<Item>(capacity: options.queueDepth)
        let threads = ThreadGroup()
        threads.start(name: "vjsearch-decode", stackSize: 8 << 20) {
            decode(path: path, job: 0, spec: spec, options: decodeOptions, batch: batch, into: queue)
            queue.close()
        }
        defer {
            queue.close()
            threads.join()
        }
        let workspace = Workspace()
        var segments: [Segment] = []
        var vectors: [Float] = []
        while let item = queue.pop() {
            switch item {
            case .opened:
                continue
            case .clips(_, let clips, let tensors, _):
                if isCancelled() { throw CancellationError() }
                do {
                    vectors += try embedder.embedClips(tensors, workspace: workspace, isCancelled: isCancelled)
                } catch let error as CancellationError {
                    throw error
                } catch {
                    return .failed(.embedding("\(error)"))
                }
                segments += clips.map { Segment(start: $0.start, end: $0.end) }
                guard segments.count < SegmentID.perVideo else {
                    return .failed(.tooManySegments(count: segments.count, limit: SegmentID.perVideo))
                }
                try afterBatch(clips.count)
            case .end(_, let duration, _):
                guard !segments.isEmpty else { return .failed(.noFrames) }
                return .embedded(EmbeddedVideo(segments: Segment.clamped(segments, to: duration), vectors: vectors,
                                              duration: duration))
            case .failed(_, let failure, _):
                return .failed(failure)
            }
        }
        throw CancellationError()  // the decode thread stopped without an end: only a closed queue does that
    }
}

extension Segment {
    /// `segments` with their ends clamped to a video of `duration` seconds (the last window may reach past it).
    public static func clamped(_ segments: [Segment], to duration: Double) -> [Segment] {
        segments.map { Segment(start: $0.start, end: duration > $0.start ? min($0.end, duration) : $0.end) }
    }
}
