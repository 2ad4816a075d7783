import Foundation
import VectorIndex

/// The fixed identity of a library: what its vectors mean.
public struct LibraryMeta: Codable, Sendable, Equatable {
    /// Bumped when the stored layout changes.
    public static let currentSchema = 1

    public var schema: Int
    /// The model bundle's id (`ModelBundle.modelID`); vectors from another model never mix in.
    public var modelID: String
    public var dimension: Int
    /// The model's name and declared domain when the library was made (absent in libraries made before
    /// vjsearch recorded them): `status` shows them even when the bundle is no longer installed.
    public var modelName: String?
    public var domain: String?
    /// The next video id to hand out; ids are never reused, so a stale segment id cannot alias a new video.
    public var nextVideoID: UInt64

    public init(model: ModelIdentity) {
        schema = Self.currentSchema
        modelID = model.id
        dimension = model.dimension
        modelName = model.name
        domain = model.domain
        nextVideoID = 1
    }
}

/// What a library records of the model that fills it.
public struct ModelIdentity: Sendable, Equatable {
    public var id: String
    public var dimension: Int
    public var name: String?
    public var domain: String?

    public init(id: String, dimension: Int, name: String? = nil, domain: String? = nil) {
        (self.id, self.dimension, self.name, self.domain) = (id, dimension, name, domain)
    }
}

/// A video library: one LMDB environment holding the catalog (videos, segments, metadata) and the HNSW index of
/// segment vectors, so that a video's record, segments and vectors commit in one write transaction.
///
/// Databases: `catalog.meta` (one JSON `LibraryMeta`), `catalog.videos` (video id → JSON `VideoRecord`),
/// `catalog.segments` (segment id → start, end as two little-endian `Double`s), and the index `vectors.*`.
/// Readers never block on the writer; one process writes at a time (`LibraryLock`).
public final class Library: @unchecked Sendable {
    public let path: String
    public let environment: Environment
    public let index: HNSWIndex
    public let meta: LibraryMeta
    let videosDB: Database
    let segmentsDB: Database
    let metaDB: Database

    static let indexName = "vectors"
    static let metaKey = Array("meta".utf8)

    /// `init(path:model:create:)` with only the model's id and dimension.
    public convenience init(path: String, model: (id: String, dimension: Int), create: Bool) throws {
        try self.init(path: path, model: ModelIdentity(id: model.id, dimension: model.dimension), create: create)
    }

    /// Opens the library in `path`. With `model`, creates it when absent and checks that it was built with that
    /// model; without, it must exist. An existing library is checked against `model` either way.
    ///
    /// A library created here is readable by its owner only (folder 700, files 600), unless `shared` (755, 644).
    ///
    /// With `checkPages`, an existing file is first walked page by page (`LMDBFileCheck`, some 25 ms per 100 MB) and
    /// refused when damaged, since LMDB trusts its pages and can crash on them; `query` skips it to stay quick.
    ///
    /// `storage` chooses how a new library keeps its vectors for search (`VectorStorage`); an existing library
    /// keeps the choice it was made with, and asking for another is an error.
    public init(
        path: String, model: ModelIdentity?, create: Bool, shared: Bool = false, checkPages: Bool = true,
        storage: VectorStorage? = nil
    ) throws {
        self.path = path
        let dataFile = path + "/data.mdb"
        let exists = FileManager.default.fileExists(atPath: dataFile)
        if !create && !exists { throw CatalogError.emptyLibrary(path) }
        if checkPages && exists {
            let pages = try LMDBFileCheck.check(environment: path)
            if pages.isDamaged { throw CatalogError.damaged(library: path, trees: pages.damaged) }
        }
        if create {
            if !FileManager.default.fileExists(atPath: path) {
                // Owner only at first; a new library's mode is set once it is known to be new (below).
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            }
        }
        let environment = try Environment(path: path, create: create, mapSize: 1 << 28, fileMode: shared ? 0o644 : 0o600)
        self.environment = environment
        typealias Found = (Database, Database, Database, LibraryMeta)
        var isNew = false
        // Only a creating open writes: a reader must never wait for an indexing run's write transaction.
        let found: Found? = if create, let model {
            try environment.write { txn -> Found? in
                let m = try environment.database(named: "catalog.meta", create: true, in: txn)!
                let v = try environment.database(named: "catalog.videos", create: true, in: txn)!
                let s = try environment.database(named: "catalog.segments", create: true, in: txn)!
                let stored = try Self.readMeta(m, txn)
                isNew = stored == nil
                let meta = stored ?? LibraryMeta(model: model)
                try Self.writeMeta(meta, m, txn)
                return (m, v, s, meta)
            }
        } else {
            try environment.read { txn -> Found? in
                guard let m = try environment.database(named: "catalog.meta", create: false, in: txn),
                      let v = try environment.database(named: "catalog.videos", create: false, in: txn),
                      let s = try environment.database(named: "catalog.segments", create: false, in: txn),
                      let meta = try Self.readMeta(m, txn) else { return nil }
                return (m, v, s, meta)
            }
        }
        guard let (m, v, s, meta) = found else { throw CatalogError.emptyLibrary(path) }
        // The folder may have been made earlier (by the writer lock), owner only: a new shared library opens it up.
        if isNew { chmod(path, shared ? 0o755 : 0o700) }
        guard meta.schema == LibraryMeta.currentSchema else {
            throw CatalogError.incompatible(library: path, reason: "catalog schema \(meta.schema), this vjsearch reads \(LibraryMeta.currentSchema)")
        }
        if let model, model.id != meta.modelID {
            throw CatalogError.modelMismatch(library: path, stored: meta.modelID, requested: model.id)
        }
        metaDB = m
        videosDB = v
        segmentsDB = s
        self.meta = meta
        let existing = try environment.read { txn in try HNSWIndex.exists(in: environment, name: Self.indexName, txn) }
        let opened = try HNSWIndex(
            environment: environment, name: Self.indexName,
            creating: create && !existing ? IndexSettings(dimension: meta.dimension, metric: .cosine, storage: storage ?? .f32) : nil)
        if let storage, storage != opened.storage {
            throw CatalogError.storageMismatch(library: path, stored: opened.storage.rawValue, requested: storage.rawValue)
        }
        index = opened
    }

    /// The model id of the library at `path`, or nil when there is no readable library there.
    public static func storedModelID(path: String) -> String? {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else { return nil }
        return (try? Library(path: path, model: nil, create: false))?.meta.modelID
    }

    static func readMeta(_ db: Database, _ txn: borrowing Transaction) throws -> LibraryMeta? {
        guard let bytes = try Self.metaKey.withUnsafeBytes({ try txn.get(db, key: $0) }) else { return nil }
        return try JSONDecoder().decode(LibraryMeta.self, from: Data(bytes))
    }

    static func writeMeta(_ meta: LibraryMeta, _ db: Database, _ txn: borrowing Transaction) throws {
        let data = try JSONEncoder().encode(meta)
        try Self.metaKey.withUnsafeBytes { key in
            try data.withUnsafeBytes { try txn.put(db, key: key, value: $0) }
        }
    }

    // MARK: Reading

    /// Every video record, by id.
    public func videos() throws -> [VideoRecord] {
        try environment.read { txn in try videos(in: txn) }
    }

    public func videos(in txn: borrowing Transaction) throws -> [VideoRecord] {
        var out: [VideoRecord] = []
        let decoder = JSONDecoder()
        try txn.forEach(videosDB) { _, value in
            out.append(try decoder.decode(VideoRecord.self, from: Data(value)))
            return true
        }
        return out
    }

    public func video(_ id: UInt64, in txn: borrowing Transaction) throws -> VideoRecord? {
        guard let bytes = try txn.get(videosDB, key: id) else { return nil }
        return try JSONDecoder().decode(VideoRecord.self, from: Data(bytes))
    }

    /// The segment `id`, or nil.
    public func segment(_ id: UInt64, in txn: borrowing Transaction) throws -> Segment? {
        guard let bytes = try txn.get(segmentsDB, key: id), bytes.count == 16 else { return nil }
        return Segment(start: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))),
                       end: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))))
    }

    /// Number of stored segment records.
    public func segmentCount(in txn: borrowing Transaction) throws -> Int { try txn.count(segmentsDB) }

    /// Every stored segment id, in order.
    public func segmentIDs(in txn: borrowing Transaction) throws -> [UInt64] {
        var out: [UInt64] = []
        try txn.forEach(segmentsDB) { key, _ in
            out.append(UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)))
            return true
        }
        return out
    }

    // MARK: Writing (each call is one write transaction; closures stay repeatable, see `Environment.write`)

    /// Commits a video's segments and vectors (`segments.count × dimension`, flat) in one write transaction.
    ///
    /// A new video first removes the videos `replacing` (their records, segments and vectors). With `extending` (the
    /// partial record an earlier chunk returned) the segments follow that video's stored ones instead. With `resume`
    /// the video stays partial, `duration` being the seconds stored so far; without, it is complete and lasts
    /// `duration` seconds. Returns the record as stored.
    @discardableResult
    public func commit(path: String, fingerprint: Fingerprint, mtime: Double, duration: Double,
                       segments: [Segment], vectors: [Float], replacing: [UInt64],
                       extending: VideoRecord? = nil, resume: VideoRecord.Resume? = nil) throws -> VideoRecord {
        precondition(vectors.count == segments.count * meta.dimension, "one vector per segment")
        let first = extending?.segments ?? 0
        guard first + segments.count < SegmentID.perVideo else {
            throw CatalogError.tooManySegments(path: path, count: first + segments.count, limit: SegmentID.perVideo)
        }
        return try environment.write { txn in
            try removeVideos(replacing, txn)
            var record: VideoRecord
            if let extending {
                // One writer at a time (`LibraryLock`), so the partial record is as the last chunk left it.
                guard let stored = try video(extending.id, in: txn), stored.status == .partial,
                      stored.segments == first else {
                    throw CatalogError.incompatible(library: self.path, reason: "\(path): its partial record changed during indexing")
                }
                record = stored
            } else {
                record = VideoRecord(id: try allocateID(txn), path: path, fingerprint: fingerprint, mtime: mtime,
                                     duration: 0, status: .partial, segments: 0)
            }
            let ids = segments.indices.map { SegmentID.make(video: record.id, index: first + $0) }
            for (id, s) in zip(ids, segments) { try putSegment(id, s, txn) }
            if !ids.isEmpty { try index.insert(ids: ids, vectors: vectors, in: txn) }
            record.path = path
            record.mtime = mtime
            record.duration = duration
            record.segments = first + segments.count
            record.status = resume == nil ? .indexed : .partial
            record.resume = resume
            try put(record, txn)
            return record
        }
    }

    /// A complete video with its segments and vectors, under a given id (`replace`).
    public struct StoredVideo: Sendable {
        public var id: UInt64
        public var path: String
        public var fingerprint: Fingerprint
        public var mtime: Double
        public var duration: Double
        public var segments: [Segment]
        /// `segments.count × dimension` floats, flat.
        public var vectors: [Float]

        public init(id: UInt64, path: String, fingerprint: Fingerprint, mtime: Double, duration: Double,
                    segments: [Segment], vectors: [Float]) {
            (self.id, self.path, self.fingerprint, self.mtime) = (id, path, fingerprint, mtime)
            (self.duration, self.segments, self.vectors) = (duration, segments, vectors)
        }
    }

    /// In one write transaction: removes the videos `removing` and those with the ids of `videos`, then stores
    /// `videos` as complete under their ids (a replica copying a batch of a shared library's changes; later ids are
    /// handed out after theirs).
    public func replace(_ videos: [StoredVideo], removing: [UInt64]) throws {
        for v in videos {
            precondition(v.vectors.count == v.segments.count * meta.dimension, "one vector per segment")
            guard v.segments.count < SegmentID.perVideo else {
                throw CatalogError.tooManySegments(path: v.path, count: v.segments.count, limit: SegmentID.perVideo)
            }
        }
        try environment.write { txn in
            try removeVideos(removing + videos.map(\.id), txn)
            var ids: [UInt64] = []
            var vectors: [Float] = []
            for v in videos {
                let record = VideoRecord(id: try reserveID(v.id, txn), path: v.path, fingerprint: v.fingerprint, mtime: v.mtime,
                                         duration: v.duration, status: .indexed, segments: v.segments.count)
                for (i, s) in v.segments.enumerated() {
                    let id = SegmentID.make(video: v.id, index: i)
                    try putSegment(id, s, txn)
                    ids.append(id)
                }
                vectors += v.vectors
                try put(record, txn)
            }
            if !ids.isEmpty { try index.insert(ids: ids, vectors: vectors, in: txn) }
        }
    }

    /// Remembers a file that failed, with its fingerprint, replacing `replacing`.
    public func recordFailure(path: String, fingerprint: Fingerprint, mtime: Double, failure: VideoFailure,
                              replacing: [UInt64]) throws {
        try environment.write { txn in
            try removeVideos(replacing, txn)
            let record = VideoRecord(id: try allocateID(txn), path: path, fingerprint: fingerprint, mtime: mtime,
                                     duration: 0, status: .failed, failure: failure, segments: 0)
            try put(record, txn)
        }
    }

    /// Points video `id` at `path` (a moved or renamed file, or a touched one), removing `replacing` first.
    public func relink(_ id: UInt64, to path: String, mtime: Double, replacing: [UInt64]) throws {
        try environment.write { txn in
            try removeVideos(replacing.filter { $0 != id }, txn)
            guard var record = try video(id, in: txn) else { return }
            record.path = path
            record.mtime = mtime
            try put(record, txn)
        }
    }

    /// Removes videos with their segments and vectors.
    public func remove(_ ids: [UInt64]) throws {
        guard !ids.isEmpty else { return }
        try environment.write { txn in try removeVideos(ids, txn) }
    }

    private func removeVideos(_ ids: [UInt64], _ txn: borrowing Transaction) throws {
        for id in ids {
            guard let record = try video(id, in: txn) else { continue }
            let segmentIDs = (0..<record.segments).map { SegmentID.make(video: id, index: $0) }
            for s in segmentIDs { _ = try txn.delete(segmentsDB, key: s) }
            if !segmentIDs.isEmpty { _ = try index.delete(ids: segmentIDs, in: txn) }
            _ = try txn.delete(videosDB, key: id)
        }
    }

    private func allocateID(_ txn: borrowing Transaction) throws -> UInt64 {
        guard var m = try Self.readMeta(metaDB, txn) else { throw CatalogError.emptyLibrary(path) }
        let id = m.nextVideoID
        m.nextVideoID += 1
        try Self.writeMeta(m, metaDB, txn)
        return id
    }

    /// Takes `id` as a video's id: later ones are allocated after it.
    private func reserveID(_ id: UInt64, _ txn: borrowing Transaction) throws -> UInt64 {
        guard var m = try Self.readMeta(metaDB, txn) else { throw CatalogError.emptyLibrary(path) }
        if m.nextVideoID <= id {
            m.nextVideoID = id + 1
            try Self.writeMeta(m, metaDB, txn)
        }
        return id
    }

    func put(_ record: VideoRecord, _ txn: borrowing Transaction) throws {
        let data = try JSONEncoder().encode(record)
        try data.withUnsafeBytes { try txn.put(videosDB, key: record.id, value: $0) }
    }

    /// Stores a segment as its start and end, two little-endian `Double`s.
    func putSegment(_ id: UInt64, _ s: Segment, _ txn: borrowing Transaction) throws {
        let raw = [s.start.bitPattern.littleEndian, s.end.bitPattern.littleEndian]
        try raw.withUnsafeBytes { try txn.put(segmentsDB, key: id, value: $0) }
    }
}
