/// A stretch of video with the label texts nearest its average-pooled embedding.
public struct LabelledMoment: Sendable, Equatable {
    public var chapter: Chapter
    /// Best first.
    public var labels: [ScoredText]
}

extension EmbeddingStream {
    /// VL-JEPA's open-vocabulary classification (arXiv 2512.10942 §4.3) of the whole video: the `top` texts of
    /// `labels` nearest (cosine) the average-pooled embedding of all its clips, best first.
    public func ranked(_ labels: LabelSet, top: Int) -> [ScoredText] {
        labels.ranked(toRows: pooled(segments.indices), top: top)[0]
    }

    /// The same per moment: the chapters `runs(count: nil)` finds (Ward's method, the knee of the merge costs), each
    /// with the `top` texts nearest its pooled embedding.
    public func moments(_ labels: LabelSet, top: Int) -> [LabelledMoment] {
        let runs = runs(count: nil)
        let ranked = labels.ranked(toRows: runs.flatMap(pooled), top: top)
        return zip(chapters(runs, labels: nil), ranked).map { LabelledMoment(chapter: $0, labels: $1) }
    }
}
