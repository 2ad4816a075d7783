import Foundation
import VectorIndex

/// How `Library.moments` searches.
public struct MomentQuery: Sendable {
    /// Moments returned at most.
    public var top: Int
    /// Moments scoring below this are dropped.
    public var minScore: Float?
    /// Keep only videos whose path matches this `fnmatch` pattern.
    public var pathGlob: String?
    /// Brute force instead of HNSW.
    public var exact: Bool
    public var rule: MomentRule
    /// Videos left out (a "more like this" query that wants other videos than its own).
    public var excludedVideos: Set<UInt64>
    /// What the moments should not show (`--not`): the unit vector of the negative text and how it counts.
    public var negative: Negative?

    /// A negative query term. `subtract` searches with `normalize(q − weight·n)`, moving the query away from the
    /// negative's direction; `demote` searches with `q` and lowers each segment's score by `weight × max(0, cos(s, n))`
    /// before moments are cut. Measured on 40 held-out synthetic reels by `Tools/eval/negation` (112 queries "a COLOUR
    /// SHAPE" --not "it MOVES", top 10): with no negative 22.9% of the moments were wanted and 8.9% showed the unwanted
    /// motion; demote 0.5 gave 23.3% and 2.9%, subtract 0.5 20.5% and 1.4% (it also pushes away what the query and the
    /// negative share). Demote at 0.5 is the default: it cuts what is named and loses nothing wanted.
    public struct Negative: Sendable {
        public enum Method: String, Sendable, CaseIterable { case subtract, demote }
        public var vector: [Float]
        public var method: Method
        public var weight: Float

        public init(vector: [Float], method: Method = Self.defaultMethod, weight: Float = Self.defaultWeight) {
            self.vector = vector
            self.method = method
            self.weight = weight
        }

        public static let defaultMethod = Method.demote
        public static let defaultWeight: Float = 0.5
    }

    public init(top: Int = 10, minScore: Float? = nil, pathGlob: String? = nil, exact: Bool = false,
                rule: MomentRule = MomentRule(), excludedVideos: Set<UInt64> = []) {
        self.top = top
        self.minScore = minScore
        self.pathGlob = pathGlob
        self.exact = exact
        self.rule = rule
        self.excludedVideos = excludedVideos
    }

    /// Segment hits fetched from the index: many more than `top`, so that moments of several segments and
    /// several moments per video still leave `top` distinct ones (saturating: any `top` is safe, the index has fewer).
    var hitCount: Int { max(200, Self.saturating(top, times: 20)) }

    /// Candidate videos rescored in full.
    var candidateVideos: Int { max(20, Self.saturating(top, times: 3)) }

    /// `max(0, value) × factor`, or `Int.max` where that overflows.
    static func saturating(_ value: Int, times factor: Int) -> Int {
        let (product, overflow) = max(0, value).multipliedReportingOverflow(by: factor)
        return overflow ? Int.max : product
    }
}

extension Library {
    /// Ranked moments for the unit query vector `vector`.
    ///
    /// HNSW (or exact) top-N segment hits → grouped by video → each candidate video's segments all rescored
    /// exactly from their stored vectors → `MomentRule` around each hit peak, best first, skipping peaks inside
    /// an earlier moment and growing only over segments no earlier moment holds (trimmed clear of them in time)
    /// → moments ranked by peak score. One read snapshot throughout, so a concurrent indexing
    /// run is never waited for and never seen half-done.
    public func moments(for query: [Float], _ q: MomentQuery) throws -> [Moment] {
        var vector = query
        if let n = q.negative, n.method == .subtract, n.vector.count == query.count {
            vector = zip(query, n.vector).map { $0 - n.weight * $1 }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 1e-6 { vector = vector.map { $0 / norm } } else { vector = query }
        }
        let demote = q.negative.flatMap { $0.method == .demote && $0.vector.count == query.count ? $0 : nil }
        return try environment.read { txn in
            var filter: Set<UInt64>?
            if let glob = q.pathGlob {
                var allowed = Set<UInt64>()
                for v in try videos(in: txn) where v.isSearchable && fnmatch(glob, v.path, 0) == 0 {
                    for i in 0..<v.segments { allowed.insert(SegmentID.make(video: v.id, index: i)) }
                }
                if allowed.isEmpty { return [] }
                filter = allowed
            }
            // One reader for every lookup below: the snapshot's chunk tables are bound once, scratch is pooled.
            return try index.withReader(in: txn) { reader in
                let total = reader.count
                guard total > 0 else { return [] }
                let n = min(q.hitCount, total)
                let hits = q.exact
                    ? try reader.exactSearch(vector, k: n, filter: filter)
                    : try reader.search(vector, k: n, ef: max(n, index.parameters.ef), filter: filter)

                // Candidate videos in order of their best hit; a bounded number, each rescored in full.
                var order: [UInt64] = []
                var peaksByVideo: [UInt64: [Int]] = [:]
                for h in hits {
                    let v = SegmentID.video(h.id)
                    if peaksByVideo[v] == nil { order.append(v) }
                    peaksByVideo[v, default: []].append(SegmentID.index(h.id))
                }
                var out: [Moment] = []
                for v in order.lazy.filter({ !q.excludedVideos.contains($0) }).prefix(q.candidateVideos) {
                    guard let record = try video(v, in: txn), record.segments > 0 else { continue }
                    let ids = (0..<record.segments).map { SegmentID.make(video: v, index: $0) }
                    let segmentIDs = SegmentID.make(video: v, index: 0)..<SegmentID.make(video: v, index: record.segments)
                    let all = try reader.distances(vector, ids: segmentIDs)
                    var scores = [Float](repeating: -1, count: record.segments)
                    for r in all { scores[SegmentID.index(r.id)] = 1 - r.distance }
                    if let demote {
                        for r in try reader.distances(demote.vector, ids: segmentIDs) {
                            scores[SegmentID.index(r.id)] -= demote.weight * max(0, 1 - r.distance)
                        }
                    }
                    // A hit at or below the video's median is no peak (the rule would grow it over the whole video),
                    // unless nothing stands out, as in a one-segment video: then the best hit is the moment.
                    let median = MomentRule.median(scores)
                    // Ties (identical clips score identically) go to the earlier segment, so the output does not depend
                    // on the order the index returned them in.
                    let hitsByScore = peaksByVideo[v, default: []].sorted {
                        scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1
                    }
                    let raised = hitsByScore.filter { scores[$0] > median }
                    let peaks = raised.isEmpty ? Array(hitsByScore.prefix(1)) : raised
                    var spans: [(start: Double, end: Double)] = []  // this video's moments so far, best first
                    for range in q.rule.moments(peaks: peaks, scores: scores) {
                        guard let first = try segment(ids[range.lowerBound], in: txn),
                              let last = try segment(ids[range.upperBound], in: txn) else { continue }
                        let before = range.lowerBound > 0 ? try segment(ids[range.lowerBound - 1], in: txn) : nil
                        let after = range.upperBound + 1 < ids.count ? try segment(ids[range.upperBound + 1], in: txn) : nil
                        guard let span = Self.trim(Segment.span(first: first, last: last, before: before, after: after),
                                                   clear: spans) else { continue }
                        spans.append(span)
                        let score = range.map { scores[$0] }.max() ?? -1
                        out.append(Moment(path: record.path, start: span.start, end: span.end, score: score, videoID: v,
                                          partial: record.status == .partial))
                    }
                }
                if let minScore = q.minScore { out.removeAll { $0.score < minScore } }
                out.sort { $0.score != $1.score ? $0.score > $1.score : ($0.path, $0.start) < ($1.path, $1.start) }
                return Array(out.prefix(max(0, q.top)))
            }
        }
    }

    /// Searchable videos whose path matches the `fnmatch` pattern `glob`.
    public func videoCount(matching glob: String) throws -> Int {
        try environment.read { txn in try videos(in: txn).filter { $0.isSearchable && fnmatch(glob, $0.path, 0) == 0 }.count }
    }

    /// `span` cut back so that it overlaps none of `clear` (the video's better moments), or nil when nothing is
    /// left. Disjoint segment ranges can still overlap in time, by a window's length minus the stride, so a video
    /// never lists the same stretch twice.
    static func trim(_ span: (start: Double, end: Double), clear: [(start: Double, end: Double)])
        -> (start: Double, end: Double)?
    {
        var s = span
        for c in clear where s.start < c.end && c.start < s.end {
            if c.start <= s.start { s.start = c.end } else { s.end = c.start }
        }
        return s.end > s.start ? s : nil
    }
}

extension Library {
    /// Moments like the one at `seconds` in video `videoID`: the stored vector of its segment there is the query
    /// ("more like this"), and the moment that holds `seconds` in that video is left out (it would come first with a
    /// score of 1). Nil when the video is unknown or `seconds` lies outside its segments.
    public func moments(like videoID: UInt64, at seconds: Double, _ query: MomentQuery) throws -> [Moment]? {
        guard let vector = try segmentVector(video: videoID, at: seconds) else { return nil }
        var q = query
        q.top = query.top < Int.max ? query.top + 1 : query.top
        let found = try moments(for: vector, q).filter { !($0.videoID == videoID && $0.start <= seconds && seconds <= $0.end) }
        return Array(found.prefix(max(0, query.top)))
    }

    /// The stored vector of the video's segment whose window centre is nearest `seconds`, or nil when the video is
    /// unknown, has no segments, or `seconds` lies outside it.
    public func segmentVector(video: UInt64, at seconds: Double) throws -> [Float]? {
        try environment.read { txn in
            guard seconds.isFinite, let record = try self.video(video, in: txn), record.segments > 0 else { return nil }
            var best: (id: UInt64, distance: Double)?
            for i in 0..<record.segments {
                let id = SegmentID.make(video: video, index: i)
                guard let s = try segment(id, in: txn) else { continue }
                if i == 0 && seconds < s.start { return nil }
                let distance = abs((s.start + s.end) / 2 - seconds)
                if best == nil || distance < best!.distance { best = (id, distance) }
                if i == record.segments - 1 && seconds > s.end { return nil }
            }
            guard let best else { return nil }
            return try index.vectors(ids: [best.id], in: txn)
        }
    }
}
