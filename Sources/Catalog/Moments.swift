/// A stretch of one video that matches a query.
public struct Moment: Sendable, Equatable, Codable {
    public var path: String
    /// Seconds from the start of the video.
    public var start: Double
    public var end: Double
    /// Cosine similarity of the best segment inside the moment.
    public var score: Float
    /// The library's id of the video.
    public var videoID: UInt64
    /// The video is indexed in part so far (an interrupted run on a long file): later moments may be missing.
    public var partial: Bool

    public init(path: String, start: Double, end: Double, score: Float, videoID: UInt64 = 0, partial: Bool = false) {
        self.path = path
        self.start = start
        self.end = end
        self.score = score
        self.videoID = videoID
        self.partial = partial
    }

    enum CodingKeys: String, CodingKey {
        case path, start, end, score, partial
        case videoID = "video_id"
    }
}

/// Turns one video's per-segment scores into moments.
///
/// A moment grows from a peak segment over its time-ordered neighbours while their score stays at or above
/// `peak − keep × (peak − median)`, the median being over all of the video's segments; its time span runs between
/// the midpoints of its edge segments' centres and their outside neighbours' (`Segment.span`). The rule is shared
/// with `Tools/eval` (metrics.MomentRule), so the evaluated moments are the ones users get.
///
/// `keep` 0.3 with centre-cut spans was chosen on validation reels (seeds 1,000,000…, never the test seeds):
/// against 0.5 with whole-window spans, top-1 moments shrank from a median 5.0 s to 3.5 s (events: 3.8 s), those
/// overlapping two or more events fell from 56% to 13%, and R@1 at IoU 0.5 rose from 0.935 to 0.952.
public struct MomentRule: Sendable, Equatable {
    /// Fraction of the peak's height above the video's median that neighbours may fall and still belong.
    public var keep: Float

    public init(keep: Float = 0.3) {
        self.keep = keep
    }

    /// The index range of the moment around `peak` in `scores` (time order), not reaching into `claimed`
    /// segments (those of better moments).
    public func grow(around peak: Int, scores: [Float], median: Float,
                     claimed: (Int) -> Bool = { _ in false }) -> ClosedRange<Int> {
        let floor = scores[peak] - keep * (scores[peak] - median)
        var lo = peak
        var hi = peak
        while lo > 0 && scores[lo - 1] >= floor && !claimed(lo - 1) { lo -= 1 }
        while hi < scores.count - 1 && scores[hi + 1] >= floor && !claimed(hi + 1) { hi += 1 }
        return lo...hi
    }

    /// Moments for `peaks` (segment indices, best first): a peak inside an earlier moment is skipped, and a later
    /// moment grows only over segments no earlier one holds. So the moments are disjoint and the best one is
    /// exactly the growth around the best peak: two events side by side stay two moments, never one wide one.
    public func moments(peaks: [Int], scores: [Float]) -> [ClosedRange<Int>] {
        guard !scores.isEmpty else { return [] }
        let median = Self.median(scores)
        var out: [ClosedRange<Int>] = []
        for p in peaks where !out.contains(where: { $0.contains(p) }) {
            out.append(grow(around: p, scores: scores, median: median) { i in out.contains { $0.contains(i) } })
        }
        return out
    }

    static func median(_ xs: [Float]) -> Float {
        let s = xs.sorted()
        let n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }
}
