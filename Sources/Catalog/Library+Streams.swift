import Foundation
import VectorIndex

extension Library {
    /// The stored clip stream of the video file at `path` (absolute), or nil when the library does not hold it.
    ///
    /// The file is the indexed video when the record for its path has its size and modification time (what
    /// `index` calls unchanged) or its fingerprint; otherwise an indexed record with the file's fingerprint stands
    /// for it (a moved or copied file); and a file that no longer exists is the video recorded at its path.
    /// Segments and vectors come from one snapshot, each vector checked against its checksum.
    ///
    /// - Complexity: O(videos) to find the record, then O(segments · (log N + d)).
    public func storedStream(path: String) throws -> EmbeddingStream? {
        var st = stat()
        let onDisk = stat(path, &st) == 0 ? (size: UInt64(st.st_size), mtime: VideoFinder.mtime(st)) : nil
        return try environment.read { txn -> EmbeddingStream? in
            let indexed = try videos(in: txn).filter { $0.status == .indexed }
            let atPath = indexed.first { $0.path == path }
            var record: VideoRecord?
            if let onDisk {
                if let atPath, atPath.size == onDisk.size, atPath.mtime == onDisk.mtime {
                    record = atPath
                } else if let fingerprint = try? Fingerprint(path: path) {
                    record = atPath.flatMap { $0.fingerprint == fingerprint ? $0 : nil }
                        ?? indexed.first { $0.fingerprint == fingerprint }
                }
            } else {
                record = atPath
            }
            guard let record else { return nil }
            return try stream(of: record, in: txn)
        }
    }

    /// The segments and vectors of `record`, in time order.
    func stream(of record: VideoRecord, in txn: borrowing Transaction) throws -> EmbeddingStream {
        let ids = (0..<record.segments).map { SegmentID.make(video: record.id, index: $0) }
        var segments: [Segment] = []
        segments.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() {
            guard let s = try segment(id, in: txn) else { throw missing("segment \(i) of \(record.path)") }
            segments.append(s)
        }
        guard let vectors = try index.vectors(ids: ids, in: txn) else { throw missing("a vector of \(record.path)") }
        return EmbeddingStream(segments: segments, vectors: vectors, dimension: index.dimension)
    }

    private func missing(_ what: String) -> IndexError {
        .corrupt(path: path, reason: "\(what) is missing; run `vjsearch verify`")
    }
}
