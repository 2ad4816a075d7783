import Catalog
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TestSupport
@testable import Server

/// The HTTP API over a real library: three synthetic reels of `Samples/synth` indexed with the bundled vljepa-mini,
/// served over real HTTP (HummingbirdTesting's live mode) on a free loopback port. Answers are checked against the
/// reels' truth in `Samples/synth/samples.jsonl`.
@Suite struct ServerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let model = root.appendingPathComponent("Models/vljepa-mini")

    /// A folder of videos (copies of the samples) and a library of them, made once for the suite.
    final class Fixture: Sendable {
        let dir: TemporaryDirectory
        let videos: [String]
        let engine: SearchEngine

        init(reels: [String]) throws {
            dir = try TemporaryDirectory(prefix: "vjsearch-server")
            let folder = dir.file("videos")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            videos = try reels.map { name in
                let copy = folder.appendingPathComponent((name as NSString).lastPathComponent).path
                try FileManager.default.copyItem(atPath: ServerTests.root.appendingPathComponent("Samples/" + name).path, toPath: copy)
                return copy
            }
            let library = dir.file("library").path
            try Self.index(folder.path, into: library)
            engine = try SearchEngine(libraryPath: library, modelDirectory: ServerTests.model, workers: 2)
        }

        /// Indexes in this process; the writer's environment is closed before the engine opens its own (LMDB
        /// allows one per process).
        static func index(_ folder: String, into library: String) throws {
            let embedder = try Embedder(directory: ServerTests.model)
            let writer = try Library(path: library, model: embedder.identity, create: true)
            let report = try Ingestor(library: writer, embedder: embedder, options: .init(), progress: { _ in }).run([folder])
            guard report.failed.isEmpty else { throw FixtureError(description: "indexing failed: \(report.failed)") }
        }

        func path(_ reel: String) -> String { videos.first { $0.hasSuffix(reel) }! }
    }

    struct FixtureError: Error, CustomStringConvertible { let description: String }

    static let shared = Result {
        try Fixture(reels: ["synth/samples_000000.mp4", "synth/samples_000001.mp4", "synth/samples_000002.mp4"])
    }

    /// Runs `body` against a live server over the shared library (or `fixture`), with `options`.
    func serve(_ fixture: Fixture? = nil, options: ServerOptions = .init(),
               _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let fixture = try fixture ?? Self.shared.get()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let router = SearchServer.router(engine: fixture.engine, options: options, logger: logger) {
            JSONLines.data(try fixture.engine.library.status())
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live, body)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
        return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: response.body).prefix(200))")
    }

    static func moments(_ response: TestResponse) throws -> [[String: Any]] {
        try #require(try json(response)["moments"] as? [[String: Any]])
    }

    static func errorMessage(_ response: TestResponse) throws -> String {
        let error = try #require(try json(response)["error"] as? [String: Any])
        return try #require(error["message"] as? String)
    }

    // MARK: search

    /// The event "a red star moves down" of reel 0 lasts 19.3–23.4 s (samples.jsonl): the top moment.
    @Test func searchFindsTheEventWithItsThumbnailAndMedia() async throws {
        let fixture = try Self.shared.get()
        try await serve { client in
            // `+` is a space, as HTML forms and curl send it; %20 the same.
            let plus = try await client.execute(uri: "/api/search?q=a+red+star+falls&top=3", method: .get) { try Self.moments($0) }
            try await client.execute(uri: "/api/search?q=a%20red%20star%20falls&top=3", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let body = try Self.json(response)
                #expect(body["schema"] as? Int == 1)
                #expect(body["model"] as? String == fixture.engine.modelID)
                #expect((body["took_ms"] as? Double).map { $0 >= 0 && $0 < 10_000 } == true)
                let moments = try Self.moments(response)
                #expect(moments.count == 3)
                let top = try #require(moments.first)
                #expect(top["rank"] as? Int == 1)
                #expect(top["path"] as? String == fixture.path("samples_000000.mp4"))
                let start = try #require(top["start"] as? Double), end = try #require(top["end"] as? Double)
                #expect(abs(start - 19.3) < 1.0 && abs(end - 23.4) < 1.0, "\(start)–\(end)")
                let score = try #require(top["score"] as? Double)
                #expect(score > 0.5 && score <= 1)
                let id = try #require(top["video_id"] as? Int)
                #expect(top["thumbnail"] as? String == MediaRoutes.thumbnailURL(video: UInt64(id), at: (start + end) / 2))
                #expect((top["media"] as? String)?.hasPrefix("/media/\(id)#t=") == true)
                let scores = moments.compactMap { $0["score"] as? Double }
                #expect(scores == scores.sorted(by: >) && scores.allSatisfy(\.isFinite))
                #expect(plus.compactMap { $0["score"] as? Double } == scores)
            }
            // not= as `query --not`: "a red object" finds the red star first; not=a red star, something else.
            try await client.execute(uri: "/api/search?q=a+red+object&top=3", method: .get) { response in
                let top = try #require(try Self.moments(response).first)
                #expect(top["path"] as? String == fixture.path("samples_000000.mp4") && (top["end"] as? Double ?? 0) > 20, "\(top)")
            }
            try await client.execute(uri: "/api/search?q=a+red+object&top=3&not=a+red+star", method: .get) { response in
                let top = try #require(try Self.moments(response).first)
                #expect(!(top["path"] as? String == fixture.path("samples_000000.mp4") && (top["end"] as? Double ?? 0) > 20), "\(top)")
            }
            // --in as in `vjsearch query`: only reel 1's moments.
            let glob = "*samples_000001.mp4".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            try await client.execute(uri: "/api/search?q=a%20red%20star%20falls&in=\(glob)", method: .get) { response in
                let paths = Set(try Self.moments(response).compactMap { $0["path"] as? String })
                #expect(paths == [fixture.path("samples_000001.mp4")])
            }
        }
    }

    @Test(arguments: [
        ("/api/search", HTTPResponse.Status.badRequest, "q is empty"),
        ("/api/search?q=%20%20", .badRequest, "q is empty"),
        ("/api/search?q=ball&top=1000000000", .badRequest, "top must be a whole number from 1 to 1000"),
        ("/api/search?q=ball&top=0", .badRequest, "top must be"),
        ("/api/search?q=ball&top=ten", .badRequest, "top must be"),
        ("/api/search?q=ball&min_score=nan", .badRequest, "min_score must be a number from -1 to 1"),
        ("/api/search?q=ball&min_score=2", .badRequest, "min_score must be"),
        ("/api/similar?t=3", .badRequest, "video is missing"),
        ("/api/similar?video=1&t=-1", .badRequest, "t must be a number"),
        ("/api/similar?video=1&t=inf", .badRequest, "t must be a number"),
        ("/api/similar?video=999&t=1", .notFound, "no segment of video 999"),
        ("/api/similar?video=1&t=99999", .notFound, "no segment of video 1 at 99999"),
        ("/api/similar?video=1&t=3&other_videos=maybe", .badRequest, "other_videos must be 1 or 0"),
        ("/api/videos?limit=0", .badRequest, "limit must be"),
        ("/api/videos?offset=-1", .badRequest, "offset must be"),
        ("/api/videos/999", .notFound, "no video 999"),
        ("/api/videos/1abc", .notFound, "is not a video id"),
        ("/api/videos/-1", .notFound, "is not a video id"),
        ("/api/videos/18446744073709551616", .notFound, "is not a video id"),
    ])
    func badParametersAreJSONErrors(uri: String, status: HTTPResponse.Status, message: String) async throws {
        try await serve { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == status, "\(uri): \(response.status)")
                let said = try Self.errorMessage(response)
                #expect(said.contains(message), "\(uri): \(said)")
            }
        }
    }

    /// A long query is refused with 413 (a 100 kB one, past the HTTP parser's 80 kB, is refused before it reaches
    /// the API: `ServeCommandTests`).
    @Test func aLongQueryIsRefused() async throws {
        try await serve { client in
            let long = String(repeating: "ab%20", count: 10_000)
            try await client.execute(uri: "/api/search?q=" + long, method: .get) { response in
                #expect(response.status == .contentTooLarge, "\(response.status)")
            }
            let justOver = String(repeating: "a", count: APIRoutes.maxQueryLength + 1)
            try await client.execute(uri: "/api/search?q=" + justOver, method: .get) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
    }

    // MARK: similar

    /// Reel 1's three red balls move down over 6.5–10.9 s: the moment itself is left out, and other_videos=1
    /// leaves out its whole video.
    @Test func similarUsesTheStoredSegmentAndLeavesTheMomentOut() async throws {
        let fixture = try Self.shared.get()
        let id = try await fixture.engine.read { library in
            try library.videos().first { $0.path == fixture.path("samples_000001.mp4") }!.id
        }
        try await serve { client in
            try await client.execute(uri: "/api/similar?video=\(id)&t=8&top=5", method: .get) { response in
                #expect(response.status == .ok)
                let moments = try Self.moments(response)
                #expect(!moments.isEmpty && moments.count <= 5)
                for m in moments where m["video_id"] as? Int == Int(id) {
                    let start = try #require(m["start"] as? Double), end = try #require(m["end"] as? Double)
                    #expect(!(start <= 8 && 8 <= end), "the moment itself came back: \(start)–\(end)")
                }
                #expect(moments.compactMap { $0["rank"] as? Int } == Array(1...moments.count))
            }
            try await client.execute(uri: "/api/similar?video=\(id)&t=8&top=5&other_videos=1", method: .get) { response in
                let moments = try Self.moments(response)
                #expect(!moments.isEmpty)
                #expect(moments.allSatisfy { $0["video_id"] as? Int != Int(id) })
            }
        }
    }

    // MARK: videos and status

    @Test func videosArePagedByPathAndEachListsItsSegments() async throws {
        let fixture = try Self.shared.get()
        try await serve { client in
            let first = try await client.execute(uri: "/api/videos?limit=2", method: .get) { try Self.json($0) }
            #expect(first["total"] as? Int == 3 && first["offset"] as? Int == 0 && first["limit"] as? Int == 2)
            let page1 = try #require(first["videos"] as? [[String: Any]])
            let page2 = try #require(try await client.execute(uri: "/api/videos?limit=2&offset=2", method: .get) {
                try Self.json($0)
            }["videos"] as? [[String: Any]])
            #expect((page1 + page2).compactMap { $0["path"] as? String } == fixture.videos.sorted())
            let video = try #require(page2.first)
            let id = try #require(video["video_id"] as? Int)
            let detail = try await client.execute(uri: "/api/videos/\(id)", method: .get) { try Self.json($0) }
            let segments = try #require(detail["segments"] as? [[String: Any]])
            #expect(segments.count == video["segments"] as? Int && segments.count > 10)
            let starts = segments.compactMap { $0["start"] as? Double }
            #expect(starts == starts.sorted() && starts.first == 0)
            #expect(detail["path"] as? String == video["path"] as? String)
            #expect(detail["schema"] as? Int == 1)
        }
    }

    @Test func statusAndTheOpenAPIDocument() async throws {
        let fixture = try Self.shared.get()
        try await serve { client in
            let status = try await client.execute(uri: "/api/status", method: .get) { try Self.json($0) }
            #expect(status["videos"] as? Int == 3 && status["model_id"] as? String == fixture.engine.modelID)
            let spec = try await client.execute(uri: "/api/openapi.json", method: .get) { try Self.json($0) }
            #expect(spec["openapi"] as? String == "3.1.0")
            let paths = try #require(spec["paths"] as? [String: Any])
            #expect(Set(paths.keys).isSuperset(of: ["/api/search", "/api/similar", "/api/videos", "/api/videos/{id}",
                                                     "/api/status", "/thumbnails/{id}/{seconds}.jpg", "/media/{id}"]))
        }
    }

    @Test func thePageIsSelfContained() async throws {
        try await serve { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let csp = try #require(response.headers[.contentSecurityPolicy])
                #expect(csp.contains("default-src 'self'"))
                let html = String(buffer: response.body)
                #expect(html.contains("<input id=\"q\"") && html.contains("/api/search"))
                // Nothing from elsewhere: no absolute URL to another host in the page.
                #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"))
            }
        }
    }

    // MARK: media

    @Test func mediaServesTheFileWithRangesAndValidators() async throws {
        let fixture = try Self.shared.get()
        let path = fixture.path("samples_000002.mp4")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let id = try await fixture.engine.read { library in try library.videos().first { $0.path == path }!.id }
        try await serve { client in
            let whole = try await client.execute(uri: "/media/\(id)", method: .get) { $0 }
            #expect(whole.status == .ok && whole.headers[.contentType] == "video/mp4")
            #expect(whole.headers[.acceptRanges] == "bytes" && whole.headers[.lastModified] != nil)
            #expect([UInt8](buffer: whole.body) == bytes)
            let etag = try #require(whole.headers[.eTag])

            let cases: [(String, HTTPResponse.Status, ClosedRange<Int>?)] = [
                ("bytes=0-99", .partialContent, 0...99),
                ("bytes=100-", .partialContent, 100...(bytes.count - 1)),
                ("bytes=-10", .partialContent, (bytes.count - 10)...(bytes.count - 1)),
                ("bytes=5-999999999", .partialContent, 5...(bytes.count - 1)),
                ("bytes=\(bytes.count)-", .rangeNotSatisfiable, nil),
                ("bytes=0-1,1-2", .ok, nil),       // several (here overlapping) ranges: the whole file
                ("bytes=9-3", .ok, nil),           // invalid: ignored
                ("bytes=abc", .ok, nil),
                ("items=0-5", .ok, nil),
            ]
            for (range, status, part) in cases {
                try await client.execute(uri: "/media/\(id)", method: .get, headers: [.range: range]) { response in
                    #expect(response.status == status, "\(range)")
                    if let part {
                        #expect([UInt8](buffer: response.body) == Array(bytes[part]), "\(range)")
                        #expect(response.headers[.contentRange] == "bytes \(part.lowerBound)-\(part.upperBound)/\(bytes.count)")
                    } else if status == .ok {
                        #expect(response.body.readableBytes == bytes.count, "\(range)")
                    } else {
                        #expect(response.headers[.contentRange] == "bytes */\(bytes.count)")
                    }
                }
            }
            try await client.execute(uri: "/media/\(id)", method: .head) { response in
                #expect(response.status == .ok && response.headers[.contentLength] == String(bytes.count))
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/media/\(id)", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified && response.body.readableBytes == 0)
            }
            // A range for another version of the file gets the whole file.
            try await client.execute(uri: "/media/\(id)", method: .get, headers: [.range: "bytes=0-9", .ifRange: "\"old\""]) {
                #expect($0.status == .ok && $0.body.readableBytes == bytes.count)
            }
        }
    }

    /// Paths in requests never reach the file system: traversal attempts are ids that do not parse (404).
    @Test(arguments: ["/media/..%2F..%2Fetc%2Fpasswd", "/media/%2e%2e", "/media/%2Fetc%2Fpasswd", "/media/1%00",
                      "/thumbnails/..%2F..%2Fetc/1.jpg", "/thumbnails/1/..%2F..%2Fpasswd", "/thumbnails/%2e%2e/1.jpg",
                      "/api/videos/..%2F1", "/media/0x1", "/media/+1", "/media/%201", "/media/1.0"])
    func traversalIsNotFound(uri: String) async throws {
        try await serve { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect([.notFound, .badRequest].contains(response.status), "\(uri): \(response.status)")
                #expect(!String(buffer: response.body).contains("root:"))
            }
        }
    }

    @Test func thumbnailsAreJPEGsOfTheFrameAndCached() async throws {
        let fixture = try Self.shared.get()
        let path = fixture.path("samples_000000.mp4")
        let id = try await fixture.engine.read { library in try library.videos().first { $0.path == path }!.id }
        try await serve { client in
            let first = try await client.execute(uri: "/thumbnails/\(id)/20.5.jpg", method: .get) { $0 }
            #expect(first.status == .ok && first.headers[.contentType] == "image/jpeg")
            let jpeg = [UInt8](buffer: first.body)
            #expect(jpeg.starts(with: [0xFF, 0xD8]) && jpeg.suffix(2) == [0xFF, 0xD9])
            // Written to the disk cache under the library folder, and served from it the same.
            let cached = try FileManager.default.contentsOfDirectory(atPath: fixture.engine.library.path + "/thumbnails")
            #expect(cached.contains { $0.hasPrefix("\(id)-") && $0.hasSuffix("-205.jpg") })
            let again = try await client.execute(uri: "/thumbnails/\(id)/20.5.jpg", method: .get) { [UInt8](buffer: $0.body) }
            #expect(again == jpeg)
            // Another event looks different.
            let other = try await client.execute(uri: "/thumbnails/\(id)/3.jpg", method: .get) { [UInt8](buffer: $0.body) }
            #expect(other != jpeg && other.starts(with: [0xFF, 0xD8]))
            for (uri, status) in [("/thumbnails/\(id)/99999.jpg", HTTPResponse.Status.rangeNotSatisfiable),
                                  ("/thumbnails/\(id)/-1.jpg", .notFound), ("/thumbnails/\(id)/nan.jpg", .notFound),
                                  ("/thumbnails/\(id)/3.png", .notFound), ("/thumbnails/999/3.jpg", .notFound)] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == status, "\(uri): \($0.status)") }
            }
        }
    }

    /// A file deleted after indexing is 410 for media and thumbnails, and search still answers.
    @Test func aDeletedFileIsGone() async throws {
        let fixture = try Fixture(reels: ["bigbuckbunny.mp4"])
        try FileManager.default.removeItem(atPath: fixture.videos[0])
        try await serve(fixture) { client in
            let page = try await client.execute(uri: "/api/videos", method: .get) { try Self.json($0) }
            let videos = try #require(page["videos"] as? [[String: Any]])
            let id = try #require(videos.first?["video_id"] as? Int)
            for uri in ["/media/\(id)", "/thumbnails/\(id)/1.jpg"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .gone, "\(uri)")
                    let said = try Self.errorMessage(response)
                    #expect(said.contains("gone since it was indexed"), "\(said)")
                }
            }
            try await client.execute(uri: "/api/search?q=a+rabbit", method: .get) { #expect($0.status == .ok) }
        }
    }

    // MARK: token

    @Test func offLoopbackEveryRequestNeedsTheToken() async throws {
        let token = "0123456789abcdef0123456789abcdef"
        try await serve(options: ServerOptions(token: token)) { client in
            for headers: HTTPFields in [[:], [.authorization: "Bearer wrong-token-0123456789"], [.authorization: "Basic \(token)"],
                                        [.cookie: "vjsearch_token=nope"]] {
                try await client.execute(uri: "/api/status", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized, "\(headers)")
                    let said = try Self.errorMessage(response)
                    #expect(said.contains("token"), "\(said)")
                }
            }
            try await client.execute(uri: "/api/status?token=\(token)x", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/media/1", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/status", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                #expect($0.status == .ok)
            }
            // The page opened with ?token= sets an HttpOnly cookie that images and the player then carry.
            let cookie = try await client.execute(uri: "/?token=\(token)", method: .get) { response in
                #expect(response.status == .ok)
                let setCookie = try #require(response.headers[.setCookie])
                #expect(setCookie.contains("vjsearch_token=\(token)") && setCookie.contains("HttpOnly"))
                return String(setCookie.split(separator: ";")[0])
            }
            try await client.execute(uri: "/api/status", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .ok) }
        }
        #expect(TokenMiddleware<BasicRequestContext>.equal("abc", "abc"))
        #expect(!TokenMiddleware<BasicRequestContext>.equal("abc", "abd") && !TokenMiddleware<BasicRequestContext>.equal("abc", "abcd"))
        #expect(!TokenMiddleware<BasicRequestContext>.equal("", "a") && TokenMiddleware<BasicRequestContext>.equal("", ""))
    }

    @Test func loopbackAddresses() {
        #expect(ServerOptions.isLoopback("127.0.0.1") && ServerOptions.isLoopback("::1") && ServerOptions.isLoopback("localhost"))
        #expect(!ServerOptions.isLoopback("0.0.0.0") && !ServerOptions.isLoopback("192.168.1.2") && !ServerOptions.isLoopback("::"))
    }
}
