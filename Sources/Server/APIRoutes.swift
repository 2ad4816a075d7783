import Catalog
import Foundation
import Hummingbird

/// The JSON API under `/api` (see `OpenAPI.document`). Every answer is one JSON object with `"schema": 1` and
/// snake_case keys, as the command line's `--json`; errors are `{"error": {"message": …}}` with a 4xx status.
struct APIRoutes: Sendable {
    let engine: SearchEngine
    let status: @Sendable () throws -> Data

    static let maxQueryLength = 1000
    static let topRange = 1...1000

    func add(to router: Router<BasicRequestContext>) {
        router.get("/api/search") { request, _ in try await search(request) }
        router.get("/api/similar") { request, _ in try await similar(request) }
        router.get("/api/videos") { request, _ in try await videos(request) }
        router.get("/api/videos/:id") { _, context in try await video(context) }
        router.get("/api/status") { _, _ in
            let body = try await engine.read { _ in try status() }
            return Self.json(body)
        }
        router.get("/api/openapi.json") { _, _ in Self.json(Data(OpenAPI.document.utf8)) }
    }

    struct MomentJSON: Encodable {
        var rank: Int
        var videoId: UInt64
        var path: String
        var start: Double
        var end: Double
        var score: Float
        var partial: Bool
        /// The frame in the middle of the moment, as a JPEG.
        var thumbnail: String
        /// The video file, with a media fragment for the moment.
        var media: String

        init(rank: Int, _ m: Moment) {
            self.rank = rank
            videoId = m.videoID
            path = m.path
            start = m.start
            end = m.end
            score = m.score
            partial = m.partial
            thumbnail = MediaRoutes.thumbnailURL(video: m.videoID, at: (m.start + m.end) / 2)
            media = "/media/\(m.videoID)#t=\(MediaRoutes.decimal(m.start)),\(MediaRoutes.decimal(m.end))"
        }
    }

    struct Moments: Encodable {
        var model: String
        var tookMs: Double
        var moments: [MomentJSON]
    }

    func search(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        let parameters = Self.parameters(request)
        let text = String(parameters["q"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw HTTPError(.badRequest, message: "q is empty: say what to look for, e.g. /api/search?q=a+dog+runs") }
        guard text.count <= Self.maxQueryLength else {
            throw HTTPError(.contentTooLarge, message: "q is \(text.count) characters long; at most \(Self.maxQueryLength)")
        }
        var query = try Self.momentQuery(parameters)
        query.pathGlob = parameters["in"].map(String.init)
        let negative = parameters["not"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        if let negative, negative.count > Self.maxQueryLength {
            throw HTTPError(.contentTooLarge, message: "not is \(negative.count) characters long; at most \(Self.maxQueryLength)")
        }
        let moments = try await engine.search(text, not: negative?.isEmpty == false ? negative : nil, query)
        return answer(moments, since: started)
    }

    func similar(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        let parameters = Self.parameters(request)
        let video = try Self.videoID(parameters["video"].map(String.init), name: "video")
        let seconds = try Self.number(parameters["t"], name: "t", in: 0...1e9) ?? 0
        var query = try Self.momentQuery(parameters)
        let otherVideos = try Self.flag(parameters["other_videos"], name: "other_videos")
        if otherVideos { query.excludedVideos = [video] }
        do {
            return answer(try await engine.similar(videoID: video, at: seconds, query), since: started)
        } catch let error as EngineError {
            throw HTTPError(.notFound, message: error.description)
        }
    }

    private func answer(_ moments: [Moment], since started: ContinuousClock.Instant) -> Response {
        let took = ContinuousClock.now - started
        let ms = Double(took.components.seconds) * 1e3 + Double(took.components.attoseconds) * 1e-15
        return Self.json(JSONLines.data(Moments(
            model: engine.modelID, tookMs: (ms * 10).rounded() / 10,
            moments: moments.enumerated().map { MomentJSON(rank: $0.offset + 1, $0.element) })))
    }

    struct VideoJSON: Encodable {
        var videoId: UInt64
        var path: String
        var duration: Double
        var segments: Int
        var status: String
        var size: UInt64
        var media: String

        init(_ v: VideoRecord) {
            videoId = v.id
            path = v.path
            duration = v.duration
            segments = v.segments
            status = v.status.rawValue
            size = v.size
            media = "/media/\(v.id)"
        }
    }

    struct VideoPage: Encodable {
        var total: Int
        var offset: Int
        var limit: Int
        var videos: [VideoJSON]
    }

    /// Searchable videos by path, `limit` (1–1000, default 100) from `offset`.
    func videos(_ request: Request) async throws -> Response {
        let parameters = Self.parameters(request)
        let offset = try Self.integer(parameters["offset"], name: "offset", in: 0...Int(Int32.max)) ?? 0
        let limit = try Self.integer(parameters["limit"], name: "limit", in: 1...1000) ?? 100
        let page = try await engine.read { library in
            let all = try library.videos().filter(\.isSearchable).sorted { $0.path < $1.path }
            return VideoPage(total: all.count, offset: offset, limit: limit,
                             videos: all.dropFirst(offset).prefix(limit).map(VideoJSON.init))
        }
        return Self.json(JSONLines.data(page))
    }

    /// What `/api/videos/{id}` adds to the video's summary.
    struct VideoDetail: Encodable {
        struct SegmentJSON: Encodable {
            var index: Int
            var start: Double
            var end: Double
        }

        var segments: [SegmentJSON]
        var thumbnail: String
    }

    /// One video: its record and every segment's time span.
    func video(_ context: BasicRequestContext) async throws -> Response {
        let id = try Self.videoID(context.parameters.get("id"), name: "id")
        let detail = try await engine.read { library -> MergedJSON<VideoJSON, VideoDetail>? in
            try library.environment.read { txn in
                guard let v = try library.video(id, in: txn), v.isSearchable else { return nil }
                let segments = try (0..<v.segments).compactMap { i -> VideoDetail.SegmentJSON? in
                    try library.segment(SegmentID.make(video: id, index: i), in: txn).map { .init(index: i, start: $0.start, end: $0.end) }
                }
                return MergedJSON(VideoJSON(v), VideoDetail(segments: segments,
                                                            thumbnail: MediaRoutes.thumbnailURL(video: id, at: v.duration / 2)))
            }
        }
        guard let detail else { throw HTTPError(.notFound, message: "no video \(id) in the library") }
        return Self.json(JSONLines.data(detail))
    }

    // MARK: parameters

    typealias Parameters = [String: Substring]

    /// The query string's parameters, decoded as HTML forms encode them (`+` is a space, as curl and browsers
    /// send it); the first of a repeated one counts.
    static func parameters(_ request: Request) -> Parameters {
        var out: Parameters = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) -> String? in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let key = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else { continue }
            if out[key] == nil { out[key] = Substring(value) }
        }
        return out
    }

    static func momentQuery(_ parameters: Parameters) throws -> MomentQuery {
        let top = try integer(parameters["top"], name: "top", in: topRange) ?? 20
        let minScore = try number(parameters["min_score"], name: "min_score", in: -1...1).map(Float.init)
        return MomentQuery(top: top, minScore: minScore)
    }

    /// A video id: decimal digits only, so that nothing else of a request names anything on disk.
    static func videoID(_ value: String?, name: String) throws -> UInt64 {
        guard let value, !value.isEmpty else { throw HTTPError(.badRequest, message: "\(name) is missing: a video id from /api/videos") }
        guard value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let id = UInt64(value) else {
            throw HTTPError(.notFound, message: "\(name) '\(value.prefix(40))' is not a video id")
        }
        return id
    }

    static func integer(_ value: Substring?, name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value else { return nil }
        guard let n = Int(value), range.contains(n) else {
            throw HTTPError(.badRequest, message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    static func number(_ value: Substring?, name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value else { return nil }
        guard let x = Double(value), x.isFinite, range.contains(x) else {
            throw HTTPError(.badRequest, message: "\(name) must be a number from \(decimal(range.lowerBound)) to \(decimal(range.upperBound))")
        }
        return x
    }

    static func flag(_ value: Substring?, name: String) throws -> Bool {
        switch value {
        case nil, "0", "false": return false
        case "1", "true": return true
        default: throw HTTPError(.badRequest, message: "\(name) must be 1 or 0")
        }
    }

    static func decimal(_ x: Double) -> String { MediaRoutes.decimal(x) }

    static func json(_ body: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
