import CLMDB

/// Build parameters of an HNSW graph (Malkov & Yashunin, arXiv 1603.09320; hnswlib's names).
public struct HNSWParameters: Sendable, Equatable {
    /// Links per node on layers above 0; layer 0 keeps `2·m`.
    public var m: Int
    /// Candidate list size while inserting.
    public var efConstruction: Int
    /// Default candidate list size while searching.
    public var ef: Int

    public init(m: Int = 16, efConstruction: Int = 200, ef: Int = 64) {
        self.m = m
        self.efConstruction = efConstruction
        self.ef = ef
    }
}

/// The index's metadata record: fixed settings plus the counters each commit updates.
///
/// Stored as sixteen little-endian `UInt64` words under the key `meta` of `<name>.meta`.
struct Meta: Equatable {
    static let magic: UInt64 = 0x3130_5753_4E48_4A56  // "VJHNSW01"
    static let version: UInt64 = 1
    static let byteCount = 16 * 8
    static let noEntry = UInt32.max

    var dimension: Int
    var metric: Metric
    var parameters: HNSWParameters
    var vectorShift: Int
    var graphShift: Int
    /// Slots ever used: every slot below this is live or on the free list.
    var slotCount: Int
    var liveCount: Int
    var entry: UInt32
    var maxLevel: Int
    var rngState: UInt64
    /// Every live slot record holds the CRC-32C of its id and vector (`Flags.checksummed`). Indexes written
    /// before vjsearch kept checksums lack it until their next write, which adds them all.
    var checksummed: Bool
    /// Deleted slots still in the graph (tombstones): searches walk through them but never return them, and an
    /// insert reuses them. Stored with `Flags.tombstones` set while nonzero, so that builds that do not know
    /// tombstones refuse the index instead of returning deleted vectors.
    var tombstoneCount: Int
    /// How the graph walk reads vectors; set when the index is created.
    var storage: VectorStorage

    enum Flags {
        static let checksummed: UInt64 = 1
        static let tombstones: UInt64 = 2
        /// `VectorStorage.int8`: an int8 code per vector beside the f32 vector, in `<name>.codes`.
        static let int8: UInt64 = 4
        static let known: UInt64 = checksummed | tombstones | int8
    }

    init(dimension: Int, metric: Metric, parameters: HNSWParameters, storage: VectorStorage = .f32) {
        self.dimension = dimension
        self.storage = storage
        self.metric = metric
        self.parameters = parameters
        // Small chunks, because a write copies every chunk it touches and an insert touches the link records of
        // some thousand neighbours spread over the graph: 64 slots of links (8.4 KB at m = 16) and at most 64 KiB
        // of vectors (at least 64 slots). Indexes made before keep the larger chunks their metadata records.
        var shift = 6
        while (1 << (shift + 1)) * dimension * 4 <= 64 << 10 && shift < 16 { shift += 1 }
        vectorShift = shift
        graphShift = 6
        slotCount = 0
        liveCount = 0
        entry = Meta.noEntry
        maxLevel = -1
        rngState = 0x9E37_79B9_7F4A_7C15
        checksummed = true
        tombstoneCount = 0
    }

    func encode() -> [UInt64] {
        [Meta.magic, Meta.version, UInt64(dimension), UInt64(metric.rawValue), UInt64(parameters.m),
         UInt64(parameters.efConstruction), UInt64(parameters.ef), UInt64(vectorShift), UInt64(graphShift),
         UInt64(slotCount), UInt64(liveCount), UInt64(entry), UInt64(bitPattern: Int64(maxLevel)), rngState,
         (checksummed ? Flags.checksummed : 0) | (tombstoneCount > 0 ? Flags.tombstones : 0) | (storage == .int8 ? Flags.int8 : 0),
         UInt64(tombstoneCount)]
    }

    /// Decodes and validates the record; `path` names the file in errors.
    init(bytes: UnsafeRawBufferPointer, path: String) throws {
        guard bytes.count == Meta.byteCount else {
            throw IndexError.corrupt(path: path, reason: "metadata record is \(bytes.count) bytes, expected \(Meta.byteCount)")
        }
        let w = (0..<16).map { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        guard w[0] == Meta.magic else { throw IndexError.corrupt(path: path, reason: "metadata has a bad magic number") }
        guard w[1] == Meta.version else {
            throw IndexError.corrupt(path: path, reason: "metadata version \(w[1]), this build reads \(Meta.version)")
        }
        guard let metric = Metric(rawValue: UInt32(truncatingIfNeeded: w[3])), w[3] <= 2 else {
            throw IndexError.corrupt(path: path, reason: "unknown metric \(w[3])")
        }
        guard (1...65536).contains(w[2]), (2...1024).contains(w[4]), (1...100_000).contains(w[5]),
              (1...100_000).contains(w[6]), (0...20).contains(w[7]), (0...20).contains(w[8])
        else { throw IndexError.corrupt(path: path, reason: "metadata parameters out of range") }
        dimension = Int(w[2])
        self.metric = metric
        parameters = HNSWParameters(m: Int(w[4]), efConstruction: Int(w[5]), ef: Int(w[6]))
        vectorShift = Int(w[7])
        graphShift = Int(w[8])
        guard w[9] < UInt64(UInt32.max), w[10] <= w[9] else {
            throw IndexError.corrupt(path: path, reason: "metadata counts out of range (\(w[10]) live of \(w[9]) slots)")
        }
        slotCount = Int(w[9])
        liveCount = Int(w[10])
        let level = Int64(bitPattern: w[12])
        guard w[11] == UInt64(Meta.noEntry) || w[11] < w[9], (-1...64).contains(level),
              (w[11] == UInt64(Meta.noEntry)) == (level == -1)
        else { throw IndexError.corrupt(path: path, reason: "metadata entry point out of range") }
        entry = UInt32(w[11])
        maxLevel = Int(level)
        rngState = w[13]
        guard w[14] & ~Flags.known == 0 else {
            throw IndexError.corrupt(path: path, reason: "metadata flags \(w[14]) include ones this build does not know")
        }
        checksummed = w[14] & Flags.checksummed != 0
        guard (w[14] & Flags.tombstones != 0) == (w[15] != 0), w[15] <= w[9] - w[10] else {
            throw IndexError.corrupt(path: path, reason: "metadata counts \(w[15]) deleted slots, with \(w[9] - w[10]) not live")
        }
        tombstoneCount = Int(w[15])
        storage = w[14] & Flags.int8 != 0 ? .int8 : .f32
        if storage == .int8 && metric == .l2 {
            throw IndexError.corrupt(path: path, reason: "metadata asks for int8 codes under the l2 metric, which has none")
        }
    }
}

/// Record sizes derived from the metadata.
struct Layout {
    let dimension: Int
    let metric: Metric
    let m: Int
    let m0: Int
    let vectorShift: Int
    let graphShift: Int
    let storage: VectorStorage

    init(_ meta: Meta) {
        storage = meta.storage
        dimension = meta.dimension
        metric = meta.metric
        m = meta.parameters.m
        m0 = 2 * meta.parameters.m
        vectorShift = meta.vectorShift
        graphShift = meta.graphShift
    }

    var vectorChunkBytes: Int { (1 << vectorShift) * dimension * 4 }
    /// Per slot in int8 storage: the scale (`Float`), then `dimension` int8 values, padded to 4 bytes.
    var codeBytes: Int { Quantizer.codeBytes(dimension: dimension) }
    /// Code chunks hold as many slots as vector chunks, so both share `vectorShift`.
    var codeChunkBytes: Int { (1 << vectorShift) * codeBytes }
    var linkChunkBytes: Int { (1 << graphShift) * (m0 + 1) * 4 }
    /// Per slot: external id (`UInt64`), level (`UInt32`, `UInt32.max` when free) and the CRC-32C of the id's
    /// eight little-endian bytes followed by the stored vector (`UInt32`; 0 in indexes without `Meta.checksummed`).
    var slotChunkBytes: Int { (1 << graphShift) * SlotRecord.size }
    func upperWords(level: Int) -> Int { level * (m + 1) }

    func vectorChunks(slots: Int) -> Int { (slots + (1 << vectorShift) - 1) >> vectorShift }
    func graphChunks(slots: Int) -> Int { (slots + (1 << graphShift) - 1) >> graphShift }
}

/// A slot record's level word: the node's top layer; `free` for a slot in no graph; the top layer with
/// `deleted` set for a tombstone, a deleted node that stays in the graph until an insert reuses its slot.
enum SlotRecord {
    static let size = 16
    static let free = UInt32.max
    static let deleted: UInt32 = 0x8000_0000
}

/// The named databases of one index, all prefixed by its name.
struct Databases {
    /// `meta` → `Meta`.
    let meta: Database
    /// Chunk number (big-endian `UInt32`) → `2^vectorShift` vectors.
    let vectors: Database
    /// Chunk number → `2^graphShift` layer-0 link records `[count, m0 × slot]`.
    let links: Database
    /// Chunk number → `2^graphShift` slot records.
    let slots: Database
    /// Slot (big-endian `UInt32`) → `level × [count, m × slot]` for layers 1…level.
    let upper: Database
    /// External id (big-endian `UInt64`) → slot (`UInt32`).
    let ids: Database
    /// Free slot (big-endian `UInt32`) → empty.
    let free: Database
    /// Chunk number → `2^vectorShift` int8 codes (`Layout.codeBytes` each); only in int8 storage.
    let codes: Database?

    static let suffixes = ["meta", "vectors", "links", "slots", "upper", "ids", "free"]

    /// Opens the databases; `codes` is created only with `createCodes`, and opened when it exists.
    init?(environment: Environment, name: String, create: Bool, createCodes: Bool = false, in txn: borrowing Transaction) throws {
        var handles: [Database] = []
        for suffix in Databases.suffixes {
            guard let db = try environment.database(named: "\(name).\(suffix)", create: create, in: txn) else { return nil }
            handles.append(db)
        }
        meta = handles[0]
        vectors = handles[1]
        links = handles[2]
        slots = handles[3]
        upper = handles[4]
        ids = handles[5]
        free = handles[6]
        codes = try environment.database(named: "\(name).codes", create: create && createCodes, in: txn)
    }
}

/// Raw access to one snapshot of the graph: chunk tables of pointers into the LMDB map or, for chunks a
/// writer changed, into owned copies. A plain value of pointers so that the search loop touches no class.
///
/// Slot `s` lives in chunk `s >> shift` at offset `s & (2^shift − 1)`.
struct Graph {
    let dimension: Int
    let metric: Metric
    let m: Int
    let m0: Int
    let vectorShift: Int
    let graphShift: Int
    let vectorChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let linkChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let slotChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Per slot: its upper-layer record, loaded on first use.
    let upper: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
    /// Per vector chunk: its int8 codes (int8 storage only).
    let codeChunks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let codeBytes: Int
    /// Copies of misaligned upper records, freed by the owning `GraphStore`.
    let alignedCopies: UnsafeMutablePointer<[UnsafeMutablePointer<UInt32>]>
    let txn: OpaquePointer
    let upperDB: MDB_dbi
    let path: String
    /// Slots the tables hold: searches refuse links beyond it (a damaged file) instead of reading wild memory.
    let slotLimit: Int
    /// Slot records carry checksums (`Meta.checksummed`).
    let checksummed: Bool
    /// Some slots are tombstones (`Meta.tombstoneCount`), so searches must check each result.
    let hasTombstones: Bool

    @inline(__always)
    func vector(_ slot: UInt32) -> UnsafePointer<Float> {
        let s = Int(slot)
        let base = vectorChunks[s >> vectorShift].unsafelyUnwrapped.assumingMemoryBound(to: Float.self)
        return UnsafePointer(base + (s & ((1 << vectorShift) - 1)) * dimension)
    }

    /// The int8 code of `slot`: its scale (`Float`), then `dimension` int8 values.
    @inline(__always)
    func code(_ slot: UInt32) -> UnsafeRawPointer {
        let s = Int(slot)
        return UnsafeRawPointer(codeChunks[s >> vectorShift].unsafelyUnwrapped) + (s & ((1 << vectorShift) - 1)) * codeBytes
    }

    /// The distance from the f32 `query` to `slot`'s int8 code: `1 − q·(scale · code)`. Only the stored side is
    /// quantised, which halves the error of quantising both.
    @inline(__always)
    func codeDistance(_ query: UnsafePointer<Float>, _ slot: UInt32) -> Float {
        let c = code(slot)
        return 1 - c.load(as: Float.self) * Distance.dot(query, codes: c + 4, dimension)
    }

    /// The layer-0 record of `slot`: `[count, m0 × neighbour]`.
    @inline(__always)
    func links0(_ slot: UInt32) -> UnsafeMutablePointer<UInt32> {
        let s = Int(slot)
        let base = linkChunks[s >> graphShift].unsafelyUnwrapped.assumingMemoryBound(to: UInt32.self)
        return base + (s & ((1 << graphShift) - 1)) * (m0 + 1)
    }

    @inline(__always)
    func slotRecord(_ slot: UInt32) -> UnsafeMutableRawPointer {
        let s = Int(slot)
        return slotChunks[s >> graphShift].unsafelyUnwrapped + (s & ((1 << graphShift) - 1)) * SlotRecord.size
    }

    @inline(__always)
    func id(_ slot: UInt32) -> UInt64 { slotRecord(slot).load(as: UInt64.self) }

    /// The level word of `slot` as stored (see `SlotRecord`).
    @inline(__always)
    func levelWord(_ slot: UInt32) -> UInt32 { slotRecord(slot).load(fromByteOffset: 8, as: UInt32.self) }

    /// The top layer of `slot`, live or tombstone, or `SlotRecord.free`.
    @inline(__always)
    func level(_ slot: UInt32) -> UInt32 {
        let word = levelWord(slot)
        return word == SlotRecord.free ? word : word & ~SlotRecord.deleted
    }

    /// Whether `slot` holds a live node (neither free nor a tombstone).
    @inline(__always)
    func isLive(_ slot: UInt32) -> Bool { levelWord(slot) & SlotRecord.deleted == 0 }

    /// Whether `slot` is a tombstone: deleted, but still linked in the graph.
    @inline(__always)
    func isTombstone(_ slot: UInt32) -> Bool {
        let word = levelWord(slot)
        return word != SlotRecord.free && word & SlotRecord.deleted != 0
    }

    /// Whether a search may return `slot`: live, and allowed by `filter`.
    @inline(__always)
    func admits(_ slot: UInt32, _ filter: Set<UInt64>?) -> Bool {
        if hasTombstones && !isLive(slot) { return false }
        return filter == nil || filter!.contains(id(slot))
    }

    /// The record of `slot` on `layer`: `[count, maxDegree(layer) × neighbour]`.
    @inline(__always)
    func links(_ slot: UInt32, layer: Int) throws -> UnsafeMutablePointer<UInt32> {
        if layer == 0 { return links0(slot) }
        return try upperRecord(slot) + (layer - 1) * (m + 1)
    }

    func maxDegree(_ layer: Int) -> Int { layer == 0 ? m0 : m }

    /// The CRC-32C of `slot`'s id (eight little-endian bytes) followed by its stored vector.
    func computedChecksum(_ slot: UInt32) -> UInt32 {
        var id = id(slot).littleEndian
        let head = withUnsafeBytes(of: &id) { CRC32C.checksum($0) }
        return CRC32C.checksum(UnsafeRawBufferPointer(start: vector(slot), count: dimension * 4), continuing: head)
    }

    /// The checksum the slot record holds.
    func storedChecksum(_ slot: UInt32) -> UInt32 { slotRecord(slot).load(fromByteOffset: 12, as: UInt32.self) }

    /// Stores the checksum of `slot`'s id and vector in its record, which must be writable (a writer's copy).
    func seal(_ slot: UInt32) {
        slotRecord(slot).storeBytes(of: computedChecksum(slot), toByteOffset: 12, as: UInt32.self)
    }

    /// Whether `slot`'s id and vector still match the checksum in its record (always, in an index without them).
    func isIntact(_ slot: UInt32) -> Bool { !checksummed || computedChecksum(slot) == storedChecksum(slot) }

    /// Throws when `slot`'s id or vector no longer matches its checksum: a bit changed on disk.
    func checkIntact(_ slot: UInt32) throws {
        guard !isIntact(slot) else { return }
        throw damaged("the vector in slot \(slot) fails its checksum (changed on disk)")
    }

    /// The neighbour count of a links record, checked against the layer's degree.
    @inline(__always)
    func checkedCount(_ list: UnsafeMutablePointer<UInt32>, slot: UInt32, layer: Int) throws -> Int {
        let count = Int(list[0])
        guard count <= maxDegree(layer) else { throw damaged("slot \(slot) has \(count) links on layer \(layer), at most \(maxDegree(layer))") }
        return count
    }

    /// A neighbour read from a links record, checked against the slots that exist.
    @inline(__always)
    func checked(_ neighbour: UInt32, of slot: UInt32) throws -> UInt32 {
        guard Int(neighbour) < slotLimit else { throw damaged("slot \(slot) links to slot \(neighbour), past the last (\(slotLimit - 1))") }
        return neighbour
    }

    func damaged(_ reason: String) -> IndexError {
        .corrupt(path: path, reason: reason + "; run `vjsearch verify`")
    }

    /// Loads (once) the upper-layer record of `slot` from the map.
    func upperRecord(_ slot: UInt32) throws -> UnsafeMutablePointer<UInt32> {
        if let record = upper[Int(slot)] { return record }
        var be = slot.bigEndian
        var v = MDB_val()
        let rc = withUnsafeMutableBytes(of: &be) { key -> Int32 in
            var k = MDB_val(mv_size: 4, mv_data: key.baseAddress)
            return mdb_get(txn, upperDB, &k, &v)
        }
        if rc == MDB_NOTFOUND {
            throw IndexError.corrupt(path: path, reason: "slot \(slot) has no upper-layer links")
        }
        try LMDBError.check(rc)
        let words = Int(level(slot)) * (m + 1)
        guard v.mv_size == words * 4 else {
            throw IndexError.corrupt(path: path, reason: "upper links of slot \(slot) are \(v.mv_size) bytes, expected \(words * 4)")
        }
        // Small LMDB values sit in leaf pages only 2-byte aligned; copy those to read them as UInt32.
        let record: UnsafeMutablePointer<UInt32>
        if Int(bitPattern: v.mv_data) % MemoryLayout<UInt32>.alignment == 0 {
            record = v.mv_data.assumingMemoryBound(to: UInt32.self)
        } else {
            record = .allocate(capacity: words)
            UnsafeMutableRawPointer(record).copyMemory(from: v.mv_data, byteCount: words * 4)
            alignedCopies.pointee.append(record)
        }
        upper[Int(slot)] = record
        return record
    }

    @inline(__always)
    func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        Distance.distance(metric, a, b, dimension)
    }
}
