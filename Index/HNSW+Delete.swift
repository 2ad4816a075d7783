extension Writer {
    /// Removes `ids` (unknown ids are skipped) and repairs the graph around them: every node that linked
    /// to a removed node re-selects its neighbours, with the heuristic, from its surviving neighbours and
    /// the surviving neighbours of the removed ones. Removed slots go to the free list.
    ///
    /// - Returns: how many ids were removed.
    /// - Complexity: O(slots · m0) to find the affected nodes, plus O(candidates · m) distances per repair.
    func delete(ids: [UInt64], _ txn: borrowing Transaction) throws -> Int {
        var removed = Set<UInt32>()
        for id in ids {
            if let slot = try slot(of: id, txn) { removed.insert(slot) }
        }
        guard !removed.isEmpty else { return 0 }
        let g = graph
        let slotCount = meta.slotCount
        let isRemoved = UnsafeMutablePointer<Bool>.allocate(capacity: slotCount)
        defer { isRemoved.deallocate() }
        isRemoved.initialize(repeating: false, count: slotCount)
        for slot in removed { isRemoved[Int(slot)] = true }

        for s in 0..<UInt32(slotCount) where !isRemoved[Int(s)] {
            let level = g.level(s)
            guard level != SlotRecord.free else { continue }
            for layer in 0...Int(level) {
                let list = try g.links(s, layer: layer)
                let count = Int(list[0])
                var touched = false
                for j in 1..<(count + 1) where isRemoved[Int(list[j])] {
                    touched = true
                    break
                }
                if touched { try repair(s, layer: layer, isRemoved: isRemoved, g) }
            }
        }

        for slot in removed.sorted() {
            try txn.delete(databases.ids, key: g.id(slot))
            try txn.put(databases.free, key: slot, value: UnsafeRawBufferPointer(start: nil, count: 0))
            let record = store.writableSlot(slot)
            record.storeBytes(of: 0, as: UInt64.self)
            record.storeBytes(of: SlotRecord.free, toByteOffset: 8, as: UInt32.self)
            store.writableLinks0(slot)[0] = 0
            store.resetUpper(slot, level: 0)
        }
        store.updateMeta { $0.liveCount -= removed.count }
        if isRemoved[Int(meta.entry)] {
            var best: UInt32 = Meta.noEntry
            var bestLevel = -1
            for s in 0..<UInt32(slotCount) {
                let level = g.level(s)
                if level != SlotRecord.free && Int(level) > bestLevel {
                    best = s
                    bestLevel = Int(level)
                }
            }
            store.updateMeta {
                $0.entry = best
                $0.maxLevel = bestLevel
            }
        }
        try ensureReachable()
        return removed.count
    }

    /// Re-selects the neighbours of `slot` on `layer` after some of them were removed.
    private func repair(_ slot: UInt32, layer: Int, isRemoved: UnsafeMutablePointer<Bool>, _ g: Graph) throws {
        let list = try g.links(slot, layer: layer)
        let count = Int(list[0])
        let base = g.vector(slot)
        scratch.visited.reset(slots: meta.slotCount)
        let seen = scratch.visited.view
        _ = seen.testAndSet(slot)
        var n = 0
        func consider(_ other: UInt32) {
            if isRemoved[Int(other)] || seen.testAndSet(other) { return }
            ensureCandidateCapacity(n + 1)
            candidates[n] = Candidate(distance: g.distance(base, g.vector(other)), slot: other)
            n += 1
        }
        for j in 1..<(count + 1) { consider(list[j]) }
        for j in 1..<(count + 1) where isRemoved[Int(list[j])] {
            let second = try g.links(list[j], layer: layer)
            for k in 1..<(Int(second[0]) + 1) { consider(second[k]) }
        }
        sortCandidates(candidates, count: n)
        let pool = min(n, max(meta.parameters.efConstruction, g.maxDegree(layer)))
        let kept = g.selectNeighbours(candidates, count: pool, limit: g.maxDegree(layer))
        let target = try store.writableLinks(slot, layer: layer)
        target[0] = UInt32(kept)
        for j in 0..<kept { target[j + 1] = candidates[j].slot }
    }
}
