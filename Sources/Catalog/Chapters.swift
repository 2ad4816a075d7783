/// A video's clip vectors in time order, with each clip's window: what chapters are cut from.
public struct EmbeddingStream: Sendable, Equatable {
    /// One per clip, in time order (windows overlap when the stride is shorter than the window).
    public var segments: [Segment]
    /// `segments.count × dimension`, flat.
    public var vectors: [Float]
    public var dimension: Int

    public init(segments: [Segment], vectors: [Float], dimension: Int) {
        precondition(dimension > 0 && vectors.count == segments.count * dimension, "one vector per segment")
        (self.segments, self.vectors, self.dimension) = (segments, vectors, dimension)
    }

    /// The time between clips `i − 1` and `i`: midway between their window centres. A clip's vector stands for
    /// its whole window, so a change between two clips is best placed between the instants each one is centred on.
    public func boundaryTime(before i: Int) -> Double {
        let a = segments[i - 1], b = segments[i]
        return ((a.start + a.end) / 2 + (b.start + b.end) / 2) / 2
    }

    /// The unit-length mean of the unit vectors of `clips`: a chapter's average-pooled embedding.
    public func pooled(_ clips: Range<Int>) -> [Float] {
        var sum = [Double](repeating: 0, count: dimension)
        for i in clips {
            let v = vectors[i * dimension ..< (i + 1) * dimension]
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            guard norm > 0 else { continue }
            for (j, x) in v.enumerated() { sum[j] += Double(x) / norm }
        }
        let norm = sum.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        return sum.map { norm > 0 ? Float($0 / norm) : 0 }
    }

    /// The stream cut into chapters: `count` of them (at most one per clip), or with `count` nil as many as
    /// `WardChain.automaticCount` finds; each labelled with its nearest text in `labels`, when given.
    public func chapters(count: Int?, labels: LabelSet?) -> [Chapter] {
        chapters(runs(count: count), labels: labels)
    }

    /// The clips of each chapter: `count` runs, or with `count` nil as many as `WardChain.automaticCount` finds.
    public func runs(count: Int?) -> [Range<Int>] {
        let chain = WardChain(vectors: vectors, dimension: dimension)
        return chain.partition(clusters: count ?? chain.automaticCount())
    }

    /// Chapters of the clip runs `runs` (contiguous, in order, covering the stream), labelled when `labels` is given.
    public func chapters(_ runs: [Range<Int>], labels: LabelSet?) -> [Chapter] {
        let named = labels.flatMap { $0.texts.isEmpty ? nil : $0.nearest(toRows: runs.flatMap(pooled)) }
        return runs.enumerated().map { k, run in
            let start = k == 0 ? segments[run.lowerBound].start : boundaryTime(before: run.lowerBound)
            let end = k == runs.count - 1 ? segments[run.upperBound - 1].end : boundaryTime(before: run.upperBound)
            return Chapter(start: start, end: end, clips: run, label: named?[k].text, score: named?[k].score)
        }
    }
}

/// A stretch of a video whose clips belong together.
public struct Chapter: Sendable, Equatable {
    /// Seconds from the video's start; a chapter ends where the next begins.
    public var start: Double
    public var end: Double
    /// The clips (indices into the stream) it holds.
    public var clips: Range<Int>
    /// The nearest label text and its cosine similarity to the chapter's pooled embedding; nil without labels.
    public var label: String?
    public var score: Float?

    public init(start: Double, end: Double, clips: Range<Int>, label: String? = nil, score: Float? = nil) {
        (self.start, self.end, self.clips, self.label, self.score) = (start, end, clips, label, score)
    }
}
