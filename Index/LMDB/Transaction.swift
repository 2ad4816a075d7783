import CLMDB

/// A live LMDB transaction, lent to the closure of `Environment.read` or `Environment.write` (the closure
/// scope, not the type, bounds its life: it must not be kept after the closure returns).
///
/// Bytes returned by `get` point into the memory map: they stay valid until the transaction ends or,
/// in a write transaction, until that record is written; they must not escape the closure.
public struct Transaction {
    let handle: OpaquePointer
    /// The environment this transaction belongs to.
    public let environment: Environment
    /// Whether this transaction may write.
    public let isWritable: Bool

    init(handle: OpaquePointer, environment: Environment, isWritable: Bool) {
        self.handle = handle
        self.environment = environment
        self.isWritable = isWritable
    }

    /// The id of this transaction's snapshot.
    var id: Int { mdb_txn_id(handle) }

    /// The value stored under `key`, borrowed from the map; `nil` when absent.
    public func get(_ db: Database, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(handle, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc)
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Stores `value` under `key`, replacing any previous value.
    public func put(_ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try LMDBError.check(mdb_put(handle, db.dbi, &k, &v, 0))
    }

    /// Reserves `count` bytes under `key` (`MDB_RESERVE`) and returns them for the caller to fill before
    /// any other write in this transaction.
    public func reserve(_ db: Database, key: UnsafeRawBufferPointer, count: Int) throws -> UnsafeMutableRawBufferPointer {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: count, mv_data: nil)
        try LMDBError.check(mdb_put(handle, db.dbi, &k, &v, vj_mdb_flags(MDB_RESERVE)))
        return UnsafeMutableRawBufferPointer(start: v.mv_data, count: count)
    }

    /// Deletes `key`; returns whether it was there.
    @discardableResult
    public func delete(_ db: Database, key: UnsafeRawBufferPointer) throws -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(handle, db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try LMDBError.check(rc)
        return true
    }

    /// Visits every record in key order until `body` returns false.
    public func forEach(
        _ db: Database, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try walk(db, body) { cursor, k, v in mdb_cursor_get(cursor, &k, &v, MDB_FIRST) }
    }

    /// `forEach` from the first key at or after `start` (big-endian, as the integer `get` writes keys).
    public func forEach<K: FixedWidthInteger>(
        _ db: Database, from start: K, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try walk(db, body) { cursor, k, v in
            var be = start.bigEndian
            let rc = withUnsafeMutableBytes(of: &be) { raw -> Int32 in
                var seek = MDB_val(mv_size: raw.count, mv_data: raw.baseAddress)
                return mdb_cursor_get(cursor, &seek, &v, MDB_SET_RANGE)
            }
            return rc == 0 ? mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT) : rc
        }
    }

    /// Opens a cursor, places it with `position` (which fills the first key and value), then visits records with
    /// `MDB_NEXT` until `body` returns false or the end.
    private func walk(
        _ db: Database, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool,
        position: (OpaquePointer?, inout MDB_val, inout MDB_val) -> Int32
    ) throws {
        var cursor: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(handle, db.dbi, &cursor))
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc = position(cursor, &k, &v)
        while rc == 0 {
            let keep = try body(
                UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
            if !keep { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try LMDBError.check(rc) }
    }

    /// The number of records in `db`.
    public func count(_ db: Database) throws -> Int {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(handle, db.dbi, &stat))
        return stat.ms_entries
    }

    /// Removes every record of `db`.
    public func clear(_ db: Database) throws {
        try LMDBError.check(mdb_drop(handle, db.dbi, 0))
    }
}

extension Transaction {
    /// `get` with a big-endian integer key, so that keys sort numerically.
    public func get<K: FixedWidthInteger>(_ db: Database, key: K) throws -> UnsafeRawBufferPointer? {
        var be = key.bigEndian
        return try withUnsafeBytes(of: &be) { try get(db, key: $0) }
    }

    public func put<K: FixedWidthInteger>(_ db: Database, key: K, value: UnsafeRawBufferPointer) throws {
        var be = key.bigEndian
        try withUnsafeBytes(of: &be) { try put(db, key: $0, value: value) }
    }

    public func reserve<K: FixedWidthInteger>(_ db: Database, key: K, count: Int) throws -> UnsafeMutableRawBufferPointer {
        var be = key.bigEndian
        return try withUnsafeBytes(of: &be) { try reserve(db, key: $0, count: count) }
    }

    @discardableResult
    public func delete<K: FixedWidthInteger>(_ db: Database, key: K) throws -> Bool {
        var be = key.bigEndian
        return try withUnsafeBytes(of: &be) { try delete(db, key: $0) }
    }
}

/// A read transaction kept between uses: reset when idle (it holds no snapshot then) and renewed for
/// each use, so that borrowed pointers cached from one snapshot can be reused while nothing was committed.
final class PooledReader: @unchecked Sendable {
    let environment: Environment
    private var txn: OpaquePointer?
    private var snapshotID = -1
    private var mapGeneration: UInt64 = .max

    init(environment: Environment) {
        self.environment = environment
    }

    deinit {
        if let txn { mdb_txn_abort(txn) }
    }

    /// Runs `body` in a fresh snapshot. `changed` tells whether the snapshot or the map differs from the
    /// previous use, i.e. whether pointers kept from then are stale.
    func withSnapshot<R>(_ body: (borrowing Transaction, _ changed: Bool) throws -> R) throws -> R {
        environment.lockShared()
        defer { environment.unlockShared() }
        while true {
            let rc: Int32
            if let txn {
                rc = mdb_txn_renew(txn)
            } else {
                var fresh: OpaquePointer?
                rc = mdb_txn_begin(environment.handle, nil, vj_mdb_flags(MDB_RDONLY), &fresh)
                txn = fresh
            }
            if rc == MDB_MAP_RESIZED {
                if let txn { mdb_txn_abort(txn) }
                txn = nil
                try environment.withExclusiveLockFromShared {
                    try LMDBError.check(mdb_env_set_mapsize(environment.handle, 0))
                }
                continue
            }
            try LMDBError.check(rc)
            break
        }
        let txn = self.txn!
        defer { mdb_txn_reset(txn) }
        let id = mdb_txn_id(txn)
        let changed = id != snapshotID || environment.mapGeneration != mapGeneration
        snapshotID = id
        mapGeneration = environment.mapGeneration
        return try body(Transaction(handle: txn, environment: environment, isWritable: false), changed)
    }
}
