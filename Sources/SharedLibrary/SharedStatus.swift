import Catalog
import PostgresNIO

/// What `vjsearch status` shows of a shared library: its model and size, the queue, the workers and their leases.
public struct SharedStatus: Sendable {
    public struct Worker: Sendable {
        public var name: String
        public var host: String
        public var pid: Int
        /// The file it holds (`root/path`), with the seconds left on its lease.
        public var item: String?
        public var leaseLeft: Double?
        /// Seconds since its last heartbeat: a worker silent for longer than a lease has most likely died.
        public var silentFor: Double
    }

    public var libraryID: String?
    public var model: ModelIdentity?
    public var roots: [String] = []
    public var videos = 0
    public var segments = 0
    public var seconds = 0.0
    /// The last change's number (a replica at it is up to date).
    public var lastChange: Int64 = 0
    public var queued = 0
    public var claimed = 0
    public var done = 0
    public var failed = 0
    public var workers: [Worker] = []
    /// Failed files (`root/path`, cause), the latest first, at most 20.
    public var failures: [(path: String, cause: String)] = []
}

extension SharedDatabase {
    public func status() async throws(SharedLibraryError) -> SharedStatus {
        var status = SharedStatus()
        if let (id, model) = try await identity() { (status.libraryID, status.model) = (id, model) }
        return try await transaction(snapshot: true) { [status] c in
            var s = status
            for try await name in try await c.query("SELECT name FROM roots ORDER BY name", logger: self.logger).decode(String.self) {
                s.roots.append(name)
            }
            let totals = try await c.query("""
                SELECT (SELECT count(*) FROM videos), (SELECT count(*) FROM segments),
                       (SELECT coalesce(sum(duration), 0)::float8 FROM videos), (SELECT coalesce(max(seq), 0)::int8 FROM changes)
                """, logger: self.logger)
            for try await (videos, segments, seconds, last) in totals.decode((Int, Int, Double, Int64).self) {
                (s.videos, s.segments, s.seconds, s.lastChange) = (videos, segments, seconds, last)
            }
            for try await (state, n) in try await c.query("SELECT state, count(*) FROM work_items GROUP BY state", logger: self.logger).decode((String, Int).self) {
                switch state {
                case "queued": s.queued = n
                case "claimed": s.claimed = n
                case "done": s.done = n
                default: s.failed = n
                }
            }
            let workers = try await c.query("""
                SELECT w.name, w.host, w.pid, i.root || '/' || i.path,
                       extract(epoch FROM i.lease_expires - now())::float8, extract(epoch FROM now() - w.heartbeat)::float8
                FROM workers w LEFT JOIN work_items i ON i.id = w.item AND i.lease_owner = w.name ORDER BY w.name
                """, logger: self.logger)
            for try await (name, host, pid, item, left, silent) in workers.decode((String, String, Int, String?, Double?, Double).self) {
                s.workers.append(.init(name: name, host: host, pid: pid, item: item, leaseLeft: left, silentFor: silent))
            }
            let failures = try await c.query("""
                SELECT root || '/' || path, coalesce(error, 'failed') FROM work_items WHERE state = 'failed' ORDER BY id DESC LIMIT 20
                """, logger: self.logger)
            for try await (path, cause) in failures.decode((String, String).self) { s.failures.append((path, cause)) }
            return s
        }
    }
}
