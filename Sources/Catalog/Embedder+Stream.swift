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
    ///
    /// With `span` (seconds), only the clip windows that overlap it are decoded and embedded: those containing its
    /// start and those starting inside it (so `t...t` is the windows containing `t`); the decoder starts at a
    /// keyframe shortly before them and stops after them. Throws `CatalogError.noClipsInSpan` when the video ends
    /// before the span. `prompt` replaces the retrieval prompt as the predictor's query (see `promptTokens`).
    public func stream(file: MediaFile, span: ClosedRange<Double>? = nil, prompt: [Int]? = nil, decodeThreads: Int = 1,
                       batch: Int = 8, progress: ((Double) -> Void)? = nil) throws -> EmbeddingStream {
        let path = file.path
        let spec = clipSpec()
        let clips = try ClipStream(file: file, spec: spec, options: .init(threads: decodeThreads), from: span?.lowerBound ?? 0)
        let shape = [spec.frames, 3, spec.size, spec.size]
        let workspace = Workspace()
        var buffer = [Float](repeating: 0, count: clips.floatsPerClip)
        var segments: [Segment] = []
        var vectors: [Float] = []
        var pending: [Tensor] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            vectors += try embedClips(pending, prompt: prompt, workspace: workspace)
            pending.removeAll(keepingCapacity: true)
            progress?(segments.last?.end ?? 0)
        }
        while let clip = try buffer.withUnsafeMutableBufferPointer({ b throws(MediaError) in try clips.next(into: b) }) {
            // Windows start in order: once one starts past the span, so do the rest.
            if let span, clip.start > span.lowerBound, clip.start >= span.upperBound { break }
            segments.append(Segment(start: clip.start, end: clip.end))
            pending.append(Tensor(shape: shape, scalars: buffer))
            if pending.count == max(1, batch) { try flush() }
        }
        try flush()
        guard !segments.isEmpty else {
            if let span { throw CatalogError.noClipsInSpan(path: path, start: span.lowerBound) }
            throw CatalogError.noFrames(path: path)
        }
        return EmbeddingStream(segments: segments, vectors: vectors, dimension: dimension)
    }
}
