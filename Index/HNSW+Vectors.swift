extension HNSWIndex {
    /// The stored vectors of `ids`, in the order given, flat (`ids.count × dimension`; unit length under the
    /// cosine metric, which normalises at insert), or nil when one of them is not in the index. Each id is looked
    /// up in the id map and its vector checked against the slot's checksum; no link is read.
    ///
    /// Throws `IndexError.corrupt` when a vector fails its checksum or is not finite, or when the id map points at
    /// a slot that does not hold that id.
    ///
    /// - Complexity: O(k · (log N + d)) for k ids, after binding the snapshot's chunk tables.
    public func vectors(ids: [UInt64], in txn: borrowing Transaction) throws -> [Float]? {
        if ids.isEmpty { return [] }
        return try withReader(in: txn) { try $0.vectors(ids: ids) }
    }
}

extension IndexReader {
    /// `HNSWIndex.vectors(ids:in:)` on this reader's snapshot.
    public func vectors(ids: [UInt64]) throws -> [Float]? {
        let databases = index.databases
        let g = searcher.store.graph
        let d = index.dimension
        var out = [Float](repeating: 0, count: ids.count * d)
        for (i, id) in ids.enumerated() {
            guard let value = try txn.get(databases.ids, key: id) else { return nil }
            let slot = try intactSlot(of: id, value, g)
            let vector = UnsafeBufferPointer(start: g.vector(slot), count: d)
            guard vector.allSatisfy(\.isFinite) else { throw g.damaged("the vector of id \(id) is not finite") }
            out.withUnsafeMutableBufferPointer { o in
                _ = UnsafeMutableBufferPointer(rebasing: o[i * d ..< (i + 1) * d]).update(fromContentsOf: vector)
            }
        }
        return out
    }
}
