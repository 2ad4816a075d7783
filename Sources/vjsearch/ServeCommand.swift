import ArgumentParser
import Catalog
import Foundation
import Logging
import Server
import SharedLibrary
import Watch

/// `vjsearch serve`: the web page and the JSON API over a library, with the model loaded once.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a search page and a JSON API over the library, on this machine by default.",
        discussion: """
            Opens the library read-only (index and watch may run beside it) and the text encoder once, then \
            answers /api/search, /api/similar, /api/videos, /api/status and /api/openapi.json, thumbnails \
            (/thumbnails/ID/SECONDS.jpg, cached under the library folder) and the videos themselves \
            (/media/ID, with byte ranges), and the web page at /. Only videos of the library are served, by \
            id. On an address other than loopback every request needs a token: --token, else \
            $VJSEARCH_TOKEN, else one made up and printed at start. Logs one line per request to stderr; \
            SIGTERM or Ctrl-C stops it after the requests in flight. A postgres:// library is served \
            from this host's replica (under ~/.cache/vjsearch/replicas), which follows the database's \
            changes as they commit (LISTEN/NOTIFY).

            Examples:
              vjsearch serve                       # http://127.0.0.1:8080/
              vjsearch serve --listen 127.0.0.1:9000 --library ~/archive/vjsearch
              vjsearch serve --library postgres://vj@db/vj --root footage=/mnt/footage
              vjsearch serve --listen 0.0.0.0:8080 # on the network, with a token
              curl 'http://127.0.0.1:8080/api/search?q=a+red+star+falls&top=3'

            """ + ExitStatus.pointer)

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("Address and port to listen on (port 0: any free one).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: "The token requests must carry off loopback (default: $VJSEARCH_TOKEN, else a new one).")
    var token: String?

    @Option(help: "Threads that embed queries and read the library, 1-16.")
    var workers = 2

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    /// `--listen` split: the host (brackets of an IPv6 address removed) and the port.
    var address: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":") else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        return (host, port)
    }

    func validate() throws {
        if address == nil { throw ValidationError("--listen must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080") }
        try OptionCheck.count(workers, "--workers", in: 1...16)
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        if let token, token.count < 16 || token.contains(where: { $0.isWhitespace || !$0.isASCII }) {
            throw ValidationError("--token must be at least 16 printable ASCII characters without spaces")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        let logger = Logger(label: "vjsearch.serve")
        guard let (host, port) = address else { throw ValidationError("--listen must be HOST:PORT") }
        var options = ServerOptions(host: host, port: port)
        if !ServerOptions.isLoopback(host) {
            options.token = token ?? ProcessInfo.processInfo.environment["VJSEARCH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
                ?? Self.newToken()
        }
        let libraryPath: String
        var shared: (address: PostgresAddress, roots: [String: String])?
        if let address = try library.sharedAddress() {
            // A postgres:// library is served from this host's replica, which follows the database's changes.
            do { libraryPath = try await library.readablePath() } catch { throw reportFailure(error) }
            shared = (address, try library.rootMap())
        } else {
            libraryPath = library.path
        }
        let requested = model.requested
        let engine: SearchEngine
        do {
            engine = try await onThread {
                let directory = try ModelOptions.resolve(requested, libraryModelID: Library.storedModelID(path: libraryPath))
                return try SearchEngine(libraryPath: libraryPath, modelDirectory: directory, workers: workers)
            }
        } catch {
            throw reportFailure(error)
        }
        let status: @Sendable () throws -> Data = {
            JSONLines.data(MergedJSON(try engine.library.status(), StatusCommand.DaemonKey(daemon: .init(library: libraryPath))))
        }
        let token = options.token
        let follower = shared.map { shared in
            Task {
                await ReplicaFollower.follow(shared.address, folder: libraryPath, roots: shared.roots, library: engine.library) { event in
                    switch event {
                    case .synced(let r):
                        logger.info("replica synced", metadata: ["change": "\(r.seq)", "copied": "\(r.copied)", "dropped": "\(r.dropped)"])
                    case .lost(let error, let retryIn):
                        logger.warning("replica stopped following", metadata: ["cause": "\(error)", "retry_in_s": "\(retryIn)"])
                    }
                }
            }
        }
        defer { follower?.cancel() }
        do {
            try await SearchServer.run(engine: engine, options: options, logger: logger, status: status) { bound in
                let shown = host.contains(":") ? "[\(host)]" : host
                let url = "http://\(shown):\(bound)/"
                // The token goes to the terminal only, not into the log (which may end up in the journal), and before
                // the `serving` line, which tells scripts the server is ready.
                if let token { Diagnostics.write("token: \(token) (requests from other machines need it; open \(url)?token=\(token))") }
                logger.info("serving", metadata: ["url": "\(url)", "library": "\(libraryPath)", "model": "\(engine.modelID)"])
            }
        } catch {
            Diagnostics.error("\(listen): \(error)")
            throw ExitStatus.someFailed
        }
    }

    /// 32 random bytes as hex.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
