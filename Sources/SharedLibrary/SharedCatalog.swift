import Catalog
import Foundation
import PostgresNIO

/// A file waiting in the shared queue, or claimed by a worker: a path under a named root and the content it had
/// when it was queued.
public struct WorkItem: Sendable, Equatable {
    public var id: Int64
    public var root: String
    /// Relative to the root, `/`-separated.
    public var path: String
    public var fingerprint: Fingerprint
    public var mtime: Double
    /// Claims so far, this one included.
    public var attempts: Int
}

/// What the shared library knows of a file under a root (`video_paths`).
public struct StoredPath: Sendable, Equatable {
    public var video: Int64
    public var size: UInt64
    public var mtime: Double
}

/// What `enqueue` did with one file.
public enum EnqueueOutcome: Sendable, Equatable {
    /// A new work item.
    case queued
    /// Already waiting (or being embedded) under that content.
    case waiting
    /// Its content is in the library (at this path or another): the path was pointed at it, nothing to embed.
    case linked
    /// That content failed before and is not retried until it changes.
    case failedBefore(String)
}

/// The catalog operations on a shared library: the library's model, paths under named roots, the work queue with
/// leases, one transaction per video, and the change sequence replicas follow.
extension SharedDatabase {
    // MARK: The library's model

    /// The library's id (a UUID that changes when the database is made again) and model; nil while it has none.
    public func identity() async throws(SharedLibraryError) -> (id: String, model: ModelIdentity)? {
        try await run { c in
            let rows = try await c.query("SELECT id::text, model_id, dimension, model_name, domain FROM library", logger: self.logger)
            for try await (id, model, dimension, name, domain) in rows.decode((String, String, Int, String?, String?).self) {
                return (id, ModelIdentity(id: model, dimension: dimension, name: name, domain: domain))
            }
            return nil
        }
    }

    /// Makes `model` the library's model when it has none; refuses another one.
    /// - Throws: `.modelMismatch` when the library holds another model's vectors.
    @discardableResult
    public func adopt(_ model: ModelIdentity) async throws(SharedLibraryError) -> String {
        try await run { c in
            try await c.query("""
                INSERT INTO library (model_id, dimension, model_name, domain)
                VALUES (\(model.id), \(model.dimension), \(model.name), \(model.domain)) ON CONFLICT DO NOTHING
                """, logger: self.logger)
        }
        guard let (id, stored) = try await identity() else {
            throw .server(address.description, reason: "the library row vanished")
        }
        guard stored.id == model.id, stored.dimension == model.dimension else {
            throw .modelMismatch(address.description, stored: stored.id, requested: model.id)
        }
        return id
    }

    /// Records root names (a path's first part, shared by every host).
    public func addRoots(_ names: [String]) async throws(SharedLibraryError) {
        try await run { c in
            try await c.query("INSERT INTO roots (name) SELECT unnest(\(names)::text[]) ON CONFLICT DO NOTHING", logger: self.logger)
        }
    }

    // MARK: Paths

    /// Every path the library knows under `root`.
    public func paths(under root: String) async throws(SharedLibraryError) -> [String: StoredPath] {
        try await run { c in
            var out: [String: StoredPath] = [:]
            let rows = try await c.query("SELECT path, video, size, mtime FROM video_paths WHERE root = \(root)", logger: self.logger)
            for try await (path, video, size, mtime) in rows.decode((String, Int64, Int64, Double).self) {
                out[path] = StoredPath(video: video, size: UInt64(size), mtime: mtime)
            }
            return out
        }
    }

    /// Queues a file for the workers, unless its content is already in the library (then the path is linked to
    /// it), waiting, or failed before.
    public func enqueue(root: String, path: String, fingerprint: Fingerprint, mtime: Double) async throws(SharedLibraryError) -> EnqueueOutcome {
        let (size, hash) = Self.columns(fingerprint)
        return try await transaction { c in
            if try await self.video(c, size: size, hash: hash) != nil {
                // Read again under the lock: the video may have lost its last path (and gone) meanwhile.
                try await self.lockChanges(c)
                if let video = try await self.video(c, size: size, hash: hash) {
                    try await self.link(c, video: video, root: root, path: path, size: size, mtime: mtime)
                    return .linked
                }
            }
            let rows = try await c.query("""
                INSERT INTO work_items (root, path, size, hash, mtime) VALUES (\(root), \(path), \(size), \(hash), \(mtime))
                ON CONFLICT (root, path, size, hash) DO UPDATE SET mtime = EXCLUDED.mtime
                RETURNING state, error, xmax = 0
                """, logger: self.logger)
            for try await (state, error, inserted) in rows.decode((String, String?, Bool).self) {
                if inserted { return .queued }
                if state == "failed" { return .failedBefore(error ?? "failed") }
                if state == "done" {
                    // Done, yet its content is not in the library (removed since): queue it again.
                    try await c.query("UPDATE work_items SET state = 'queued', attempts = 0 WHERE root = \(root) AND path = \(path) AND size = \(size) AND hash = \(hash)", logger: self.logger)
                    return .queued
                }
                return .waiting
            }
            return .waiting
        }
    }

    /// Points `root`/`path` at `video` (inside a transaction), announcing it as a `relink`
    /// unless `announce` is false (a new video's own `insert` covers it). The video the path showed before is
    /// removed when no path shows it any more, else its replica copy is refreshed (a `relink`).
    func link(_ c: PostgresConnection, video: Int64, root: String, path: String, size: Int64, mtime: Double,
              announce: Bool = true) async throws {
        try await lockChanges(c)
        var old: Int64?
        for try await v in try await c.query("SELECT video FROM video_paths WHERE root = \(root) AND path = \(path)", logger: logger).decode(Int64.self) {
            old = v
        }
        try await c.query("""
            INSERT INTO video_paths (video, root, path, size, mtime) VALUES (\(video), \(root), \(path), \(size), \(mtime))
            ON CONFLICT (root, path) DO UPDATE SET video = EXCLUDED.video, size = EXCLUDED.size, mtime = EXCLUDED.mtime
            """, logger: logger)
        guard old != video else { return }
        if announce { try await change(c, "relink", video) }
        if let old { try await unlinked(c, old) }
    }

    /// After `video` lost a path: removed when no path shows it any more, else its replica copy is refreshed.
    private func unlinked(_ c: PostgresConnection, _ video: Int64) async throws {
        var remaining = 0
        for try await n in try await c.query("SELECT count(*) FROM video_paths WHERE video = \(video)", logger: logger).decode(Int.self) {
            remaining = n
        }
        if remaining == 0 {
            try await c.query("DELETE FROM videos WHERE id = \(video)", logger: logger)
            try await change(c, "remove", video)
        } else {
            try await change(c, "relink", video)
        }
    }

    /// Forgets `root`/`path` (its file is gone): the video it showed goes too when no other path shows it.
    public func unlink(root: String, path: String) async throws(SharedLibraryError) {
        try await transaction { c in
            try await self.lockChanges(c)
            let rows = try await c.query("DELETE FROM video_paths WHERE root = \(root) AND path = \(path) RETURNING video", logger: self.logger)
            var videos: [Int64] = []
            for try await v in rows.decode(Int64.self) { videos.append(v) }
            for v in videos { try await self.unlinked(c, v) }
        }
    }

    /// Takes the changes lock (`Schema.changesLockKey`) until the transaction ends: changes then become visible in
    /// sequence order, and paths and the videos they keep alive change one transaction at a time (a path linked
    /// while its video's last other path goes would otherwise deadlock on the video's row). Taking it again in
    /// the same transaction is free.
    func lockChanges(_ c: PostgresConnection) async throws {
        try await c.query("SELECT pg_advisory_xact_lock(\(Schema.changesLockKey))", logger: logger)
    }

    /// The video with that content, or nil.
    func video(_ c: PostgresConnection, size: Int64, hash: Int64) async throws -> Int64? {
        for try await id in try await c.query("SELECT id FROM videos WHERE size = \(size) AND hash = \(hash)", logger: logger).decode(Int64.self) {
            return id
        }
        return nil
    }

    /// Appends a change and announces it (delivered at commit), under the changes lock.
    func change(_ c: PostgresConnection, _ kind: String, _ video: Int64) async throws {
        try await lockChanges(c)
        try await c.query("INSERT INTO changes (kind, video) VALUES (\(kind), \(video))", logger: logger)
        try await c.query(PostgresQuery(unsafeSQL: "NOTIFY \(Schema.changesChannel)"), logger: logger)
    }

    // MARK: The queue

    /// Claims the oldest item under `roots` that is queued or whose lease ran out, for `lease` seconds. Items
    /// claimed `maxAttempts` times whose lease ran out again (a file that kills its workers) are marked failed.
    public func claim(worker: String, roots: [String], lease: Double, maxAttempts: Int) async throws(SharedLibraryError) -> WorkItem? {
        try await transaction { c in
            try await c.query("""
                UPDATE work_items SET state = 'failed', lease_owner = NULL, lease_expires = NULL,
                    error = 'gave up after ' || attempts || ' workers stopped while embedding it'
                WHERE state = 'claimed' AND lease_expires < now() AND attempts >= \(maxAttempts)
                """, logger: self.logger)
            let rows = try await c.query("""
                UPDATE work_items SET state = 'claimed', lease_owner = \(worker),
                    lease_expires = now() + make_interval(secs => \(lease)), attempts = attempts + 1
                WHERE id = (SELECT id FROM work_items
                            WHERE (state = 'queued' OR (state = 'claimed' AND lease_expires < now()))
                              AND root = ANY(\(roots)::text[])
                            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id, root, path, size, hash, mtime, attempts
                """, logger: self.logger)
            for try await (id, root, path, size, hash, mtime, attempts) in rows.decode((Int64, String, String, Int64, Int64, Double, Int).self) {
                try await c.query("UPDATE workers SET item = \(id), heartbeat = now() WHERE name = \(worker)", logger: self.logger)
                return WorkItem(id: id, root: root, path: path, fingerprint: Self.fingerprint(size, hash), mtime: mtime, attempts: attempts)
            }
            return nil
        }
    }

    /// Extends `worker`'s lease on `item` by `lease` seconds from now; false when it no longer holds it.
    public func renew(_ item: WorkItem, worker: String, lease: Double) async throws(SharedLibraryError) -> Bool {
        try await run { c in
            try await c.query("UPDATE workers SET heartbeat = now() WHERE name = \(worker)", logger: self.logger)
            let rows = try await c.query("""
                UPDATE work_items SET lease_expires = now() + make_interval(secs => \(lease))
                WHERE id = \(item.id) AND lease_owner = \(worker) AND state = 'claimed' RETURNING id
                """, logger: self.logger)
            for try await _ in rows.decode(Int64.self) { return true }
            return false
        }
    }

    /// Stores `video`, embedded from `item`, in one transaction: its record, segments, vectors and path, a change,
    /// and the item done. Returns the video's id.
    /// - Throws: `.lostLease` when another worker holds the item now (nothing is stored).
    @discardableResult
    public func complete(_ item: WorkItem, worker: String, video: EmbeddedVideo, model: ModelIdentity) async throws(SharedLibraryError) -> Int64 {
        try await transaction { c in
            try await self.holdLease(c, item, worker: worker)
            let id = try await self.store(c, fingerprint: item.fingerprint, duration: video.duration, segments: video.segments,
                                          vectors: video.vectors, model: model, root: item.root, path: item.path, mtime: item.mtime).id
            try await c.query("""
                UPDATE work_items SET state = 'done', lease_owner = NULL, lease_expires = NULL, error = NULL WHERE id = \(item.id)
                """, logger: self.logger)
            try await c.query("UPDATE workers SET item = NULL WHERE name = \(worker)", logger: self.logger)
            return id
        }
    }

    /// Gives `item` back to the queue (a worker stopping in the middle of it), as if it had not been claimed.
    public func release(_ item: WorkItem, worker: String) async throws(SharedLibraryError) {
        try await run { c in
            try await c.query("""
                UPDATE work_items SET state = 'queued', lease_owner = NULL, lease_expires = NULL, attempts = attempts - 1
                WHERE id = \(item.id) AND lease_owner = \(worker) AND state = 'claimed'
                """, logger: self.logger)
            try await c.query("UPDATE workers SET item = NULL WHERE name = \(worker)", logger: self.logger)
        }
    }

    /// Records that `item` cannot be indexed (`cause`): not retried until the file changes.
    public func fail(_ item: WorkItem, worker: String, cause: String) async throws(SharedLibraryError) {
        try await transaction { c in
            try await self.holdLease(c, item, worker: worker)
            try await c.query("""
                UPDATE work_items SET state = 'failed', lease_owner = NULL, lease_expires = NULL, error = \(cause) WHERE id = \(item.id)
                """, logger: self.logger)
            try await c.query("UPDATE workers SET item = NULL WHERE name = \(worker)", logger: self.logger)
        }
    }

    /// Locks `item`'s row and checks that `worker` still holds its lease.
    private func holdLease(_ c: PostgresConnection, _ item: WorkItem, worker: String) async throws {
        var held = false
        let rows = try await c.query("SELECT state, lease_owner FROM work_items WHERE id = \(item.id) FOR UPDATE", logger: logger)
        for try await (state, owner) in rows.decode((String, String?).self) { held = state == "claimed" && owner == worker }
        guard held else { throw SharedLibraryError.lostLease(address.description, path: "\(item.root)/\(item.path)") }
    }

    /// Items under `roots` still to do: waiting, and claimed (with the soonest lease end, in seconds from now).
    public func pending(roots: [String]) async throws(SharedLibraryError) -> (queued: Int, claimed: Int, soonestExpiry: Double?) {
        try await run { c in
            let rows = try await c.query("""
                SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'claimed'),
                       extract(epoch FROM min(lease_expires) FILTER (WHERE state = 'claimed') - now())::float8
                FROM work_items WHERE state IN ('queued', 'claimed') AND root = ANY(\(roots)::text[])
                """, logger: self.logger)
            for try await (queued, claimed, expiry) in rows.decode((Int, Int, Double?).self) { return (queued, claimed, expiry) }
            return (0, 0, nil)
        }
    }

    // MARK: Workers

    public func register(worker: String, host: String, pid: Int32, model: String) async throws(SharedLibraryError) {
        try await run { c in
            try await c.query("""
                INSERT INTO workers (name, host, pid, model_id) VALUES (\(worker), \(host), \(Int(pid)), \(model))
                ON CONFLICT (name) DO UPDATE SET heartbeat = now(), item = NULL
                """, logger: self.logger)
        }
    }

    public func unregister(worker: String) async throws(SharedLibraryError) {
        try await run { c in try await c.query("DELETE FROM workers WHERE name = \(worker)", logger: self.logger) }
    }

    // MARK: Encoding

    /// A fingerprint as the two `bigint` columns (bit patterns: PostgreSQL has no unsigned type).
    static func columns(_ f: Fingerprint) -> (size: Int64, hash: Int64) { (Int64(bitPattern: f.size), Int64(bitPattern: f.hash)) }
    static func fingerprint(_ size: Int64, _ hash: Int64) -> Fingerprint { Fingerprint(size: UInt64(bitPattern: size), hash: UInt64(bitPattern: hash)) }

    /// Inserts a video's segments and vectors (little-endian f32, `dimension` each) in one statement.
    func insertSegments(_ c: PostgresConnection, video: Int64, _ segments: [Segment], _ vectors: [Float], dimension: Int) async throws {
        precondition(vectors.count == segments.count * dimension, "one vector per segment")
        let ordinals = segments.indices.map { Int32($0) }
        let starts = segments.map(\.start), ends = segments.map(\.end)
        let blobs = segments.indices.map { i in Self.bytes(vectors[i * dimension ..< (i + 1) * dimension]) }
        try await c.query("""
            INSERT INTO segments (video, ordinal, start_seconds, end_seconds, vector)
            SELECT \(video), * FROM unnest(\(ordinals)::int4[], \(starts)::float8[], \(ends)::float8[], \(blobs)::bytea[])
            """, logger: logger)
    }

    static func bytes(_ vector: ArraySlice<Float>) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: vector.count * 4)
        for x in vector { buffer.writeInteger(x.bitPattern, endianness: .little) }
        return buffer
    }

    /// Appends the little-endian f32 vector in `buffer` to `out`; false when it is not `dimension` floats long.
    static func append(_ buffer: ByteBuffer, dimension: Int, to out: inout [Float]) -> Bool {
        guard buffer.readableBytes == dimension * 4 else { return false }
        var b = buffer
        while let bits = b.readInteger(endianness: .little, as: UInt32.self) { out.append(Float(bitPattern: bits)) }
        return true
    }
}
