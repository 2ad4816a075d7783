import Catalog
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon as a swift-service-lifecycle `Service`: runs a `Watcher` on a thread of its own (LMDB's writer,
/// FFmpeg and BLAS stay off the cooperative pool), turns SIGHUP into a rescan, and graceful shutdown or
/// cancellation into `WatchControl.requestStop()`.
public struct WatchService: Service, CustomStringConvertible {
    let configuration: Watcher.Configuration
    let embedder: Embedder
    let logger: Logger
    public let control: WatchControl

    public init(configuration: Watcher.Configuration, embedder: Embedder, logger: Logger) throws {
        self.configuration = configuration
        self.embedder = embedder
        self.logger = logger
        control = try WatchControl()
    }

    /// How swift-service-lifecycle's log lines name the service.
    public var description: String { "WatchService(roots: \(configuration.roots), library: \(configuration.library))" }

    public func run() async throws {
        let control = self.control
        let (configuration, embedder, logger) = (self.configuration, self.embedder, self.logger)
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { control.requestRescan() }
                }
                try await Self.onThread {
                    try Watcher(configuration: configuration, embedder: embedder, control: control, logger: logger).run()
                }
                group.cancelAll()
            }
        } onCancelOrGracefulShutdown: {
            logger.info("shutting down")
            control.requestStop()
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
