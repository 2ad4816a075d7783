import Catalog
import Foundation
import Hummingbird
import Media

/// `/thumbnails/{video_id}/{t}.jpg` and `/media/{video_id}`: files are found by the library's id only, so no
/// path from a request ever reaches the file system.
struct MediaRoutes: Sendable {
    let engine: SearchEngine
    let thumbnails: ThumbnailStore

    func add(to router: Router<BasicRequestContext>) {
        router.get("/thumbnails/:id/:file") { request, context in try await thumbnail(request, context) }
        router.get("/media/:id") { request, context in try await media(request, context) }
        router.head("/media/:id") { request, context in try await media(request, context) }
    }

    static func thumbnailURL(video: UInt64, at seconds: Double) -> String {
        "/thumbnails/\(video)/\(decimal((seconds * 10).rounded(.down) / 10)).jpg"
    }

    /// `x` with at most three decimals and no trailing zeros (`12.5`, `3`).
    static func decimal(_ x: Double) -> String {
        var s = String(format: "%.3f", x)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// The searchable video with this id, and its file's current state; 404 when the library has no such video,
    /// 410 when its file is gone since it was indexed.
    private func file(_ context: BasicRequestContext) async throws -> (VideoRecord, stat) {
        let id = try APIRoutes.videoID(context.parameters.get("id"), name: "video id")
        let record = try await engine.read { library in
            try library.environment.read { txn in try library.video(id, in: txn) }
        }
        guard let record, record.isSearchable else { throw HTTPError(.notFound, message: "no video \(id) in the library") }
        var info = stat()
        guard stat(record.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw HTTPError(.gone, message: "video \(id)'s file is gone since it was indexed (moved or deleted); run vjsearch index")
        }
        return (record, info)
    }

    func thumbnail(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = context.parameters.get("file") ?? ""
        guard name.hasSuffix(".jpg"), let seconds = Double(name.dropLast(4)), seconds.isFinite, seconds >= 0 else {
            throw HTTPError(.notFound, message: "a thumbnail is /thumbnails/VIDEO_ID/SECONDS.jpg")
        }
        let (record, _) = try await file(context)
        guard seconds <= record.duration else {
            throw HTTPError(.rangeNotSatisfiable, message: "video \(record.id) lasts \(Self.decimal(record.duration)) s; no frame at \(Self.decimal(seconds)) s")
        }
        let jpeg: [UInt8]
        do {
            jpeg = try await thumbnails.jpeg(record, at: seconds)
        } catch let error as MediaError {
            if case .timeOutOfRange = error.reason {
                throw HTTPError(.rangeNotSatisfiable, message: "video \(record.id) has no frame at \(Self.decimal(seconds)) s")
            }
            throw HTTPError(.unprocessableContent, message: "no thumbnail: \(error)")
        }
        return Response(status: .ok,
                        headers: [.contentType: "image/jpeg", .cacheControl: "private, max-age=86400"],
                        body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
    }

    func media(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (record, info) = try await file(context)
        let size = Int(info.st_size)
        let etag = "\"\(String(record.id, radix: 16))-\(String(size, radix: 16))-\(String(info.st_mtim.tv_sec, radix: 16))\""
        var headers: HTTPFields = [
            .contentType: Self.contentType(record.path), .acceptRanges: "bytes", .eTag: etag,
            .lastModified: Self.httpDate(info.st_mtim.tv_sec), .cacheControl: "private, max-age=0, must-revalidate",
        ]
        if let match = request.headers[.ifNoneMatch], match == etag || match == "*" {
            return Response(status: .notModified, headers: headers)
        }
        // A Range for another version of the file (If-Range with an old ETag) gets the whole file.
        let rangeApplies = request.headers[.ifRange].map { $0 == etag } ?? true
        switch rangeApplies ? ByteRange.parse(request.headers[.range], size: size) : .whole {
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            throw HTTPError(.rangeNotSatisfiable, headers: headers, message: "the range is outside the file's \(size) bytes")
        case .whole:
            headers[.contentLength] = String(size)
            guard size > 0, request.method != .head else { return Response(status: .ok, headers: headers) }
            let body = try await FileIO().loadFile(path: record.path, range: 0...(size - 1), context: context)
            return Response(status: .ok, headers: headers, body: body)
        case .part(let range):
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            headers[.contentLength] = String(range.count)
            guard request.method != .head else { return Response(status: .partialContent, headers: headers) }
            let body = try await FileIO().loadFile(path: record.path, range: range, context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        }
    }

    /// The MIME type browsers expect for the container, from the file's extension.
    static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "mp4", "m4v": "video/mp4"
        case "mov", "qt": "video/quicktime"
        case "webm": "video/webm"
        case "mkv": "video/x-matroska"
        case "avi": "video/x-msvideo"
        case "ogv", "ogg": "video/ogg"
        case "ts", "m2ts", "mts": "video/mp2t"
        case "mpg", "mpeg": "video/mpeg"
        case "3gp": "video/3gpp"
        case "flv": "video/x-flv"
        case "wmv": "video/x-ms-wmv"
        case "gif": "image/gif"
        default: "application/octet-stream"
        }
    }

    /// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), without a formatter per request: the process runs in the C
    /// locale, whose day and month names HTTP uses.
    static func httpDate(_ seconds: time_t) -> String {
        var t = seconds, parts = tm()
        gmtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 40)
        let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What a `Range` header asks of a file of `size` bytes: one satisfiable `bytes=` range is served (206); a
/// header that does not parse, or asks for several ranges, is ignored and the whole file sent (RFC 9110 allows
/// both); a range wholly past the end is 416.
enum ByteRange: Equatable {
    case whole
    case part(ClosedRange<Int>)
    case unsatisfiable

    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header else { return .whole }
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes="), value.count < 200 else { return .whole }
        let spec = value.dropFirst(6)
        guard !spec.contains(",") else { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingCharacters(in: .whitespaces), last = parts[1].trimmingCharacters(in: .whitespaces)
        let digits = { (s: String) in !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
        if first.isEmpty {
            // The last N bytes.
            guard digits(last), let n = Int(last) else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - n)...(size - 1))
        }
        guard digits(first), let start = Int(first) else { return .whole }
        var end = size - 1
        if !last.isEmpty {
            guard digits(last), let e = Int(last) else { return .whole }
            guard e >= start else { return .whole }
            end = min(e, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .part(start...end)
    }
}
