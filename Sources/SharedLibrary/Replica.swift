import Catalog
import Foundation
import PostgresNIO

/// A query node's local copy of a shared library: an ordinary folder library (LMDB, HNSW) under the XDG cache
/// folder that follows the database's change sequence. It keeps the database's video ids, so that a change names
/// the local record directly. Disposable: never the source of truth, rebuilt from scratch when missing, when the
/// database was made again, or when it is behind the replica (restored from an older backup).
///
/// `replica.json` records the library's id and the last change applied. Applying a change replaces the video's
/// local copy with the database's current one (or drops it), so applying one twice is harmless: a sync
/// interrupted before it records its sequence number just repeats some work.
public enum Replica {
    public struct State: Codable, Sendable, Equatable {
        public var library: String
        public var seq: Int64
    }

    /// What a sync did.
    public struct SyncReport: Sendable {
        /// Videos copied or refreshed, and dropped.
        public var copied = 0
        public var dropped = 0
        public var segments = 0
        /// The change applied last, and how many changes this sync applied.
        public var seq: Int64 = 0
        public var changes: Int64 = 0
    }

    /// Videos fetched per database round trip while syncing.
    static let chunk = 32

    /// The replica folder of the library at `address` seen through `roots`:
    /// `$XDG_CACHE_HOME/vjsearch/replicas/NAME` (else `~/.cache/…`), NAME naming the server, database and roots.
    public static func folder(address: PostgresAddress, roots: [String: String],
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.cache")
        let key = address.description + "|" + roots.keys.sorted().map { "\($0)=\(roots[$0]!)" }.joined(separator: "|")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: a stable name, not a secret
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let readable = String(address.database.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return cache + "/vjsearch/replicas/" + readable + "-" + String(hash, radix: 16)
    }

    /// The state recorded in `folder`, or nil.
    public static func state(at folder: String) -> State? {
        guard let data = FileManager.default.contents(atPath: folder + "/replica.json") else { return nil }
        return try? JSONDecoder().decode(State.self, from: data)
    }

    /// Where the file of `root`/`path` is on this host: under the folder `roots` maps the root to, else `root:path`.
    public static func localPath(root: String, path: String, roots: [String: String]) -> String {
        roots[root].map { $0 + "/" + path } ?? root + ":" + path
    }

    /// Brings the replica in `folder` up to the database's last change (creating it when absent). One sync runs
    /// at a time per folder (the library's writer lock); readers of the replica never wait. A process that has
    /// the replica open already passes it as `open` (LMDB allows one environment per file and process).
    /// - Throws: `SharedLibraryError` (`.empty` for a library without a model yet), `CatalogError` for the folder.
    public static func sync(_ database: SharedDatabase, into folder: String, roots: [String: String], open: Library? = nil,
                            progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) async throws -> SyncReport {
        guard let (libraryID, model) = try await database.identity() else {
            throw SharedLibraryError.empty(database.address.description)
        }
        let lock = try await onThread { try LibraryLock(library: folder, wait: true) }
        defer { withExtendedLifetime(lock) {} }
        // Where this replica stands; nil when it starts over (missing, or of a library made again since).
        let stored = Self.state(at: folder)
        var from = stored?.library == libraryID ? stored?.seq : nil
        var (target, videos) = try await database.changedVideos(after: from ?? 0)
        if let seq = from, seq > target {
            // Ahead of the database: it was restored from an older dump, so the replica may hold videos it lacks.
            from = nil
            (target, videos) = try await database.changedVideos(after: 0)
        }
        if from == nil {
            if open != nil {
                throw CatalogError.incompatible(library: folder, reason: "the shared library was made again or restored since this replica was opened; restart to rebuild it")
            }
            for name in ["data.mdb", "lock.mdb", "replica.json"] { try? FileManager.default.removeItem(atPath: folder + "/" + name) }
        }
        var report = SyncReport(seq: target, changes: target - (from ?? 0))
        let library = if let open { open } else { try await onThread { try Library(path: folder, model: model, create: true) } }
        for start in stride(from: 0, to: videos.count, by: chunk) {
            let ids = Array(videos[start ..< min(start + chunk, videos.count)])
            let copies = try await database.videoCopies(ids, dimension: model.dimension)
            let applied = try await onThread { [copies] in
                try apply(copies, ids: ids, to: library, roots: roots)
            }
            report.copied += applied.copied
            report.dropped += applied.dropped
            report.segments += applied.segments
            progress?(min(start + chunk, videos.count), videos.count)
        }
        if report.changes > 0 || from == nil {
            try write(State(library: libraryID, seq: target), to: folder)
        }
        return report
    }

    /// Applies one batch in one write transaction: the copies replace their videos, the ids without a copy go.
    private static func apply(_ copies: [Int64: VideoCopy], ids: [Int64], to library: Library,
                              roots: [String: String]) throws -> SyncReport {
        var report = SyncReport()
        var stored: [Library.StoredVideo] = []
        var dropped: [UInt64] = []
        for id in ids {
            guard let copy = copies[id] else {
                dropped.append(UInt64(id))
                continue
            }
            stored.append(Library.StoredVideo(id: UInt64(id), path: localPath(root: copy.root, path: copy.path, roots: roots),
                                              fingerprint: copy.fingerprint, mtime: copy.mtime, duration: copy.duration,
                                              segments: copy.segments, vectors: copy.vectors))
            report.segments += copy.segments.count
        }
        try library.replace(stored, removing: dropped)
        report.copied = stored.count
        report.dropped = dropped.count
        return report
    }

    private static func write(_ state: State, to folder: String) throws {
        let data = try JSONEncoder().encode(state)
        let temporary = folder + "/.replica.json.tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, folder + "/replica.json") == 0 else {
            throw CatalogError.incompatible(library: folder, reason: "cannot record the replica's state: \(String(cString: strerror(errno)))")
        }
    }
}

/// A video as the database holds it now, with one of its paths.
struct VideoCopy: Sendable {
    var root: String
    var path: String
    var fingerprint: Fingerprint
    var mtime: Double
    var duration: Double
    var segments: [Segment] = []
    var vectors: [Float] = []
}

extension SharedDatabase {
    /// The last change's number, and the videos changed after `seq` up to it.
    func changedVideos(after seq: Int64) async throws(SharedLibraryError) -> (seq: Int64, videos: [Int64]) {
        try await transaction(snapshot: true) { c in
            var last: Int64 = 0
            for try await n in try await c.query("SELECT coalesce(max(seq), 0)::int8 FROM changes", logger: self.logger).decode(Int64.self) {
                last = n
            }
            var videos: [Int64] = []
            let rows = try await c.query("SELECT DISTINCT video FROM changes WHERE seq > \(seq) AND seq <= \(last) ORDER BY video", logger: self.logger)
            for try await v in rows.decode(Int64.self) { videos.append(v) }
            return (last, videos)
        }
    }

    /// The current copies of `ids` (absent: removed), with their first path and their segments and vectors.
    func videoCopies(_ ids: [Int64], dimension: Int) async throws(SharedLibraryError) -> [Int64: VideoCopy] {
        try await transaction(snapshot: true) { c in
            var copies: [Int64: VideoCopy] = [:]
            let videos = try await c.query("""
                SELECT v.id, v.size, v.hash, v.duration, p.root, p.path, p.mtime FROM videos v
                JOIN LATERAL (SELECT root, path, mtime FROM video_paths WHERE video = v.id ORDER BY root, path LIMIT 1) p ON true
                WHERE v.id = ANY(\(ids)::int8[])
                """, logger: self.logger)
            for try await (id, size, hash, duration, root, path, mtime) in videos.decode((Int64, Int64, Int64, Double, String, String, Double).self) {
                copies[id] = VideoCopy(root: root, path: path, fingerprint: Self.fingerprint(size, hash), mtime: mtime, duration: duration)
            }
            let segments = try await c.query("""
                SELECT video, start_seconds, end_seconds, vector FROM segments WHERE video = ANY(\(ids)::int8[]) ORDER BY video, ordinal
                """, logger: self.logger)
            for try await (video, start, end, vector) in segments.decode((Int64, Double, Double, ByteBuffer).self) {
                guard copies[video] != nil else { continue }
                guard Self.append(vector, dimension: dimension, to: &copies[video]!.vectors) else {
                    throw SharedLibraryError.server(self.address.description, reason: "video \(video) has a vector of \(vector.readableBytes) bytes, not \(dimension * 4)")
                }
                copies[video]!.segments.append(Segment(start: start, end: end))
            }
            return copies
        }
    }
}
