import Catalog
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon as a swift-service-lifecycle `Service`. On a thread of its own (LMDB's writer, FFmpeg and BLAS stay
/// off the cooperative pool) it takes the daemon's presence lock (`WatchLock`), loads the model and runs a
/// `Watcher`. SIGHUP becomes a rescan; graceful shutdown or cancellation becomes `WatchControl.requestStop()`, which
/// a model load heeds between its steps and the watcher between files (and the X-encoder's layers).
public struct WatchService: Service, CustomStringConvertible {
    /// Loads the model, polling `isStopping` between its steps and throwing `CancellationError` once it is true.
    public typealias ModelLoader = @Sendable (_ isStopping: () -> Bool) throws -> Embedder

    let configuration: Watcher.Configuration
    let loadModel: ModelLoader
    let logger: Logger
    public let control: WatchControl

    public init(configuration: Watcher.Configuration, logger: Logger, loadModel: @escaping ModelLoader) throws {
        self.configuration = configuration
        self.loadModel = loadModel
        self.logger = logger
        control = try WatchControl()
    }

    /// How swift-service-lifecycle's log lines name the service.
    public var description: String { "WatchService(roots: \(configuration.roots), library: \(configuration.library))" }

    /// Returns once stopped (also when stopped while the model loads); throws what keeps the daemon from starting
    /// (another daemon on the library, a bad model) or ends it (see `Watcher.run`).
    public func run() async throws {
        let (configuration, loadModel, control, logger) = (self.configuration, self.loadModel, self.control, self.logger)
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Trapped before the model loads: a SIGHUP then asks for the scan that starting makes anyway.
                let hangups = await UnixSignalsSequence(trapping: .sighup)
                group.addTask {
                    for await _ in hangups { control.requestRescan() }
                }
                try await Self.onThread {
                    try Self.serve(configuration: configuration, loadModel: loadModel, control: control, logger: logger)
                }
                group.cancelAll()
            }
        } onCancelOrGracefulShutdown: {
            logger.info("shutting down")
            control.requestStop()
        }
    }

    /// The daemon's thread: the presence lock, the model, then the watcher until it is stopped.
    static func serve(configuration: Watcher.Configuration, loadModel: ModelLoader, control: WatchControl,
                      logger: Logger) throws {
        let presence = try WatchLock(library: configuration.library)
        defer { withExtendedLifetime(presence) {} }
        let embedder: Embedder
        do {
            logger.debug("loading the model")
            embedder = try loadModel { control.isStopping }
            if control.isStopping { throw CancellationError() }
        } catch is CancellationError {
            logger.info("stopped before starting", metadata: ["cause": "signal while loading"])
            return
        }
        logger.info("starting", metadata: [
            "pid": "\(getpid())", "library": "\(configuration.library)", "model": "\(embedder.modelID)",
            "roots": "\(configuration.roots)", "settle": "\(configuration.settle)", "rescan": "\(configuration.rescan)",
            "threads": "\(configuration.ingest.decodeThreads)",
        ])
        do {
            try Watcher(configuration: configuration, embedder: embedder, control: control, logger: logger).run()
        } catch {
            logger.critical("stopped by an error", metadata: ["cause": "\(error)"])
            throw error
        }
    }

    static func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "vjsearch-watch"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }
}

/// A `LogHandler` writing one line per event to stderr: ISO 8601 UTC time, level, label, message, then the
/// metadata as sorted `key=value` pairs (values with spaces quoted), e.g.
/// `2026-11-29T04:10:00.123Z info vjsearch.watch: indexed clips=3 path=/v/a.mp4`.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let line = Self.format(date: Date(), level: event.level, label: label, message: event.message.description,
                               metadata: all)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func format(date: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        // Paths in messages and values may hold control characters: escaped, so a file name cannot drive a terminal
        // or forge a log line.
        var line = "\(timestamp(date)) \(level) \(label): \(message)"
        for key in metadata.keys.sorted() {
            let value = "\(metadata[key]!)"
            let quoted = value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || value.isEmpty
                ? "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                : value
            line += " \(key)=\(quoted)"
        }
        return line.escapingControlCharacters
    }

    /// `2026-11-29T04:10:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int((t - t.rounded(.down)) * 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}
