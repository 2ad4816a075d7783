import Catalog
import Foundation
import Hummingbird
import Logging

/// How `vjsearch serve` listens and whom it answers.
public struct ServerOptions: Sendable {
    public var host: String
    public var port: Int
    /// The token every request must carry (`Authorization: Bearer`, the `vjsearch_token` cookie or `?token=`);
    /// nil on a loopback address, where the machine's own users are trusted.
    public var token: String?
    /// Thumbnails kept on disk under the library folder, at most this many bytes.
    public var thumbnailCacheBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, token: String? = nil,
                thumbnailCacheBytes: Int = 256 << 20) {
        self.host = host
        self.port = port
        self.token = token
        self.thumbnailCacheBytes = thumbnailCacheBytes
    }

    /// Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// The HTTP side of `vjsearch serve`: the JSON API, thumbnails, the videos themselves and the web page.
public enum SearchServer {
    /// The routes over `engine`; `status` gives the body of `/api/status` (the library, its model and the daemon,
    /// as `vjsearch status --json` prints them).
    public static func router(engine: SearchEngine, options: ServerOptions, logger: Logger,
                              status: @escaping @Sendable () throws -> Data) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(RequestLogMiddleware(logger: logger))
        router.middlewares.add(SecurityHeadersMiddleware())
        if let token = options.token { router.middlewares.add(TokenMiddleware(token: token)) }
        let thumbnails = ThumbnailStore(folder: engine.library.path + "/thumbnails", limit: options.thumbnailCacheBytes)
        APIRoutes(engine: engine, status: status).add(to: router)
        MediaRoutes(engine: engine, thumbnails: thumbnails).add(to: router)
        router.get("/") { _, _ in WebPage.response() }
        // The page names no icon; browsers ask anyway.
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        return router
    }

    /// Serves until SIGTERM or SIGINT, then finishes the requests in flight. `onRunning` gets the bound port
    /// (useful with port 0).
    public static func run(engine: SearchEngine, options: ServerOptions, logger: Logger,
                           status: @escaping @Sendable () throws -> Data,
                           onRunning: @escaping @Sendable (Int) -> Void) async throws {
        let app = Application(
            router: router(engine: engine, options: options, logger: logger, status: status),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "vjsearch"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? options.port) },
            logger: logger)
        try await app.runService()
    }
}
