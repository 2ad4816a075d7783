import Foundation

/// A `HubMirror` serving on a free loopback port until `stop`, for tests.
public final class RunningMirror: Sendable {
    public let mirror: HubMirror
    public let port: Int
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)" }

    public init(root: URL, gated: [String: String] = [:]) async throws {
        let mirror = try HubMirror(root: root, gated: gated)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        task = Task { try await mirror.run(port: 0) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        self.mirror = mirror
        self.port = port
    }

    public func stop() async {
        mirror.faults.releaseStalls()
        task.cancel()
        _ = await task.result
    }
}
