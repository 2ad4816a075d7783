import CLMDB
import Foundation

/// One write call's working state: the graph store with its owned copies, scratch buffers and the
/// transaction. Everything reaches LMDB in `finish`, inside the caller's transaction.
final class Writer {
    let store: GraphStore
    let databases: Databases
    let path: String
    var scratch: SearchScratch
    /// The second visited set, for reachability walks that run searches.
    var reached: VisitedSet
    var candidates: UnsafeMutablePointer<Candidate>
    var candidateCapacity: Int
    var queue: [UInt32] = []
    let txn: OpaquePointer

    init(index: HNSWIndex, txn: borrowing Transaction, extraSlots: Int) throws {
        guard txn.isWritable else { throw IndexError.invalidArgument("index writes need a write transaction") }
        databases = index.databases
        path = index.environment.path
        let meta = try index.readMeta(txn)
        store = GraphStore(layout: index.layout, databases: databases, path: path, meta: meta)
        try store.bind(txn, meta: meta, extraSlots: extraSlots)
        let slots = meta.slotCount + extraSlots
        scratch = SearchScratch(dimension: index.dimension, slots: slots, ef: meta.parameters.efConstruction)
        reached = VisitedSet(capacity: slots)
        candidateCapacity = max(meta.parameters.efConstruction, 4 * index.layout.m0) + 1
        candidates = .allocate(capacity: candidateCapacity)
        self.txn = txn.handle
        if !meta.checksummed { addChecksums() }
    }

    deinit { candidates.deallocate() }

    /// Gives every live slot of an index written before vjsearch kept checksums its checksum, once: the flag
    /// set here reaches the file with this write.
    private func addChecksums() {
        for s in 0..<UInt32(meta.slotCount) where graph.level(s) != SlotRecord.free {
            _ = store.writableSlot(s)
            graph.seal(s)
        }
        store.updateMeta { $0.checksummed = true }
    }

    var meta: Meta { store.meta }
    var graph: Graph { store.graph }

    /// Grows `candidates` to hold `n`, keeping its contents.
    func ensureCandidateCapacity(_ n: Int) {
        if n > candidateCapacity {
            let bigger = UnsafeMutablePointer<Candidate>.allocate(capacity: n * 2)
            bigger.update(from: candidates, count: candidateCapacity)
            candidates.deallocate()
            candidateCapacity = n * 2
            candidates = bigger
        }
    }

    /// The slot of `id`, or nil.
    func slot(of id: UInt64, _ txn: borrowing Transaction) throws -> UInt32? {
        guard let value = try txn.get(databases.ids, key: id) else { return nil }
        guard value.count == 4 else {
            throw IndexError.corrupt(path: path, reason: "id \(id) maps to a \(value.count)-byte slot")
        }
        let slot = UInt32(littleEndian: value.loadUnaligned(as: UInt32.self))
        guard Int(slot) < meta.slotCount else {
            throw IndexError.corrupt(path: path, reason: "id \(id) maps to slot \(slot), beyond \(meta.slotCount)")
        }
        return slot
    }

    /// Draws a level with hnswlib's distribution: ⌊−ln(U) / ln(M)⌋, U uniform on (0, 1].
    func randomLevel() -> Int {
        var level = 0
        store.updateMeta { meta in
            // SplitMix64.
            meta.rngState &+= 0x9E37_79B9_7F4A_7C15
            var z = meta.rngState
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let u = (Double(z >> 11) + 1) / Double(1 << 53)
            level = Int(-Foundation.log(u) / Foundation.log(Double(meta.parameters.m)))
        }
        return min(level, 32)
    }

    /// Inserts `ids[i]` with `vectors[i·d ..< (i+1)·d]`; existing ids are replaced.
    func insert(ids: [UInt64], vectors: UnsafeBufferPointer<Float>, _ txn: borrowing Transaction) throws {
        let dimension = store.layout.dimension
        var replaced: [UInt64] = []
        for id in ids where try slot(of: id, txn) != nil { replaced.append(id) }
        if !replaced.isEmpty { _ = try delete(ids: replaced, txn) }

        for (i, id) in ids.enumerated() {
            let slot: UInt32
            if let free = try takeFreeSlot(txn) {
                slot = free
            } else {
                slot = UInt32(meta.slotCount)
                store.updateMeta { $0.slotCount += 1 }
            }
            let level = randomLevel()
            let vector = store.writableVector(slot)
            vector.update(from: vectors.baseAddress! + i * dimension, count: dimension)
            if store.layout.metric == .cosine { Distance.normalize(vector, dimension) }
            let record = store.writableSlot(slot)
            record.storeBytes(of: id, as: UInt64.self)
            record.storeBytes(of: UInt32(level), toByteOffset: 8, as: UInt32.self)
            graph.seal(slot)
            store.writableLinks0(slot)[0] = 0
            store.resetUpper(slot, level: level)
            var slotValue = slot.littleEndian
            try withUnsafeBytes(of: &slotValue) { try txn.put(databases.ids, key: id, value: $0) }
            try link(slot, level: level)
            store.updateMeta { $0.liveCount += 1 }
        }
        try ensureReachable()
    }

    private func takeFreeSlot(_ txn: borrowing Transaction) throws -> UInt32? {
        var found: UInt32?
        try txn.forEach(databases.free) { key, _ in
            if key.count == 4 { found = UInt32(bigEndian: key.loadUnaligned(as: UInt32.self)) }
            return false
        }
        if let found {
            try txn.delete(databases.free, key: found)
            guard Int(found) < meta.slotCount, graph.level(found) == SlotRecord.free else {
                throw IndexError.corrupt(path: path, reason: "free list holds slot \(found), which is in use")
            }
        }
        return found
    }

    /// hnswlib's `addPoint` for a slot whose vector and level are written: links it on every layer.
    private func link(_ slot: UInt32, level: Int) throws {
        let g = graph
        let m = meta
        guard m.entry != Meta.noEntry else {
            store.updateMeta {
                $0.entry = slot
                $0.maxLevel = level
            }
            return
        }
        let query = g.vector(slot)
        var entry = m.entry
        var entryDistance = g.distance(query, g.vector(entry))
        if level < m.maxLevel {
            (entry, entryDistance) = try g.descend(query, entry: entry, distance: entryDistance, from: m.maxLevel, to: level + 1)
        }
        var layer = min(level, m.maxLevel)
        while layer >= 0 {
            try g.searchLayer(
                query, entry: entry, distance: entryDistance, ef: m.parameters.efConstruction, layer: layer,
                slots: m.slotCount, scratch: &scratch)
            scratch.sortResults()
            let found = scratch.sortedCount
            ensureCandidateCapacity(found)
            candidates.update(from: scratch.sorted, count: found)
            entry = candidates[0].slot
            entryDistance = candidates[0].distance
            let kept = g.selectNeighbours(candidates, count: found, limit: m.parameters.m)
            let list = try store.writableLinks(slot, layer: layer)
            list[0] = UInt32(kept)
            for j in 0..<kept { list[j + 1] = candidates[j].slot }
            // `candidates` is reused by `addLink`; take the kept ones first.
            let neighbours = (0..<kept).map { candidates[$0] }
            for neighbour in neighbours {
                try addLink(from: neighbour.slot, to: slot, distance: neighbour.distance, layer: layer)
            }
            layer -= 1
        }
        if level > m.maxLevel {
            store.updateMeta {
                $0.entry = slot
                $0.maxLevel = level
            }
        }
    }

    /// Adds `to` to the list of `from` on `layer`, pruning a full list with the heuristic.
    func addLink(from: UInt32, to: UInt32, distance: Float, layer: Int) throws {
        let g = graph
        let list = try store.writableLinks(from, layer: layer)
        let count = Int(list[0])
        let limit = g.maxDegree(layer)
        for j in 0..<count where list[j + 1] == to { return }
        if count < limit {
            list[count + 1] = to
            list[0] = UInt32(count + 1)
            return
        }
        ensureCandidateCapacity(count + 1)
        let base = g.vector(from)
        candidates[0] = Candidate(distance: distance, slot: to)
        for j in 0..<count {
            let other = list[j + 1]
            candidates[j + 1] = Candidate(distance: g.distance(base, g.vector(other)), slot: other)
        }
        sortCandidates(candidates, count: count + 1)
        let kept = g.selectNeighbours(candidates, count: count + 1, limit: limit)
        list[0] = UInt32(kept)
        for j in 0..<kept { list[j + 1] = candidates[j].slot }
    }

    /// Makes every live node reachable on layer 0 from the entry point: each unreached node gets an
    /// in-link from the closest reached node that has room (or, failing that, the closest one).
    ///
    /// - Complexity: O(slots · m0) for the walk, plus one search per node that was unreachable.
    func ensureReachable() throws {
        let m = meta
        guard m.entry != Meta.noEntry else { return }
        let g = graph
        reached.reset(slots: m.slotCount)
        walk(from: m.entry, g)
        for s in 0..<UInt32(m.slotCount) where g.level(s) != SlotRecord.free && !reached.contains(s) {
            // Search the reached part of the graph (the walk cannot enter `s`'s component) for `s`'s vector.
            let query = g.vector(s)
            let entryDistance = g.distance(query, g.vector(m.entry))
            let (start, startDistance) = try g.descend(
                query, entry: m.entry, distance: entryDistance, from: m.maxLevel, to: 1)
            try g.searchLayer(
                query, entry: start, distance: startDistance, ef: m.parameters.efConstruction, layer: 0,
                slots: m.slotCount, scratch: &scratch)
            scratch.sortResults()
            var parent: Candidate?
            for j in 0..<scratch.sortedCount {
                let c = scratch.sorted[j]
                guard c.slot != s, reached.contains(c.slot) else { continue }
                if parent == nil { parent = c }
                if Int(g.links0(c.slot)[0]) < g.m0 {
                    parent = c
                    break
                }
            }
            guard let parent else { continue }
            let list = store.writableLinks0(parent.slot)
            let count = Int(list[0])
            if count < g.m0 {
                list[count + 1] = s
                list[0] = UInt32(count + 1)
            } else {
                list[count] = s  // replaces the farthest kept neighbour
            }
            walk(from: s, g)
        }
    }

    /// Marks in `reached` every node reachable on layer 0 from `start`.
    private func walk(from start: UInt32, _ g: Graph) {
        if reached.testAndSet(start) { return }
        queue.removeAll(keepingCapacity: true)
        queue.append(start)
        while let slot = queue.popLast() {
            let list = g.links0(slot)
            let count = Int(list[0])
            var j = 1
            while j <= count {
                let n = list[j]
                if !reached.testAndSet(n) { queue.append(n) }
                j += 1
            }
        }
    }

    /// Writes everything into the transaction.
    func finish(_ txn: borrowing Transaction) throws {
        try store.flush(txn)
    }
}
