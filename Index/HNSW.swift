/// One search hit.
public struct SearchResult: Sendable, Equatable {
    public let id: UInt64
    /// Under the index's metric: `1 − cos` for cosine, `1 − a·b` for inner product, squared L2 for l2.
    public let distance: Float

    public init(id: UInt64, distance: Float) {
        self.id = id
        self.distance = distance
    }
}

/// The fixed settings of an index.
public struct IndexSettings: Sendable, Equatable {
    public var dimension: Int
    public var metric: Metric
    public var parameters: HNSWParameters
    public var storage: VectorStorage

    public init(
        dimension: Int, metric: Metric = .cosine, parameters: HNSWParameters = HNSWParameters(), storage: VectorStorage = .f32
    ) {
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
        self.storage = storage
    }
}

/// An HNSW vector index (Malkov & Yashunin, arXiv 1603.09320) stored in LMDB.
///
/// Ids are `UInt64`; vectors are `Float` of a fixed dimension. The graph, the vectors and the metadata
/// live in named databases `<name>.*` of an `Environment`, so an index can share its environment (and its
/// write transactions) with other data. Opening reads only the metadata; searches read links and vectors
/// straight from the memory map, in fixed-size chunks addressed by dense internal slots.
///
/// Searches run on any thread, concurrently with one writer; each sees a committed snapshot.
public final class HNSWIndex: @unchecked Sendable {
    public let environment: Environment
    public let name: String
    public let dimension: Int
    public let metric: Metric
    public let parameters: HNSWParameters
    /// How the graph walk reads vectors, chosen when the index was created.
    public let storage: VectorStorage
    let layout: Layout
    let databases: Databases
    private let poolLock = PlainLock()
    private var idle: [Searcher] = []

    /// Opens the index `name` in `environment`; with `settings`, creates it when absent.
    ///
    /// An existing index must match `settings`' dimension, metric and `m`.
    public init(environment: Environment, name: String = "hnsw", creating settings: IndexSettings? = nil) throws {
        self.environment = environment
        self.name = name
        let path = environment.path
        let (databases, meta): (Databases, Meta)
        if let settings {
            guard settings.dimension > 0, (2...1024).contains(settings.parameters.m), settings.parameters.efConstruction >= 1,
                  settings.parameters.ef >= 1
            else { throw IndexError.invalidArgument("index settings out of range: \(settings)") }
            guard settings.storage == .f32 || settings.metric != .l2 else {
                throw IndexError.invalidArgument("int8 storage needs the cosine or inner-product metric, not l2")
            }
            (databases, meta) = try environment.write { txn in
                guard let databases = try Databases(
                    environment: environment, name: name, create: true, createCodes: settings.storage == .int8, in: txn)
                else {
                    throw IndexError.notAnIndex(path: path, name: name)
                }
                if let existing = try Self.readMeta(txn, databases.meta, path: path, name: name) {
                    guard existing.dimension == settings.dimension, existing.metric == settings.metric,
                          existing.parameters.m == settings.parameters.m, existing.storage == settings.storage
                    else {
                        throw IndexError.incompatible(
                            path: path,
                            reason: "index '\(name)' holds \(existing.dimension)-d \(existing.metric) vectors with m=\(existing.parameters.m) in \(existing.storage) storage")
                    }
                    return (databases, existing)
                }
                let meta = Meta(
                    dimension: settings.dimension, metric: settings.metric, parameters: settings.parameters, storage: settings.storage)
                let store = GraphStore(layout: Layout(meta), databases: databases, path: path, meta: meta)
                try store.writeMeta(txn)
                return (databases, meta)
            }
        } else {
            (databases, meta) = try environment.read { txn in
                guard let databases = try Databases(environment: environment, name: name, create: false, in: txn),
                      let meta = try Self.readMeta(txn, databases.meta, path: path, name: name)
                else { throw IndexError.notAnIndex(path: path, name: name) }
                return (databases, meta)
            }
        }
        self.databases = databases
        dimension = meta.dimension
        metric = meta.metric
        parameters = meta.parameters
        storage = meta.storage
        layout = Layout(meta)
    }

    /// Opens the index in directory `path` (an LMDB environment of its own); with `settings`, creates it.
    public convenience init(path: String, creating settings: IndexSettings? = nil) throws {
        let environment = try Environment(path: path, create: settings != nil)
        try self.init(environment: environment, creating: settings)
    }

    /// Whether `environment` holds an index named `name`, in the caller's transaction.
    public static func exists(in environment: Environment, name: String = "hnsw", _ txn: borrowing Transaction) throws -> Bool {
        try environment.database(named: "\(name).\(Databases.suffixes[0])", create: false, in: txn) != nil
    }

    private static func readMeta(_ txn: borrowing Transaction, _ db: Database, path: String, name: String) throws -> Meta? {
        let key = Array("meta".utf8)
        guard let bytes = try key.withUnsafeBytes({ try txn.get(db, key: $0) }) else { return nil }
        return try Meta(bytes: bytes, path: "\(path) (index '\(name)')")
    }

    func readMeta(_ txn: borrowing Transaction) throws -> Meta {
        guard let meta = try Self.readMeta(txn, databases.meta, path: environment.path, name: name) else {
            throw IndexError.notAnIndex(path: environment.path, name: name)
        }
        guard meta.dimension == layout.dimension, meta.metric == layout.metric, meta.parameters.m == layout.m,
              meta.vectorShift == layout.vectorShift, meta.graphShift == layout.graphShift, meta.storage == layout.storage
        else { throw IndexError.corrupt(path: environment.path, reason: "index '\(name)' settings changed while open") }
        return meta
    }

    // MARK: Counting

    /// The number of live vectors.
    public func count() throws -> Int {
        try environment.read { txn in try count(in: txn) }
    }

    public func count(in txn: borrowing Transaction) throws -> Int {
        try readMeta(txn).liveCount
    }

    /// Whether `id` is in the index.
    public func contains(_ id: UInt64) throws -> Bool {
        try environment.read { txn in try contains(id, in: txn) }
    }

    /// Whether `id` is in the index, in the caller's snapshot (a transaction of its own inside another would mix
    /// snapshots, and could wait on itself when the map is resized).
    public func contains(_ id: UInt64, in txn: borrowing Transaction) throws -> Bool {
        try txn.get(databases.ids, key: id) != nil
    }

    // MARK: Writing

    /// Inserts `ids.count` vectors, laid out flat in `vectors` (`ids.count × dimension`), in one write
    /// transaction. An id already present is replaced (update). A crash commits all or nothing.
    ///
    /// - Complexity: O(n · efConstruction · m · log N) distance evaluations, as hnswlib.
    public func insert(ids: [UInt64], vectors: [Float]) throws {
        try environment.write { txn in try insert(ids: ids, vectors: vectors, in: txn) }
    }

    /// `insert` inside the caller's write transaction, so that vectors commit with the caller's records.
    public func insert(ids: [UInt64], vectors: [Float], in txn: borrowing Transaction) throws {
        guard vectors.count == ids.count * dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, found: ids.isEmpty ? vectors.count : vectors.count / ids.count)
        }
        guard Set(ids).count == ids.count else { throw IndexError.invalidArgument("insert: the batch repeats an id") }
        guard vectors.allSatisfy({ $0.isFinite }) else { throw IndexError.invalidArgument("insert: a vector is not finite") }
        if ids.isEmpty { return }
        let writer = try Writer(index: self, txn: txn, extraSlots: ids.count)
        try vectors.withUnsafeBufferPointer { try writer.insert(ids: ids, vectors: $0, txn) }
        try writer.finish(txn)
    }

    /// Replaces the vector of `id` (inserts it when absent).
    public func update(id: UInt64, vector: [Float]) throws {
        try insert(ids: [id], vectors: vector)
    }

    /// Deletes `ids` (unknown ones are skipped) and repairs the graph; returns how many were deleted.
    @discardableResult
    public func delete(ids: [UInt64]) throws -> Int {
        try environment.write { txn in try delete(ids: ids, in: txn) }
    }

    @discardableResult
    public func delete(ids: [UInt64], in txn: borrowing Transaction) throws -> Int {
        if ids.isEmpty { return 0 }
        let writer = try Writer(index: self, txn: txn, extraSlots: 0)
        let removed = try writer.delete(ids: ids, txn)
        try writer.finish(txn)
        return removed
    }

    // MARK: Searching

    /// The `k` nearest neighbours of `query`, closest first.
    ///
    /// - Parameters:
    ///   - ef: the candidate list size (at least `k`); defaults to the index's `ef`.
    ///   - filter: when given, only these ids are returned. Small sets are searched exactly; larger ones
    ///     walk the graph, keeping only allowed ids.
    /// - Complexity: O(ef · m0 · log N) distance evaluations, typically; no allocation in the loop.
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: Set<UInt64>? = nil) throws -> [SearchResult] {
        try checkQuery(query, k: k)
        let searcher = checkout()
        defer { checkin(searcher) }
        return try searcher.reader.withSnapshot { txn, changed in
            if changed || !searcher.bound {
                searcher.bound = false
                try searcher.store.bind(txn, meta: try readMeta(txn))
                searcher.bound = true
            }
            return try run(searcher.store, &searcher.scratch, query, k: k, ef: ef, filter: filter, exact: false, copy txn)
        }
    }

    /// `search` inside the caller's transaction.
    public func search(
        _ query: [Float], k: Int, ef: Int? = nil, filter: Set<UInt64>? = nil, in txn: borrowing Transaction
    ) throws -> [SearchResult] {
        try withReader(in: txn) { try $0.search(query, k: k, ef: ef, filter: filter) }
    }

    /// The exact `k` nearest neighbours by brute force.
    ///
    /// - Complexity: O(N · d).
    public func exactSearch(_ query: [Float], k: Int, filter: Set<UInt64>? = nil) throws -> [SearchResult] {
        try environment.read { txn in try exactSearch(query, k: k, filter: filter, in: txn) }
    }

    public func exactSearch(
        _ query: [Float], k: Int, filter: Set<UInt64>? = nil, in txn: borrowing Transaction
    ) throws -> [SearchResult] {
        try withReader(in: txn) { try $0.exactSearch(query, k: k, filter: filter) }
    }

    /// Calls `body` with a reader bound to `txn`'s snapshot, for every lookup one query makes (hannoy's
    /// `Reader::open`): the chunk tables are bound once, and the visited set, heaps and buffers come from the
    /// index's pool instead of being sized and allocated per call. The reader must not outlive `body`.
    public func withReader<R>(in txn: borrowing Transaction, _ body: (IndexReader) throws -> R) throws -> R {
        let searcher = checkout()
        defer {
            searcher.bound = false  // bound to the caller's transaction, not the pooled one
            checkin(searcher)
        }
        try searcher.store.bind(txn, meta: try readMeta(txn))
        return try body(IndexReader(index: self, searcher: searcher, txn: copy txn))
    }

    /// Sizes and settings, for `status` and benchmarks.
    public func info() throws -> IndexInfo {
        try environment.read { txn in try info(in: txn) }
    }

    public func info(in txn: borrowing Transaction) throws -> IndexInfo {
        let meta = try readMeta(txn)
        let vectorBytes = dimension * 4
        let codeBytes = storage == .int8 ? layout.codeBytes : 0
        return IndexInfo(
            storage: storage, count: meta.liveCount, tombstones: meta.tombstoneCount, slots: meta.slotCount,
            searchBytesPerVector: storage == .int8 ? codeBytes : vectorBytes,
            storedBytesPerVector: vectorBytes + codeBytes + (layout.m0 + 1) * 4 + SlotRecord.size)
    }

    func checkQuery(_ query: [Float], k: Int) throws {
        guard query.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, found: query.count) }
        guard k >= 1 else { throw IndexError.invalidArgument("k must be at least 1, got \(k)") }
    }

    func run(
        _ store: GraphStore, _ scratch: inout SearchScratch, _ query: [Float], k: Int, ef: Int?,
        filter: Set<UInt64>?, exact: Bool, _ txn: Transaction
    ) throws -> [SearchResult] {
        let meta = store.meta
        let g = store.graph
        query.withUnsafeBufferPointer { scratch.setQuery($0.baseAddress!, metric: metric) }
        let ef = max(ef ?? meta.parameters.ef, k)
        if let filter, exact || filter.count * 20 <= meta.liveCount || filter.count <= ef {
            // Selective filters: look the allowed ids up and compare them all.
            var slots: [UInt32] = []
            slots.reserveCapacity(filter.count)
            for id in filter {
                guard let value = try txn.get(databases.ids, key: id), value.count == 4 else { continue }
                let slot = UInt32(littleEndian: value.loadUnaligned(as: UInt32.self))
                if Int(slot) < meta.slotCount { slots.append(slot) }
            }
            g.exactSearch(scratch.query, k: k, slotCount: meta.slotCount, scratch: &scratch, slots: slots)
        } else if exact {
            g.exactSearch(scratch.query, k: k, slotCount: meta.slotCount, scratch: &scratch)
        } else if storage == .int8 {
            try g.search(CodeWalk(query: scratch.query), meta: meta, ef: ef, scratch: &scratch, filter: filter)
            g.rescore(scratch.query, &scratch)
        } else {
            try g.search(ExactWalk(query: scratch.query), meta: meta, ef: ef, scratch: &scratch, filter: filter)
        }
        let n = min(k, scratch.sortedCount)
        var results: [SearchResult] = []
        results.reserveCapacity(n)
        for j in 0..<n {
            let c = scratch.sorted[j]
            try g.checkIntact(c.slot)
            results.append(SearchResult(id: g.id(c.slot), distance: c.distance))
        }
        return results
    }

    private func checkout() -> Searcher {
        if let searcher = poolLock.withLock({ idle.popLast() }) { return searcher }
        return Searcher(index: self)
    }

    private func checkin(_ searcher: Searcher) {
        poolLock.withLock { idle.append(searcher) }
    }
}

/// A pooled searcher: a reusable read transaction, a graph store bound to its last snapshot, and scratch.
final class Searcher {
    let reader: PooledReader
    let store: GraphStore
    var scratch: SearchScratch
    var bound = false

    init(index: HNSWIndex) {
        reader = PooledReader(environment: index.environment)
        store = GraphStore(layout: index.layout, databases: index.databases, path: index.environment.path, meta: Meta(
            dimension: index.dimension, metric: index.metric, parameters: index.parameters, storage: index.storage))
        scratch = SearchScratch(dimension: index.dimension, slots: 1024, ef: index.parameters.ef)
    }
}

/// Sizes and settings of an index (`HNSWIndex.info()`).
public struct IndexInfo: Sendable, Equatable {
    public var storage: VectorStorage
    public var count: Int
    public var tombstones: Int
    public var slots: Int
    /// Bytes per vector that the graph walk reads: the f32 vector, or the int8 code.
    public var searchBytesPerVector: Int
    /// Bytes per slot on disk: vector, code, layer-0 links and slot record (upper layers and the id map add a
    /// little more).
    public var storedBytesPerVector: Int
}

/// A reader bound to one read transaction (`HNSWIndex.withReader`): every search and vector lookup of one
/// query, on one snapshot, with pooled scratch.
public struct IndexReader {
    let index: HNSWIndex
    let searcher: Searcher
    let txn: Transaction

    /// The `k` nearest neighbours of `query`, closest first (see `HNSWIndex.search`).
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: Set<UInt64>? = nil) throws -> [SearchResult] {
        try index.checkQuery(query, k: k)
        return try index.run(searcher.store, &searcher.scratch, query, k: k, ef: ef, filter: filter, exact: false, txn)
    }

    /// The exact `k` nearest neighbours by brute force, or among the ids of `filter`.
    public func exactSearch(_ query: [Float], k: Int, filter: Set<UInt64>? = nil) throws -> [SearchResult] {
        try index.checkQuery(query, k: k)
        return try index.run(searcher.store, &searcher.scratch, query, k: k, ef: nil, filter: filter, exact: true, txn)
    }

    /// The exact distance from `query` to every id of `ids` the index holds, in id order: one cursor pass over the
    /// id map, so a run of consecutive ids (a video's segments) costs no tree search per id. Each vector is checked
    /// against its checksum.
    public func distances(_ query: [Float], ids: Range<UInt64>) throws -> [SearchResult] {
        try index.checkQuery(query, k: 1)
        let g = searcher.store.graph
        query.withUnsafeBufferPointer { searcher.scratch.setQuery($0.baseAddress!, metric: index.metric) }
        let normalised = UnsafePointer(searcher.scratch.query)
        var out: [SearchResult] = []
        try txn.forEach(index.databases.ids, from: ids.lowerBound) { key, value in
            guard key.count == 8 else { throw g.damaged("the id map holds a \(key.count)-byte key") }
            let id = UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))
            guard id < ids.upperBound else { return false }
            let slot = try intactSlot(of: id, value, g)
            out.append(SearchResult(id: id, distance: g.distance(normalised, g.vector(slot))))
            return true
        }
        return out
    }

    /// The slot that the id map's `value` names for `id`, checked: a live slot that holds `id`, whose vector and id
    /// still match their checksum.
    func intactSlot(of id: UInt64, _ value: UnsafeRawBufferPointer, _ g: Graph) throws -> UInt32 {
        guard value.count == 4 else { throw g.damaged("the id map holds a \(value.count)-byte slot for id \(id)") }
        let slot = UInt32(littleEndian: value.loadUnaligned(as: UInt32.self))
        guard Int(slot) < searcher.store.meta.slotCount, g.isLive(slot), g.id(slot) == id else {
            throw g.damaged("id \(id) maps to slot \(slot), which does not hold it")
        }
        try g.checkIntact(slot)
        return slot
    }

    /// The live vectors in this snapshot.
    public var count: Int { searcher.store.meta.liveCount }
}
