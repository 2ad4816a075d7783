import Catalog
import Foundation
import Neural

/// The work behind the API, off the event loops: text embedding and library reads on a few worker threads, each
/// with its own text encoder (an `Embedder` is not shared between threads), over one library opened once for the
/// server's lifetime. LMDB readers never wait for a writer, so `index` and `watch` can run beside it; each request
/// reads one snapshot.
public final class SearchEngine: @unchecked Sendable {
    public let library: Library
    /// The library's model: id, name and domain as `status` shows them.
    public let modelID: String
    public let modelName: String
    public let domain: String?
    private let pool: WorkerPool<Embedder>
    private let queryCache = LRUCache<String, [Float]>(capacity: 512)

    /// Opens the library read-only and loads `workers` text encoders from `modelDirectory`, which must be the
    /// model that made the library.
    public init(libraryPath: String, modelDirectory: URL, workers: Int) throws {
        let library = try Library(path: libraryPath, model: nil, create: false, checkPages: true)
        let embedders = try (0..<max(1, workers)).map { _ in try Embedder(directory: modelDirectory, textOnly: true) }
        guard embedders[0].modelID == library.meta.modelID else {
            throw CatalogError.modelMismatch(library: libraryPath, stored: library.meta.modelID,
                                             requested: embedders[0].modelID)
        }
        self.library = library
        modelID = library.meta.modelID
        modelName = library.meta.modelName ?? embedders[0].bundle.directory.lastPathComponent
        domain = library.meta.domain ?? embedders[0].bundle.config.domain
        pool = WorkerPool(embedders)
        // One query is a dozen tokens: BLAS threads would only spin beside the worker.
        Neural.setThreads(1)
    }

    /// Ranked moments for a text, as `vjsearch query` finds them.
    public func search(_ text: String, not negative: String? = nil, _ query: MomentQuery) async throws -> [Moment] {
        try await pool.run { embedder in
            let vector = try self.queryCache.value(for: text) { try embedder.embedQuery(text) }
            var query = query
            if let negative {
                query.negative = .init(vector: try self.queryCache.value(for: negative) { try embedder.embedQuery(negative) })
            }
            return try self.library.moments(for: vector, query)
        }
    }

    /// Moments like the one at `seconds` in video `videoID` (`Library.moments(like:at:_:)`).
    public func similar(videoID: UInt64, at seconds: Double, _ query: MomentQuery) async throws -> [Moment] {
        try await pool.run { _ in
            guard let moments = try self.library.moments(like: videoID, at: seconds, query) else {
                throw EngineError.notFound("no segment of video \(videoID) at \(seconds) s")
            }
            return moments
        }
    }

    /// Reads in a worker thread (LMDB transactions stay on the thread that opened them).
    public func read<T: Sendable>(_ body: @escaping @Sendable (Library) throws -> T) async throws -> T {
        try await pool.run { _ in try body(self.library) }
    }
}

/// A failure the API reports with a 4xx status.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case gone(String)

    public var description: String {
        switch self {
        case .notFound(let m), .gone(let m): m
        }
    }
}

/// Runs jobs on a fixed set of threads (16 MB stacks, as the command line's model work gets), each thread owning
/// one `Resource` (here a text encoder); jobs wait in one queue, first come first served.
final class WorkerPool<Resource>: @unchecked Sendable {
    private var jobs: [(Resource) -> Void] = []
    private let condition = NSCondition()

    init(_ resources: [Resource]) {
        for resource in resources {
            // Each resource is used by its own thread only.
            nonisolated(unsafe) let resource = resource
            let thread = Thread {  // the pool lives as long as the server: its threads keep it
                while true {
                    self.condition.lock()
                    while self.jobs.isEmpty { self.condition.wait() }
                    let job = self.jobs.removeFirst()
                    self.condition.unlock()
                    job(resource)
                }
            }
            thread.stackSize = 16 << 20
            thread.name = "vjs-worker"  // Linux keeps 15 characters
            thread.start()
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (Resource) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { resource in continuation.resume(with: Result { try body(resource) }) }
            condition.signal()
            condition.unlock()
        }
    }
}

/// A small thread-safe least-recently-used cache.
final class LRUCache<Key: Hashable, Value>: @unchecked Sendable {
    private var values: [Key: (value: Value, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    private let capacity: Int
    private let lock = NSLock()

    init(capacity: Int) { self.capacity = capacity }

    /// The cached value, or `make()`'s, cached (the oldest quarter is dropped when full).
    func value(for key: Key, make: () throws -> Value) rethrows -> Value {
        if let hit = lock.withLock({ () -> Value? in
            clock += 1
            guard let entry = values[key] else { return nil }
            values[key] = (entry.value, clock)
            return entry.value
        }) { return hit }
        let value = try make()
        lock.withLock {
            if values.count >= capacity {
                let oldest = values.sorted { $0.value.used < $1.value.used }.prefix(max(1, capacity / 4))
                for (k, _) in oldest { values[k] = nil }
            }
            values[key] = (value, clock)
        }
        return value
    }
}
