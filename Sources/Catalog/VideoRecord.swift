/// What the catalog knows about one video file.
public struct VideoRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Segments and vectors are in the library.
        case indexed
        /// Indexing failed; `error` says why. Kept with the fingerprint so that an unchanged file is not retried.
        case failed
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
    /// Seconds, as decoded.
    public var duration: Double
    public var status: Status
    /// One-line cause of the last failure.
    public var error: String?
    /// Number of segments (ids `id << 20 | 0 ..< segments`).
    public var segments: Int

    public var fingerprint: Fingerprint { Fingerprint(size: size, hash: hash) }

    public init(id: UInt64, path: String, fingerprint: Fingerprint, mtime: Double, duration: Double,
                status: Status, error: String? = nil, segments: Int) {
        self.id = id
        self.path = path
        self.size = fingerprint.size
        self.hash = fingerprint.hash
        self.mtime = mtime
        self.duration = duration
        self.status = status
        self.error = error
        self.segments = segments
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
}

/// Segment ids: a video's segments form the contiguous range `video << 20 ..< video << 20 + count`.
public enum SegmentID {
    /// Segments per video at most (12 days of video at a 1 s stride).
    public static let perVideo = 1 << 20

    public static func make(video: UInt64, index: Int) -> UInt64 { video << 20 | UInt64(index) }
    public static func video(_ id: UInt64) -> UInt64 { id >> 20 }
    public static func index(_ id: UInt64) -> Int { Int(id & UInt64(perVideo - 1)) }
}
