/// What the catalog knows about one video file.
public struct VideoRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Segments and vectors are in the library.
        case indexed
        /// Indexing failed; `failure` says why. Kept with the fingerprint so that an unchanged file is not retried.
        case failed
        /// A long video being indexed chunk by chunk: the segments and vectors of its first `segments` clip windows
        /// are stored (and searchable), and `resume` says where the next run continues.
        case partial
    }

    /// Where a partial video's indexing stopped, and with which windows: a run with the same window and stride
    /// continues after the last stored window; another one starts the video again.
    public struct Resume: Codable, Sendable, Equatable {
        public var window: Double
        public var stride: Double
        /// End of the last stored window, in seconds (before any clamping to the duration).
        public var after: Double

        public init(window: Double, stride: Double, after: Double) {
            (self.window, self.stride, self.after) = (window, stride, after)
        }
    }

    /// Catalog id; the video's segment ids are `id << 20 | index` (see `SegmentID`).
    public var id: UInt64
    /// Absolute path.
    public var path: String
    public var size: UInt64
    /// Fingerprint hash (see `Fingerprint`); with `size`, the content identity.
    public var hash: UInt64
    /// Modification time when indexed, seconds since 1970.
    public var mtime: Double
    /// Seconds, as decoded (for a partial video: the seconds stored so far).
    public var duration: Double
    public var status: Status
    /// Why the last attempt failed.
    public var failure: VideoFailure?
    /// Number of segments (ids `id << 20 | 0 ..< segments`).
    public var segments: Int
    /// Set while `status` is `partial`.
    public var resume: Resume?

    /// Segments and vectors are stored (all of them, or, for a partial video, those of its first part).
    public var isSearchable: Bool { status != .failed }

    private enum CodingKeys: String, CodingKey {
        case id, path, size, hash, mtime, duration, status, failure, segments, resume
        /// A failure's words, as vjsearch stored them before failures had kinds.
        case error
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(UInt64.self, forKey: .id)
        path = try c.decode(String.self, forKey: .path)
        size = try c.decode(UInt64.self, forKey: .size)
        hash = try c.decode(UInt64.self, forKey: .hash)
        mtime = try c.decode(Double.self, forKey: .mtime)
        duration = try c.decode(Double.self, forKey: .duration)
        status = try c.decode(Status.self, forKey: .status)
        failure = try c.decodeIfPresent(VideoFailure.self, forKey: .failure)
            ?? c.decodeIfPresent(String.self, forKey: .error).map(VideoFailure.described)
        segments = try c.decode(Int.self, forKey: .segments)
        resume = try c.decodeIfPresent(Resume.self, forKey: .resume)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(path, forKey: .path)
        try c.encode(size, forKey: .size)
        try c.encode(hash, forKey: .hash)
        try c.encode(mtime, forKey: .mtime)
        try c.encode(duration, forKey: .duration)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(failure, forKey: .failure)
        try c.encode(segments, forKey: .segments)
        try c.encodeIfPresent(resume, forKey: .resume)
    }

    public var fingerprint: Fingerprint { Fingerprint(size: size, hash: hash) }

    public init(id: UInt64, path: String, fingerprint: Fingerprint, mtime: Double, duration: Double,
                status: Status, failure: VideoFailure? = nil, segments: Int, resume: Resume? = nil) {
        self.id = id
        self.path = path
        self.size = fingerprint.size
        self.hash = fingerprint.hash
        self.mtime = mtime
        self.duration = duration
        self.status = status
        self.failure = failure
        self.segments = segments
        self.resume = resume
    }
}

/// One segment: a clip window of a video, in seconds from the video's start.
public struct Segment: Sendable, Equatable {
    public var start: Double
    public var end: Double

    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }

    public var centre: Double { (start + end) / 2 }

    /// Where a change between the consecutive segments `a` and `b` is placed: midway between their centres. A clip's
    /// vector stands for its whole window, so the instant each one is centred on is the best estimate of its time.
    public static func boundary(_ a: Segment, _ b: Segment) -> Double { (a.centre + b.centre) / 2 }

    /// The time span of the consecutive segments from `first` to `last`, cut where their neighbours (`before`,
    /// `after`; nil at the video's start or end) take over: overlapping windows would otherwise make a run of clips
    /// reach a stride into the content on either side.
    public static func span(first: Segment, last: Segment, before: Segment?, after: Segment?) -> (start: Double, end: Double) {
        (before.map { boundary($0, first) } ?? first.start, after.map { boundary(last, $0) } ?? last.end)
    }
}

/// Segment ids: a video's segments form the contiguous range `video << 20 ..< video << 20 + count`.
public enum SegmentID {
    /// Segments per video at most (12 days of video at a 1 s stride).
    public static let perVideo = 1 << 20

    public static func make(video: UInt64, index: Int) -> UInt64 { video << 20 | UInt64(index) }
    public static func video(_ id: UInt64) -> UInt64 { id >> 20 }
    public static func index(_ id: UInt64) -> Int { Int(id & UInt64(perVideo - 1)) }
}
