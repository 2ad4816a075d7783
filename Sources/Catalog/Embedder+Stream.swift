import Media
import Neural

extension Embedder {
    /// Decodes the video at `path` into the model's clip windows and embeds them, `batch` clips per model call:
    /// the stream `index` would store for it. Throws `MediaError` (naming the file) when it cannot be decoded, and
    /// `CatalogError.noFrames` when it holds no frame at all.
    ///
    /// - Complexity: one X-encoder and predictor pass per clip; memory for `batch` clips at a time.
    public func stream(path: String, decodeThreads: Int = 1, batch: Int = 8) throws -> EmbeddingStream {
        try stream(file: MediaFile(path: path), decodeThreads: decodeThreads, batch: batch)
    }

    /// `stream(path:)` of a file already opened (so that a caller can refuse a bad file before loading the model);
    /// `progress` gets the end of each embedded batch, in seconds of video.
    public func stream(file: MediaFile, decodeThreads: Int = 1, batch: Int = 8,
                       progress: ((Double) -> Void)? = nil) throws -> EmbeddingStream {
        let path = file.path
        let spec = clipSpec()
        let clips = try ClipStream(file: file, spec: spec, options: .init(threads: decodeThreads))
        let shape = [spec.frames, 3, spec.size, spec.size]
        let workspace = Workspace()
        var buffer = [Float](repeating: 0, count: clips.floatsPerClip)
        var segments: [Segment] = []
        var vectors: [Float] = []
        var pending: [Tensor] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            vectors += try embedClips(pending, workspace: workspace)
            pending.removeAll(keepingCapacity: true)
            progress?(segments.last?.end ?? 0)
        }
        while let clip = try buffer.withUnsafeMutableBufferPointer({ b throws(MediaError) in try clips.next(into: b) }) {
            segments.append(Segment(start: clip.start, end: clip.end))
            pending.append(Tensor(shape: shape, scalars: buffer))
            if pending.count == max(1, batch) { try flush() }
        }
        try flush()
        guard !segments.isEmpty else { throw CatalogError.noFrames(path: path) }
        return EmbeddingStream(segments: segments, vectors: vectors, dimension: dimension)
    }
}
