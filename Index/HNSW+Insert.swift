import CLMDB
import Foundation

/// One write call's working state: the graph store with its owned copies, scratch buffers and the
/// transaction. Everything reaches LMDB in `finish`, inside the caller's transaction.
final class Writer {
    let store: GraphStore
    let databases: Databases
    let path: String
    var scratch: SearchScratch
    var candidates: UnsafeMutablePointer<Candidate>
    var candidateCapacity: Int
    /// Nodes that lost an in-link (or are new) during this write: `reconnect` checks each.
    var lostInLink = Set<UInt32>()
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
        candidateCapacity = max(meta.parameters.efConstruction, 4 * index.layout.m0) + 1
        candidates = .allocate(capacity: candidateCapacity)
        self.txn = txn.handle
        if !meta.checksummed { addChecksums() }
    }

    deinit { candidates.deallocate() }

    /// Gives every live slot of an index written before vjsearch kept checksums its checksum, once: the flag
    /// set here reaches the file with this write.
    private func addChecksums() {
        for s in 0..<UInt32(meta.slotCount) where graph.levelWord(s) != SlotRecord.free {
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
    ///
    /// A slot from the free list is reused: a tombstone keeps its level and is relinked in place (hnswlib's
    /// `replace_deleted`), with its old neighbours re-selecting theirs. Only the new nodes' neighbourhoods and
    /// the nodes that lost an in-link are touched; nothing walks the whole graph.
    func insert(ids: [UInt64], vectors: UnsafeBufferPointer<Float>, _ txn: borrowing Transaction) throws {
        let dimension = store.layout.dimension
        var replaced: [UInt64] = []
        for id in ids where try slot(of: id, txn) != nil { replaced.append(id) }
        if !replaced.isEmpty { _ = try delete(ids: replaced, txn) }

        for (i, id) in ids.enumerated() {
            let free = try takeFreeSlot(txn)
            let slot = free ?? UInt32(meta.slotCount)
            let tombstone = free.map { graph.isTombstone($0) } ?? false
            let level: Int
            var oldLinks: [[UInt32]] = []
            if tombstone {
                level = Int(graph.level(slot))
                oldLinks = try (0...level).map { layer in try neighbours(slot, layer: layer) }
                store.updateMeta { $0.tombstoneCount -= 1 }
            } else {
                if free == nil { store.updateMeta { $0.slotCount += 1 } }
                level = randomLevel()
            }
            let vector = store.writableVector(slot)
            vector.update(from: vectors.baseAddress! + i * dimension, count: dimension)
            if store.layout.metric == .cosine { Distance.normalize(vector, dimension) }
            if store.layout.storage == .int8 { Quantizer.encode(vector, dimension: dimension, into: store.writableCode(slot)) }
            let record = store.writableSlot(slot)
            record.storeBytes(of: id, as: UInt64.self)
            record.storeBytes(of: UInt32(level), toByteOffset: 8, as: UInt32.self)
            graph.seal(slot)
            if !tombstone {
                store.writableLinks0(slot)[0] = 0
                store.resetUpper(slot, level: level)
            }
            var slotValue = slot.littleEndian
            try withUnsafeBytes(of: &slotValue) { try txn.put(databases.ids, key: id, value: $0) }
            store.updateMeta { $0.liveCount += 1 }
            try link(slot, level: level)
            for (layer, list) in oldLinks.enumerated() {
                // Only the old neighbours whose lists still point here held an edge meant for the old vector.
                for n in list where n != slot {
                    if try neighbours(n, layer: layer).contains(slot) { try reselect(n, layer: layer, extra: list) }
                }
            }
            lostInLink.insert(slot)
        }
        try reconnect()
    }

    /// The neighbours of `slot` on `layer`, copied.
    func neighbours(_ slot: UInt32, layer: Int) throws -> [UInt32] {
        let list = try graph.links(slot, layer: layer)
        return (0..<Int(list[0])).map { list[$0 + 1] }
    }

    /// Takes the lowest slot off the free list: a tombstone or a never-linked free slot.
    private func takeFreeSlot(_ txn: borrowing Transaction) throws -> UInt32? {
        var found: UInt32?
        try txn.forEach(databases.free) { key, _ in
            if key.count == 4 { found = UInt32(bigEndian: key.loadUnaligned(as: UInt32.self)) }
            return false
        }
        if let found {
            try txn.delete(databases.free, key: found)
            guard Int(found) < meta.slotCount, !graph.isLive(found) else {
                throw IndexError.corrupt(path: path, reason: "free list holds slot \(found), which is in use")
            }
        }
        return found
    }

    /// hnswlib's `addPoint` for a slot whose vector and level are written: links it on every layer. A reused
    /// tombstone keeps its old lists until each layer's new one is chosen, so that the search can still pass
    /// through it (it may be the entry point).
    private func link(_ slot: UInt32, level: Int) throws {
        let g = graph
        let m = meta
        if m.entry == Meta.noEntry || (m.entry == slot && m.liveCount == 1 && m.tombstoneCount == 0) {
            // The only node: a reused tombstone drops the lists it had.
            store.writableLinks0(slot)[0] = 0
            store.resetUpper(slot, level: level)
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
            (entry, entryDistance) = try g.descend(
                ExactWalk(query: query), entry: entry, distance: entryDistance, from: m.maxLevel, to: level + 1)
        }
        var layer = min(level, m.maxLevel)
        while layer >= 0 {
            try g.searchLayer(
                ExactWalk(query: query), entry: entry, distance: entryDistance, ef: m.parameters.efConstruction, layer: layer,
                slots: m.slotCount, scratch: &scratch)
            scratch.sortResults()
            var found = 0
            ensureCandidateCapacity(scratch.sortedCount)
            for j in 0..<scratch.sortedCount where scratch.sorted[j].slot != slot {
                candidates[found] = scratch.sorted[j]
                found += 1
            }
            if found > 0 {
                entry = candidates[0].slot
                entryDistance = candidates[0].distance
            }
            let kept = g.selectNeighbours(candidates, count: found, limit: m.parameters.m)
            let list = try store.writableLinks(slot, layer: layer)
            for j in 0..<Int(list[0]) { lostInLink.insert(list[j + 1]) }
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

    /// Adds `to` to the list of `from` on `layer`, pruning a full list with the heuristic. Every node pruned
    /// away (possibly `to` itself) is noted in `lostInLink`.
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
        // The selection compacts the kept ones to the front and leaves no trace of the others: compare lists.
        func isKept(_ slot: UInt32) -> Bool {
            for j in 0..<kept where candidates[j].slot == slot { return true }
            return false
        }
        if !isKept(to) { lostInLink.insert(to) }
        for j in 0..<count where !isKept(list[j + 1]) { lostInLink.insert(list[j + 1]) }
        list[0] = UInt32(kept)
        for j in 0..<kept { list[j + 1] = candidates[j].slot }
    }

    /// Re-selects the neighbours of `slot` on `layer`, with the heuristic, from its own and `extra`, measured
    /// afresh: for the old neighbours of a slot whose vector was replaced. Nodes it drops go to `lostInLink`.
    func reselect(_ slot: UInt32, layer: Int, extra: [UInt32]) throws {
        let g = graph
        guard g.level(slot) != SlotRecord.free, Int(g.level(slot)) >= layer else { return }
        let current = try neighbours(slot, layer: layer)
        let base = g.vector(slot)
        var n = 0
        var seen = Set<UInt32>([slot])
        for other in current + extra where seen.insert(other).inserted && Int(g.level(other)) >= layer {
            ensureCandidateCapacity(n + 1)
            candidates[n] = Candidate(distance: g.distance(base, g.vector(other)), slot: other)
            n += 1
        }
        sortCandidates(candidates, count: n)
        let kept = g.selectNeighbours(candidates, count: n, limit: g.maxDegree(layer))
        let list = try store.writableLinks(slot, layer: layer)
        list[0] = UInt32(kept)
        for j in 0..<kept { list[j + 1] = candidates[j].slot }
        let keptSet = Set((0..<kept).map { candidates[$0].slot })
        for other in current where !keptSet.contains(other) { lostInLink.insert(other) }
    }

    /// Keeps, around what this write changed, the invariant that every live node other than the entry point
    /// has an in-link on layer 0: each node in `lostInLink` that no neighbour links back to is searched for
    /// from the entry point, and linked from the closest reached node with room (or, failing that, the
    /// closest) when the search did not pass it.
    ///
    /// Full reachability from the entry point is what `verify` proves, in O(N); a write stays O(what changed).
    func reconnect() throws {
        let m = meta
        guard m.entry != Meta.noEntry else { return }
        let g = graph
        // A relink below can push another node out of a full list; that one is checked in the next round.
        var rounds = 0
        while !lostInLink.isEmpty && rounds < 8 {
            rounds += 1
            let pending = lostInLink.sorted()
            lostInLink.removeAll()
            for s in pending where s != m.entry && g.isLive(s) { try reconnect(s, m, g) }
        }
        lostInLink.removeAll()
    }

    /// Links `s` from the closest reached node with room (or the closest) unless a neighbour links back to it or
    /// a search from the entry point passes it.
    private func reconnect(_ s: UInt32, _ m: Meta, _ g: Graph) throws {
        if hasBackLink(s, g) { return }
        let query = g.vector(s)
        let entryDistance = g.distance(query, g.vector(m.entry))
        let (start, startDistance) = try g.descend(
            ExactWalk(query: query), entry: m.entry, distance: entryDistance, from: m.maxLevel, to: 1)
        try g.searchLayer(
            ExactWalk(query: query), entry: start, distance: startDistance, ef: m.parameters.efConstruction, layer: 0,
            slots: m.slotCount, scratch: &scratch)
        if start != s && scratch.visited.contains(s) { return }  // a node the search expanded links to it
        scratch.sortResults()
        var parent: Candidate?
        for j in 0..<scratch.sortedCount where scratch.sorted[j].slot != s {
            let c = scratch.sorted[j]
            // A node the search reached already links to it (and a second link would be a duplicate).
            if links(c.slot, to: s, g) { return }
            if parent == nil { parent = c }
            if Int(g.links0(c.slot)[0]) < g.m0 {
                parent = c
                break
            }
        }
        guard let parent else { return }
        let list = store.writableLinks0(parent.slot)
        let count = Int(list[0])
        if count < g.m0 {
            list[count + 1] = s
            list[0] = UInt32(count + 1)
        } else {
            lostInLink.insert(list[count])  // checked in the next round
            list[count] = s  // replaces the farthest kept neighbour
        }
    }

    /// Whether `slot` is anchored two links deep: a neighbour links back to it, and that neighbour is in turn
    /// linked from one of its own neighbours other than `slot`. A single back-link would also accept a pair of
    /// nodes that only link to each other, an island that the graph's pruning does make now and then.
    private func hasBackLink(_ slot: UInt32, _ g: Graph) -> Bool {
        let list = g.links0(slot)
        for j in 1..<(Int(list[0]) + 1) {
            let neighbour = list[j]
            if links(neighbour, to: slot, g) && linkedFromOtherThan(slot, to: neighbour, g) { return true }
        }
        return false
    }

    private func links(_ from: UInt32, to: UInt32, _ g: Graph) -> Bool {
        let list = g.links0(from)
        for k in 1..<(Int(list[0]) + 1) where list[k] == to { return true }
        return false
    }

    /// Whether a neighbour of `node` other than `excluded` links to it.
    private func linkedFromOtherThan(_ excluded: UInt32, to node: UInt32, _ g: Graph) -> Bool {
        let list = g.links0(node)
        for k in 1..<(Int(list[0]) + 1) where list[k] != excluded && links(list[k], to: node, g) { return true }
        return false
    }

    /// Writes everything into the transaction.
    func finish(_ txn: borrowing Transaction) throws {
        try store.flush(txn)
    }
}
