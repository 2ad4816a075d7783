import Catalog
import Foundation
import PostgresNIO

/// `vjsearch library migrate`: a folder library copied into a shared one without re-embedding (the way back is a
/// replica sync into a new folder, `Replica.sync`).
public enum LibraryTransfer {
    public struct Report: Sendable {
        /// Videos copied, and videos whose content the shared library already had (only their path was added).
        public var copied = 0
        public var linked = 0
        public var segments = 0
        /// Videos not copied, with why: partial or failed ones, and those under no `--root`.
        public var skipped: [(path: String, reason: String)] = []
    }

    /// The root `path` lies under (the deepest one) and its path relative to it, or nil.
    public static func relative(_ path: String, roots: [String: String]) -> (root: String, path: String)? {
        let matches = roots.filter { path.hasPrefix($0.value.hasSuffix("/") ? $0.value : $0.value + "/") }
        guard let (name, folder) = matches.max(by: { $0.value.count < $1.value.count }) else { return nil }
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return (name, String(path.dropFirst(prefix.count)))
    }

    /// Copies every indexed video of `library` whose file lies under one of `roots` into `database`, each in one
    /// transaction; a rerun copies only what is missing.
    /// - Throws: `.modelMismatch` when the shared library holds another model's vectors.
    public static func copy(_ library: Library, to database: SharedDatabase, roots: [String: String],
                            progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) async throws -> Report {
        let model = ModelIdentity(id: library.meta.modelID, dimension: library.meta.dimension,
                                  name: library.meta.modelName, domain: library.meta.domain)
        try await database.adopt(model)
        try await database.addRoots(Array(roots.keys))
        var report = Report()
        let videos = try library.videos().sorted { $0.id < $1.id }
        for (n, video) in videos.enumerated() {
            defer { progress?(n + 1, videos.count) }
            guard video.status == .indexed else {
                report.skipped.append((video.path, video.status == .failed ? "failed to index" : "indexed in part; finish it with `vjsearch index` first"))
                continue
            }
            guard let (root, path) = relative(video.path, roots: roots) else {
                report.skipped.append((video.path, "under no --root"))
                continue
            }
            let ids = (0..<video.segments).map { SegmentID.make(video: video.id, index: $0) }
            let (segments, vectors) = try library.environment.read { txn -> ([Segment], [Float]?) in
                (try ids.compactMap { try library.segment($0, in: txn) }, try library.index.vectors(ids: ids, in: txn))
            }
            guard let vectors, segments.count == ids.count else {
                report.skipped.append((video.path, "its segments or vectors are missing (run `vjsearch verify`)"))
                continue
            }
            let copied = try await database.importVideo(root: root, path: path, fingerprint: video.fingerprint, mtime: video.mtime,
                                                        duration: video.duration, segments: segments, vectors: vectors, model: model)
            if copied {
                report.copied += 1
                report.segments += segments.count
            } else {
                report.linked += 1
            }
        }
        return report
    }
}

extension SharedDatabase {
    /// Stores a video embedded elsewhere, in one transaction: a new one with its segments, or, when the library
    /// has that content, only the path. Returns whether it was new.
    func importVideo(root: String, path: String, fingerprint: Fingerprint, mtime: Double, duration: Double,
                     segments: [Segment], vectors: [Float], model: ModelIdentity) async throws(SharedLibraryError) -> Bool {
        try await transaction { c in
            try await self.store(c, fingerprint: fingerprint, duration: duration, segments: segments, vectors: vectors,
                                        model: model, root: root, path: path, mtime: mtime).new
        }
    }

    /// Stores a video under `root`/`path` (inside a transaction): a new one with its
    /// segments and vectors and an `insert` change, or, when the library has that content, only the path.
    func store(_ c: PostgresConnection, fingerprint: Fingerprint, duration: Double, segments: [Segment], vectors: [Float],
               model: ModelIdentity, root: String, path: String, mtime: Double) async throws -> (id: Int64, new: Bool) {
        let (size, hash) = Self.columns(fingerprint)
        var id: Int64?
        let inserted = try await c.query("""
            INSERT INTO videos (size, hash, duration, model_id) VALUES (\(size), \(hash), \(duration), \(model.id))
            ON CONFLICT (size, hash) DO NOTHING RETURNING id
            """, logger: logger)
        for try await v in inserted.decode(Int64.self) { id = v }
        let new = id != nil
        if let id {
            try await insertSegments(c, video: id, segments, vectors, dimension: model.dimension)
            try await change(c, "insert", id)
        } else {
            // The same content is stored already (from another path, or by another worker meanwhile); read under
            // the lock, as `enqueue` does, so that it cannot lose its last path before this one links to it.
            try await lockChanges(c)
            id = try await video(c, size: size, hash: hash)
        }
        guard let id else { throw SharedLibraryError.server(address.description, reason: "a video row vanished") }
        try await link(c, video: id, root: root, path: path, size: size, mtime: mtime, announce: !new)
        return (id, new)
    }
}
