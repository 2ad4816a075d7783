import Foundation
import VectorIndex

/// What `Library.rebuild(into:)` kept and dropped.
public struct RepairReport: Sendable {
    public var videos = 0
    public var segments = 0
    /// Records of files that failed to index, kept so that an unchanged file is not retried.
    public var failures = 0
    /// Indexed videos that lost a segment or a vector: left out, so that the next `vjsearch index` of their
    /// folders embeds them again.
    public var reembed: [String] = []
    /// Vectors whose checksum failed, and vectors or records that belong to nothing kept.
    public var damagedVectors = 0
    public var orphanVectors = 0
    public var unreadableRecords = 0
}

extension Library {
    /// Builds a new library in `destination` from what survives in this one: every video record that decodes,
    /// the segments of each indexed video whose vectors all pass their checksums, and a fresh HNSW graph over
    /// those vectors (the old links are never read, so a damaged graph is no obstacle). Nothing here is changed.
    ///
    /// - Parameter progress: called with vectors inserted and vectors to insert, after each batch.
    /// - Complexity: two passes over the stored vectors, then the inserts of an index build.
    public func rebuild(into destination: String, shared: Bool, batch: Int = 2048,
                        progress: (Int, Int) -> Void = { _, _ in }) throws -> RepairReport {
        var report = RepairReport()
        // Pass 1: the catalog as far as it reads, and which vectors are intact.
        var records: [VideoRecord] = []
        var segments: [UInt64: Segment] = [:]
        var intact = Set<UInt64>()
        try environment.read { txn in
            let decoder = JSONDecoder()
            try txn.forEach(videosDB) { _, value in
                if let record = try? decoder.decode(VideoRecord.self, from: Data(value)) {
                    records.append(record)
                } else {
                    report.unreadableRecords += 1
                }
                return true
            }
            for id in try segmentIDs(in: txn) {
                if let s = try segment(id, in: txn), s.start.isFinite, s.end.isFinite, s.start <= s.end {
                    segments[id] = s
                } else {
                    report.unreadableRecords += 1
                }
            }
            report.damagedVectors = try index.salvage(in: txn) { id, _ in intact.insert(id) }
        }
        var keptSegments = Set<UInt64>()
        var kept: [VideoRecord] = []
        for record in records.sorted(by: { $0.id < $1.id }) {
            guard record.id < meta.nextVideoID, record.segments >= 0, record.segments < SegmentID.perVideo else {
                report.unreadableRecords += 1
                continue
            }
            switch record.status {
            case .failed:
                kept.append(record)
                report.failures += 1
            case .indexed, .partial:  // a partial video keeps its stored part; the next `index` resumes it
                let ids = (0..<record.segments).map { SegmentID.make(video: record.id, index: $0) }
                guard ids.allSatisfy({ segments[$0] != nil && intact.contains($0) }) else {
                    report.reembed.append(record.path)
                    continue
                }
                kept.append(record)
                keptSegments.formUnion(ids)
                report.videos += 1
                report.segments += ids.count
            }
        }
        report.orphanVectors = intact.subtracting(keptSegments).count

        // The new library: the same model and video ids, then the records, then the vectors in batches.
        let fresh = try Library(path: destination, model: ModelIdentity(
            id: meta.modelID, dimension: meta.dimension, name: meta.modelName, domain: meta.domain), create: true, shared: shared,
            storage: index.storage)
        try fresh.environment.write { txn in
            try Self.writeMeta(meta, fresh.metaDB, txn)
            for record in kept {
                try fresh.put(record, txn)
                for i in 0..<record.segments {
                    let id = SegmentID.make(video: record.id, index: i)
                    try fresh.putSegment(id, segments[id]!, txn)
                }
            }
        }
        var ids: [UInt64] = []
        var vectors: [Float] = []
        var inserted = 0
        func flush() throws {
            guard !ids.isEmpty else { return }
            try fresh.index.insert(ids: ids, vectors: vectors)
            inserted += ids.count
            progress(inserted, keptSegments.count)
            ids.removeAll(keepingCapacity: true)
            vectors.removeAll(keepingCapacity: true)
        }
        // Pass 2 (a second snapshot: the caller holds the writer lock, so it is the same data).
        try environment.read { txn in
            _ = try index.salvage(in: txn) { id, vector in
                guard keptSegments.contains(id) else { return }
                ids.append(id)
                vectors.append(contentsOf: vector)
                if ids.count >= batch { try flush() }
            }
        }
        try flush()
        guard inserted == keptSegments.count else {
            throw CatalogError.changedDuringRepair(library: path, read: inserted, expected: keptSegments.count)
        }
        return report
    }
}
