import Glibc

/// What `HNSWIndex.verify()` found.
public struct VerifyReport: Sendable, CustomStringConvertible {
    /// Live nodes.
    public var nodes = 0
    /// Slots ever used, live or free.
    public var slots = 0
    /// Deleted nodes still in the graph, waiting for an insert to reuse their slots.
    public var tombstones = 0
    /// The highest layer.
    public var maxLevel = -1
    /// Links on all layers.
    public var links = 0
    /// Whether every live vector was checked against its checksum (false in an index written before vjsearch kept
    /// checksums: its next write adds them).
    public var checksummed = false
    /// Each problem found, in words; empty when the index is sound.
    public var problems: [String] = []

    public var isSound: Bool { problems.isEmpty }

    public var description: String {
        var lines = ["nodes \(nodes), slots \(slots), tombstones \(tombstones), max level \(maxLevel), links \(links)"
                     + (checksummed ? ", vectors checksummed" : ", no vector checksums")]
        lines += problems.prefix(50).map { "problem: \($0)" }
        if problems.count > 50 { lines.append("… and \(problems.count - 50) more problems") }
        lines.append(isSound ? "index is sound" : "index has \(problems.count) problems")
        return lines.joined(separator: "\n")
    }
}

extension HNSWIndex {
    /// Checks the whole index in one snapshot: metadata against the records, the id map both ways,
    /// every link (target live, on the right layers, no self-links or duplicates, degree within bounds)
    /// every vector against its checksum, and that every node is reachable on layer 0 from the entry point. Problems are reported, not thrown;
    /// errors thrown are those that keep the check from reading the file at all.
    ///
    /// - Complexity: O(slots · m0 + ids).
    public func verify() throws -> VerifyReport {
        try environment.read { txn in try verify(in: txn) }
    }

    public func verify(in txn: borrowing Transaction) throws -> VerifyReport {
        var report = VerifyReport()
        let meta: Meta
        do {
            meta = try readMeta(txn)
        } catch let error as IndexError {
            report.problems.append("\(error)")
            return report
        }
        report.slots = meta.slotCount
        report.maxLevel = meta.maxLevel
        report.checksummed = meta.checksummed
        let store = GraphStore(layout: layout, databases: databases, path: environment.path, meta: meta)
        do {
            try store.bind(txn, meta: meta)
        } catch let error as IndexError {
            report.problems.append("\(error)")
            return report
        }
        let g = store.graph
        let slotCount = meta.slotCount
        var problems: [String] = []
        func problem(_ text: String) {
            if problems.count < 10_000 { problems.append(text) }
        }

        let code = UnsafeMutableRawPointer.allocate(byteCount: layout.codeBytes, alignment: 16)
        defer { code.deallocate() }
        var live = 0
        var tombstones = 0
        var topLevel = -1
        for s in 0..<UInt32(slotCount) {
            let level = g.level(s)
            if level == SlotRecord.free { continue }
            if g.isLive(s) { live += 1 } else { tombstones += 1 }
            guard level <= 64 else {
                problem("slot \(s) has level \(level)")
                continue
            }
            topLevel = max(topLevel, Int(level))
            if !g.isIntact(s) { problem("slot \(s) (id \(g.id(s))): the vector or id fails its checksum (changed on disk)") }
            if storage == .int8 {
                Quantizer.encode(g.vector(s), dimension: dimension, into: code)
                if memcmp(code, g.code(s), layout.codeBytes) != 0 {
                    problem("slot \(s) (id \(g.id(s))): the int8 code does not match the vector")
                }
            }
            for layer in 0...Int(level) {
                let list: UnsafeMutablePointer<UInt32>
                do {
                    list = try g.links(s, layer: layer)
                } catch let error as IndexError {
                    problem("\(error)")
                    continue
                }
                let count = Int(list[0])
                guard count <= g.maxDegree(layer) else {
                    problem("slot \(s) has \(count) links on layer \(layer), more than \(g.maxDegree(layer))")
                    continue
                }
                report.links += count
                var seen = Set<UInt32>()
                for j in 1..<(count + 1) {
                    let n = list[j]
                    if n == s { problem("slot \(s) links to itself on layer \(layer)") }
                    if !seen.insert(n).inserted { problem("slot \(s) links twice to \(n) on layer \(layer)") }
                    if Int(n) >= slotCount {
                        problem("slot \(s) links to slot \(n) on layer \(layer), beyond \(slotCount)")
                    } else if g.level(n) == SlotRecord.free {
                        problem("slot \(s) links to free slot \(n) on layer \(layer)")
                    } else if Int(g.level(n)) < layer {
                        problem("slot \(s) links to \(n) on layer \(layer), above that node's level \(g.level(n))")
                    }
                }
            }
        }
        report.nodes = live
        report.tombstones = tombstones
        if live != meta.liveCount { problem("metadata counts \(meta.liveCount) nodes, the slots hold \(live)") }
        if tombstones != meta.tombstoneCount {
            problem("metadata counts \(meta.tombstoneCount) tombstones, the slots hold \(tombstones)")
        }
        if topLevel != meta.maxLevel { problem("metadata max level \(meta.maxLevel), the nodes reach \(topLevel)") }
        if live + tombstones > 0 {
            if meta.entry == Meta.noEntry || Int(meta.entry) >= slotCount || g.level(meta.entry) == SlotRecord.free {
                problem("entry point \(meta.entry) is not a node")
            } else if Int(g.level(meta.entry)) != meta.maxLevel {
                problem("entry point \(meta.entry) has level \(g.level(meta.entry)), not the max level \(meta.maxLevel)")
            }
        } else if meta.entry != Meta.noEntry {
            problem("empty index has entry point \(meta.entry)")
        }

        // The id map, both ways.
        var mapped = 0
        try txn.forEach(databases.ids) { key, value in
            mapped += 1
            guard key.count == 8, value.count == 4 else {
                problem("id map record has a \(key.count)-byte key and a \(value.count)-byte value")
                return true
            }
            let id = UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))
            let slot = UInt32(littleEndian: value.loadUnaligned(as: UInt32.self))
            if Int(slot) >= slotCount || !g.isLive(slot) {
                problem("id \(id) maps to slot \(slot), which is not live")
            } else if g.id(slot) != id {
                problem("id \(id) maps to slot \(slot), which holds id \(g.id(slot))")
            }
            return true
        }
        if mapped != live { problem("id map holds \(mapped) ids for \(live) nodes") }
        var freeCount = 0
        try txn.forEach(databases.free) { key, _ in
            freeCount += 1
            if key.count == 4 {
                let slot = UInt32(bigEndian: key.loadUnaligned(as: UInt32.self))
                if Int(slot) >= slotCount || g.isLive(slot) {
                    problem("free list holds slot \(slot), which is live")
                }
            }
            return true
        }
        if freeCount + live != slotCount {
            problem("\(live) live and \(freeCount) free slots do not add up to \(slotCount)")
        }

        // Reachability on layer 0, through tombstones too, only when the links are sane enough to walk.
        if problems.isEmpty && live > 0 {
            var reached = [Bool](repeating: false, count: slotCount)
            var stack = [meta.entry]
            reached[Int(meta.entry)] = true
            var count = g.isLive(meta.entry) ? 1 : 0
            while let s = stack.popLast() {
                let list = g.links0(s)
                for j in 1..<(Int(list[0]) + 1) where !reached[Int(list[j])] {
                    reached[Int(list[j])] = true
                    if g.isLive(list[j]) { count += 1 }
                    stack.append(list[j])
                }
            }
            if count != live {
                let missing = (0..<UInt32(slotCount)).filter { g.isLive($0) && !reached[Int($0)] }
                problem("\(live - count) nodes are unreachable from the entry point, e.g. ids \(missing.prefix(5).map { g.id($0) })")
            }
        }
        report.problems = problems
        return report
    }
}

extension HNSWIndex {
    /// Calls `body` with the id and vector of every live slot whose checksum holds, in slot order, reading only
    /// the slot records and vectors (never a link), so that an index with a damaged graph still gives up its
    /// vectors. In an index without checksums every finite vector passes. Returns how many live slots were
    /// passed over as damaged.
    ///
    /// - Complexity: O(slots · d).
    public func salvage(
        in txn: borrowing Transaction, _ body: (UInt64, UnsafeBufferPointer<Float>) throws -> Void
    ) throws -> Int {
        let meta = try readMeta(txn)
        let store = GraphStore(layout: layout, databases: databases, path: environment.path, meta: meta)
        try store.bind(txn, meta: meta)
        let g = store.graph
        var damaged = 0
        for s in 0..<UInt32(meta.slotCount) where g.isLive(s) {
            let vector = UnsafeBufferPointer(start: g.vector(s), count: dimension)
            guard g.level(s) <= 64, g.isIntact(s), vector.allSatisfy(\.isFinite) else {
                damaged += 1
                continue
            }
            try body(g.id(s), vector)
        }
        return damaged
    }
}
