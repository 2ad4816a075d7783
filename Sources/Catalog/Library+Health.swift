import Foundation
import VectorIndex

/// Totals and health of a library, for `vjsearch status`.
public struct LibraryStatus: Codable, Sendable {
    public var library: String
    public var modelID: String
    public var dimension: Int
    /// The model's name and domain as the library recorded them (nil in libraries made before they were).
    public var modelName: String?
    public var domain: String?
    public var videos: Int
    public var hours: Double
    public var segments: Int
    public var vectors: Int
    /// How the index keeps vectors for search (`f32` or `int8`), and its bytes per vector: read by a search's
    /// graph walk, and stored on disk.
    public var storage: String
    public var searchBytesPerVector: Int
    public var storedBytesPerVector: Int
    public var failures: [IndexReport.Failure]
    /// Videos indexed in part so far (an interrupted run on a long file); the next `index` continues them.
    public var partial: [PartialVideo]
    /// Segments and vectors agree in number (the full check is `verify`).
    public var healthy: Bool
}

/// A video whose indexing stopped part way: `stored` seconds of it are searchable.
public struct PartialVideo: Codable, Sendable, Equatable {
    public var path: String
    public var stored: Double
}

/// What `verify` found: nothing, when the library is consistent.
public struct LibraryVerification: Sendable {
    public var problems: [String] = []
    public var videos = 0
    /// Videos stored in part (their segments are checked like those of complete ones).
    public var partial = 0
    public var segments = 0
    public var vectors = 0
    /// Every vector was checked against its checksum (libraries written before vjsearch kept checksums gain them
    /// with their next write).
    public var checksummed = false
    public var isConsistent: Bool { problems.isEmpty }
}

extension Library {
    public func status() throws -> LibraryStatus {
        try environment.read { txn in
            let all = try videos(in: txn)
            let indexed = all.filter { $0.status == .indexed }
            let segments = try segmentCount(in: txn)
            let vectors = try index.count(in: txn)
            let info = try index.info(in: txn)
            return LibraryStatus(
                library: path, modelID: meta.modelID, dimension: meta.dimension, modelName: meta.modelName,
                domain: meta.domain, videos: indexed.count,
                hours: indexed.reduce(0) { $0 + $1.duration } / 3600, segments: segments, vectors: vectors,
                storage: info.storage.rawValue, searchBytesPerVector: info.searchBytesPerVector,
                storedBytesPerVector: info.storedBytesPerVector,
                failures: all.filter { $0.status == .failed }.map { .init(path: $0.path, cause: $0.failure?.description ?? "failed") },
                partial: all.filter { $0.status == .partial }.map { PartialVideo(path: $0.path, stored: $0.duration) },
                healthy: segments == vectors)
        }
    }

    /// Checks the HNSW graph, that every segment has a vector and every vector a segment, and that every
    /// indexed video's segments all exist (and belong to a video).
    public func verify() throws -> LibraryVerification {
        try environment.read { txn in
            var out = LibraryVerification()
            let graph = try index.verify(in: txn)
            out.problems += graph.problems.map { "index: \($0)" }
            out.checksummed = graph.checksummed
            let all = try videos(in: txn)
            let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            out.videos = all.filter { $0.status == .indexed }.count
            out.partial = all.filter { $0.status == .partial }.count
            let ids = try segmentIDs(in: txn)
            out.segments = ids.count
            out.vectors = try index.count(in: txn)
            var missing = 0
            for id in ids where try !index.contains(id, in: txn) {
                missing += 1
                if missing <= 10 { out.problems.append("segment \(id) has no vector") }
            }
            if missing > 10 { out.problems.append("… \(missing) segments in all have no vector") }
            if out.vectors != ids.count - missing {
                out.problems.append("\(out.vectors - (ids.count - missing)) vectors have no segment")
            }
            let present = Set(ids)
            for id in ids {
                let v = SegmentID.video(id)
                guard let record = byID[v], record.isSearchable, SegmentID.index(id) < record.segments else {
                    out.problems.append("segment \(id) belongs to no indexed video")
                    continue
                }
            }
            for v in all where v.isSearchable {
                let lost = (0..<v.segments).filter { !present.contains(SegmentID.make(video: v.id, index: $0)) }.count
                if lost > 0 { out.problems.append("\(v.path): \(lost) of \(v.segments) segments missing") }
            }
            if let m = try Self.readMeta(metaDB, txn), let maxID = all.map(\.id).max(), maxID >= m.nextVideoID {
                out.problems.append("video id \(maxID) is not below the next id \(m.nextVideoID)")
            }
            return out
        }
    }
}
