import CLMDB

/// Owns the chunk tables behind a `Graph` and, for a writer, the copies of every chunk and upper-layer
/// record it changed until `flush` writes them back.
///
/// A reader store is bound to one snapshot at a time (`bind`); a writer store lives for one write call.
final class GraphStore {
    let layout: Layout
    let databases: Databases
    let path: String
    private(set) var meta: Meta

    private var slotCapacity = 0
    private var vectorCapacity = 0
    private var graphCapacity = 0
    /// Slots the tables were bound for: a link past them can only come from damage.
    private var boundSlots = 0
    private var vectorChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?> = .allocate(capacity: 1)
    private var codeChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?> = .allocate(capacity: 1)
    private var linkChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?> = .allocate(capacity: 1)
    private var slotChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?> = .allocate(capacity: 1)
    private var upper: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?> = .allocate(capacity: 1)
    private let alignedCopies: UnsafeMutablePointer<[UnsafeMutablePointer<UInt32>]> = {
        let p = UnsafeMutablePointer<[UnsafeMutablePointer<UInt32>]>.allocate(capacity: 1)
        p.initialize(to: [])
        return p
    }()

    // Writer state: chunks and records owned (copied and possibly changed) by this store.
    private var ownedVectors: [Int: UnsafeMutableRawPointer] = [:]
    private var ownedCodes: [Int: UnsafeMutableRawPointer] = [:]
    private var ownedLinks: [Int: UnsafeMutableRawPointer] = [:]
    private var ownedSlots: [Int: UnsafeMutableRawPointer] = [:]
    private var ownedUpper: [UInt32: UnsafeMutablePointer<UInt32>] = [:]
    private var removedUpper: Set<UInt32> = []
    private var txn: OpaquePointer?

    init(layout: Layout, databases: Databases, path: String, meta: Meta) {
        self.layout = layout
        self.databases = databases
        self.path = path
        self.meta = meta
    }

    deinit {
        releaseOwned()
        vectorChunks.deallocate()
        codeChunks.deallocate()
        linkChunks.deallocate()
        slotChunks.deallocate()
        upper.deallocate()
        alignedCopies.deinitialize(count: 1)
        alignedCopies.deallocate()
    }

    private func releaseOwned() {
        for p in alignedCopies.pointee { p.deallocate() }
        alignedCopies.pointee.removeAll()
        for p in ownedVectors.values { p.deallocate() }
        for p in ownedCodes.values { p.deallocate() }
        for p in ownedLinks.values { p.deallocate() }
        for p in ownedSlots.values { p.deallocate() }
        for p in ownedUpper.values { p.deallocate() }
        ownedVectors = [:]
        ownedCodes = [:]
        ownedLinks = [:]
        ownedSlots = [:]
        ownedUpper = [:]
        removedUpper = []
    }

    /// Points the tables at the chunks of `txn`'s snapshot, with room for `extraSlots` more slots.
    ///
    /// - Complexity: one `mdb_get` per chunk; no vector or link is read.
    func bind(_ txn: borrowing Transaction, meta: Meta, extraSlots: Int = 0) throws {
        releaseOwned()
        self.meta = meta
        self.txn = txn.handle
        let slots = meta.slotCount + extraSlots
        boundSlots = slots
        if slots > slotCapacity || slotCapacity == 0 {
            let capacity = max(slots, 1024, slotCapacity * 3 / 2)
            vectorChunks.deallocate()
            codeChunks.deallocate()
            linkChunks.deallocate()
            slotChunks.deallocate()
            upper.deallocate()
            slotCapacity = capacity
            vectorCapacity = layout.vectorChunks(slots: capacity)
            graphCapacity = layout.graphChunks(slots: capacity)
            vectorChunks = .allocate(capacity: vectorCapacity)
            codeChunks = .allocate(capacity: vectorCapacity)
            linkChunks = .allocate(capacity: graphCapacity)
            slotChunks = .allocate(capacity: graphCapacity)
            upper = .allocate(capacity: slotCapacity)
        }
        vectorChunks.initialize(repeating: nil, count: vectorCapacity)
        codeChunks.initialize(repeating: nil, count: vectorCapacity)
        linkChunks.initialize(repeating: nil, count: graphCapacity)
        slotChunks.initialize(repeating: nil, count: graphCapacity)
        upper.initialize(repeating: nil, count: slotCapacity)
        let vectorCount = layout.vectorChunks(slots: meta.slotCount)
        let graphCount = layout.graphChunks(slots: meta.slotCount)
        try fill(vectorChunks, vectorCount, txn, databases.vectors, bytes: layout.vectorChunkBytes, what: "vector")
        if layout.storage == .int8 {
            guard let codes = databases.codes else {
                throw IndexError.corrupt(path: path, reason: "the int8 codes database is missing")
            }
            try fill(codeChunks, vectorCount, txn, codes, bytes: layout.codeChunkBytes, what: "code")
        }
        try fill(linkChunks, graphCount, txn, databases.links, bytes: layout.linkChunkBytes, what: "link")
        try fill(slotChunks, graphCount, txn, databases.slots, bytes: layout.slotChunkBytes, what: "slot")
    }

    /// Points `table[0..<count]` at chunks `0..<count` of `db`, read in one cursor pass (values stay in the map;
    /// only the B-tree leaves are read), and checks that each is there with the right size.
    private func fill(
        _ table: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ count: Int, _ txn: borrowing Transaction,
        _ db: Database, bytes: Int, what: String
    ) throws {
        var filled = 0
        try txn.forEach(db) { key, value in
            guard key.count == 4 else { throw IndexError.corrupt(path: path, reason: "a \(what) chunk has a \(key.count)-byte key") }
            let chunk = Int(UInt32(bigEndian: key.loadUnaligned(as: UInt32.self)))
            guard chunk < count else { return false }
            guard value.count == bytes, let base = value.baseAddress else {
                throw IndexError.corrupt(path: path, reason: "\(what) chunk \(chunk) is \(value.count) bytes, expected \(bytes)")
            }
            table[chunk] = UnsafeMutableRawPointer(mutating: base)
            filled += 1
            return true
        }
        if filled < count {
            let missing = (0..<count).first { table[$0] == nil } ?? count
            throw IndexError.corrupt(path: path, reason: "\(what) chunk \(missing) is missing")
        }
    }

    /// The pointer view of the bound snapshot. Valid until the next `bind`, `flush` or a table change.
    var graph: Graph {
        Graph(
            dimension: layout.dimension, metric: layout.metric, m: layout.m, m0: layout.m0,
            vectorShift: layout.vectorShift, graphShift: layout.graphShift,
            vectorChunks: vectorChunks, linkChunks: linkChunks, slotChunks: slotChunks, upper: upper,
            codeChunks: codeChunks, codeBytes: layout.codeBytes,
            alignedCopies: alignedCopies, txn: txn!, upperDB: databases.upper.dbi, path: path, slotLimit: boundSlots,
            checksummed: meta.checksummed, hasTombstones: meta.tombstoneCount > 0)
    }

    // MARK: Writing

    func updateMeta(_ body: (inout Meta) -> Void) { body(&meta) }

    /// Copies `chunk` of `table` into an owned buffer (zeroed when the chunk is new) unless already owned.
    private func own(
        _ table: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ owned: inout [Int: UnsafeMutableRawPointer],
        _ chunk: Int, bytes: Int
    ) -> UnsafeMutableRawPointer {
        if let copy = owned[chunk] { return copy }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        if let source = table[chunk] {
            copy.copyMemory(from: source, byteCount: bytes)
        } else {
            copy.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        }
        owned[chunk] = copy
        table[chunk] = copy
        return copy
    }

    func writableVector(_ slot: UInt32) -> UnsafeMutablePointer<Float> {
        let s = Int(slot)
        let chunk = own(vectorChunks, &ownedVectors, s >> layout.vectorShift, bytes: layout.vectorChunkBytes)
        return chunk.assumingMemoryBound(to: Float.self) + (s & ((1 << layout.vectorShift) - 1)) * layout.dimension
    }

    /// The code of `slot`, writable (int8 storage only).
    func writableCode(_ slot: UInt32) -> UnsafeMutableRawPointer {
        let s = Int(slot)
        let chunk = own(codeChunks, &ownedCodes, s >> layout.vectorShift, bytes: layout.codeChunkBytes)
        return chunk + (s & ((1 << layout.vectorShift) - 1)) * layout.codeBytes
    }

    func writableLinks0(_ slot: UInt32) -> UnsafeMutablePointer<UInt32> {
        let s = Int(slot)
        let chunk = own(linkChunks, &ownedLinks, s >> layout.graphShift, bytes: layout.linkChunkBytes)
        return chunk.assumingMemoryBound(to: UInt32.self) + (s & ((1 << layout.graphShift) - 1)) * (layout.m0 + 1)
    }

    func writableSlot(_ slot: UInt32) -> UnsafeMutableRawPointer {
        let s = Int(slot)
        let chunk = own(slotChunks, &ownedSlots, s >> layout.graphShift, bytes: layout.slotChunkBytes)
        return chunk + (s & ((1 << layout.graphShift) - 1)) * SlotRecord.size
    }

    /// The layer record of `slot`, copied so that it can be changed.
    func writableLinks(_ slot: UInt32, layer: Int) throws -> UnsafeMutablePointer<UInt32> {
        if layer == 0 { return writableLinks0(slot) }
        let record: UnsafeMutablePointer<UInt32>
        if let owned = ownedUpper[slot] {
            record = owned
        } else {
            let source = try graph.upperRecord(slot)
            let words = layout.upperWords(level: Int(graph.level(slot)))
            record = .allocate(capacity: words)
            record.initialize(from: source, count: words)
            ownedUpper[slot] = record
            upper[Int(slot)] = record
        }
        return record + (layer - 1) * (layout.m + 1)
    }

    /// Gives `slot` empty upper layers 1…`level` (none when `level` is 0).
    func resetUpper(_ slot: UInt32, level: Int) {
        if let old = ownedUpper.removeValue(forKey: slot) { old.deallocate() }
        upper[Int(slot)] = nil
        if level == 0 {
            removedUpper.insert(slot)
            return
        }
        removedUpper.remove(slot)
        let words = layout.upperWords(level: level)
        let record = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
        record.initialize(repeating: 0, count: words)
        ownedUpper[slot] = record
        upper[Int(slot)] = record
    }

    /// Writes every owned chunk and record and the metadata into `txn`, then drops the copies.
    func flush(_ txn: borrowing Transaction) throws {
        for (chunk, data) in ownedVectors.sorted(by: { $0.key < $1.key }) {
            let target = try txn.reserve(databases.vectors, key: UInt32(chunk), count: layout.vectorChunkBytes)
            target.baseAddress!.copyMemory(from: data, byteCount: layout.vectorChunkBytes)
        }
        if !ownedCodes.isEmpty, let codes = databases.codes {
            for (chunk, data) in ownedCodes.sorted(by: { $0.key < $1.key }) {
                let target = try txn.reserve(codes, key: UInt32(chunk), count: layout.codeChunkBytes)
                target.baseAddress!.copyMemory(from: data, byteCount: layout.codeChunkBytes)
            }
        }
        for (chunk, data) in ownedLinks.sorted(by: { $0.key < $1.key }) {
            let target = try txn.reserve(databases.links, key: UInt32(chunk), count: layout.linkChunkBytes)
            target.baseAddress!.copyMemory(from: data, byteCount: layout.linkChunkBytes)
        }
        for (chunk, data) in ownedSlots.sorted(by: { $0.key < $1.key }) {
            let target = try txn.reserve(databases.slots, key: UInt32(chunk), count: layout.slotChunkBytes)
            target.baseAddress!.copyMemory(from: data, byteCount: layout.slotChunkBytes)
        }
        for slot in removedUpper.sorted() {
            try txn.delete(databases.upper, key: slot)
        }
        let g = graph
        for (slot, record) in ownedUpper.sorted(by: { $0.key < $1.key }) {
            let bytes = layout.upperWords(level: Int(g.level(slot))) * 4
            try txn.put(databases.upper, key: slot, value: UnsafeRawBufferPointer(start: record, count: bytes))
        }
        try writeMeta(txn)
        releaseOwned()
        self.txn = nil
    }

    func writeMeta(_ txn: borrowing Transaction) throws {
        let words = meta.encode().map { $0.littleEndian }
        try words.withUnsafeBytes { value in
            try Array("meta".utf8).withUnsafeBytes { key in try txn.put(databases.meta, key: key, value: value) }
        }
    }
}
