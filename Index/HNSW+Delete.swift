extension Writer {
    /// Deletes `ids` (unknown ids are skipped) as hnswlib's `markDelete` does: each node becomes a tombstone,
    /// left in the graph with its links so that searches still pass through it but never return it, and its
    /// slot goes on the free list for the next insert to reuse and relink (see `insert`). Nothing else is
    /// read or changed, so deleting a video costs the same in any size of index.
    ///
    /// - Returns: how many ids were removed.
    /// - Complexity: O(k · log N) for k ids.
    func delete(ids: [UInt64], _ txn: borrowing Transaction) throws -> Int {
        var removed = 0
        for id in Set(ids).sorted() {
            guard let slot = try slot(of: id, txn) else { continue }
            let g = graph
            guard g.isLive(slot), g.id(slot) == id else {
                throw g.damaged("id \(id) maps to slot \(slot), which does not hold it")
            }
            try txn.delete(databases.ids, key: id)
            try txn.put(databases.free, key: slot, value: UnsafeRawBufferPointer(start: nil, count: 0))
            store.writableSlot(slot).storeBytes(of: g.level(slot) | SlotRecord.deleted, toByteOffset: 8, as: UInt32.self)
            store.updateMeta {
                $0.liveCount -= 1
                $0.tombstoneCount += 1
            }
            removed += 1
        }
        return removed
    }
}
