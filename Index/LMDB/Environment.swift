import CLMDB
import SystemCall
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A named LMDB database (a `MDB_dbi`), valid for the life of its environment.
public struct Database: Sendable, Hashable {
    let dbi: MDB_dbi
}

/// An open LMDB environment: one memory-mapped file holding named databases.
///
/// Transactions are closure-scoped: `write` commits when its closure returns and aborts when it throws;
/// `read` sees one consistent snapshot. Readers run on any thread (`MDB_NOTLS`) and never block on the
/// writer; LMDB lets one writer in at a time. When a write fills the map, the map doubles and the
/// write closure runs again from the start, so write closures must not have effects outside the
/// transaction that cannot be repeated.
public final class Environment: @unchecked Sendable {
    /// How a commit reaches the disk.
    public enum Durability: Sendable {
        /// Data and metadata are flushed at every commit: committed means durable.
        case full
        /// `MDB_NOMETASYNC`: an operating-system crash may undo the last commit; a process crash loses nothing.
        case noMetaSync
    }

    let handle: OpaquePointer
    /// The directory holding `data.mdb` and `lock.mdb`.
    public let path: String
    private let transactionLock = ReadWriteLock()
    private let databaseLock = PlainLock()
    private var databases: [String: Database] = [:]
    /// Names opened by each live transaction: LMDB closes those handles if it aborts.
    private var openedIn: [OpaquePointer: [String]] = [:]
    /// Bumped, under the exclusive lock, whenever the map may have moved.
    private(set) var mapGeneration: UInt64 = 0

    /// Opens (and, with `create`, creates) the environment in directory `path`.
    ///
    /// - Parameters:
    ///   - mapSize: initial map size in bytes; it grows on demand, and an existing larger file wins.
    ///   - maxDatabases: how many named databases the environment can hold.
    ///   - maxReaders: concurrent read transactions (a pooled searcher holds one each).
    ///   - fileMode: permissions of files it creates (the directory gets the same plus search bits): owner only by
    ///     default, as a library reveals what someone watches and searches for.
    public init(
        path: String, create: Bool = true, mapSize: Int = 1 << 30, maxDatabases: Int = 64,
        maxReaders: Int = 1024, durability: Durability = .full, fileMode: mode_t = 0o600
    ) throws {
        var isDirectory = false
        if !Self.exists(path, isDirectory: &isDirectory) {
            guard create else { throw IndexError.missing(path: path) }
            let directoryMode = fileMode | ((fileMode & 0o444) >> 2)
            guard mkdir(path, directoryMode) == 0 || errno == EEXIST else {
                throw IndexError.storage(path: path, errno: Errno(rawValue: errno))
            }
        } else if !isDirectory {
            throw IndexError.notADirectory(path: path)
        }
        if !create, !Self.exists(path + "/data.mdb", isDirectory: &isDirectory) {
            throw IndexError.missing(path: path + "/data.mdb")
        }
        try Self.checkDataFile(path + "/data.mdb")
        if !Self.exists(path + "/data.mdb", isDirectory: &isDirectory) || !Self.exists(path + "/lock.mdb", isDirectory: &isDirectory) {
            // LMDB maps a new lock file after sizing it; on a full file system touching those pages raises SIGBUS.
            if let free = Self.freeBytes(path), free < Self.minimumFreeBytes {
                throw IndexError.storage(path: path, errno: .noSpace, detail: "\(free) bytes free, a new library needs \(Self.minimumFreeBytes)")
            }
        }

        var env: OpaquePointer?
        try LMDBError.check(mdb_env_create(&env))
        guard let env else { throw IndexError.storage(path: path, errno: .noMemory) }
        do {
            try LMDBError.check(mdb_env_set_mapsize(env, mapSize))
            try LMDBError.check(mdb_env_set_maxdbs(env, MDB_dbi(maxDatabases)))
            try LMDBError.check(mdb_env_set_maxreaders(env, UInt32(maxReaders)))
            var flags = vj_mdb_flags(MDB_NOTLS)
            if durability == .noMetaSync { flags |= vj_mdb_flags(MDB_NOMETASYNC) }
            let rc = mdb_env_open(env, path, flags, fileMode)
            if rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED {
                throw IndexError.corrupt(path: path + "/data.mdb", reason: "\(LMDBError(code: rc))")
            }
            if rc > 0 { throw IndexError.storage(path: path, errno: Errno(rawValue: rc)) }
            try LMDBError.check(rc)
            try Self.checkSize(env, file: path + "/data.mdb")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.path = path
    }

    deinit { mdb_env_close(handle) }

    private static func exists(_ path: String, isDirectory: inout Bool) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        return true
    }

    /// A data file shorter than two meta pages cannot be an environment; an empty one is a new environment.
    private static func checkDataFile(_ file: String) throws {
        var info = stat()
        guard stat(file, &info) == 0 else { return }
        if info.st_size > 0 && info.st_size < 2 * 4096 {
            throw IndexError.corrupt(path: file, reason: "file is \(info.st_size) bytes, shorter than LMDB's two meta pages")
        }
    }

    /// Pages beyond the end of a truncated file would fault (SIGBUS) when touched, so refuse them up front.
    private static func checkSize(_ env: OpaquePointer, file: String) throws {
        var envInfo = MDB_envinfo()
        var envStat = MDB_stat()
        try LMDBError.check(mdb_env_info(env, &envInfo))
        try LMDBError.check(mdb_env_stat(env, &envStat))
        var info = stat()
        guard stat(file, &info) == 0 else { return }
        // Both come from the file: a damaged last page number must not overflow the product.
        let (pages, carry) = UInt64(envInfo.me_last_pgno).addingReportingOverflow(1)
        let (needed, overflow) = pages.multipliedReportingOverflow(by: UInt64(envStat.ms_psize))
        if carry || overflow || UInt64(max(0, info.st_size)) < needed {
            throw IndexError.corrupt(path: file, reason: "file is \(info.st_size) bytes but its last page is \(envInfo.me_last_pgno): truncated")
        }
    }

    /// The current map size in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }

    /// The id of the last committed write transaction.
    var lastTransactionID: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_last_txnid
    }

    /// Returns the named database, creating it (inside the write transaction `txn`) when `create` is set.
    /// "Not found" is `nil`.
    public func database(named name: String, create: Bool, in txn: borrowing Transaction) throws -> Database? {
        try databaseLock.withLock {
            if let known = databases[name] { return known }
            var dbi = MDB_dbi()
            let flags = create ? vj_mdb_flags(MDB_CREATE) : 0
            let rc = mdb_dbi_open(txn.handle, name, flags, &dbi)
            if rc == MDB_NOTFOUND { return nil }
            try LMDBError.check(rc)
            let database = Database(dbi: dbi)
            databases[name] = database
            openedIn[txn.handle, default: []].append(name)
            return database
        }
    }

    /// Runs `body` in a read-only snapshot.
    public func read<R>(_ body: (borrowing Transaction) throws -> R) throws -> R {
        try transaction(writable: false, body)
    }

    /// Runs `body` in the write transaction: commits when it returns, aborts when it throws.
    ///
    /// When the map fills up (`MDB_MAP_FULL`), the transaction is aborted, the map doubled and `body` run again.
    public func write<R>(_ body: (borrowing Transaction) throws -> R) throws -> R {
        while true {
            do {
                return try writeOnce(body)
            } catch let error as LMDBError where error == .mapFull {
                try grow()
            }
        }
    }

    private func writeOnce<R>(_ body: (borrowing Transaction) throws -> R) throws -> R {
        try transaction(writable: true, body)
    }

    /// One transaction: commits when `body` returns (committing a read transaction keeps the database handles it
    /// opened), aborts when it throws.
    private func transaction<R>(writable: Bool, _ body: (borrowing Transaction) throws -> R) throws -> R {
        transactionLock.lockShared()
        defer { transactionLock.unlock() }
        let txn = try begin(flags: writable ? 0 : vj_mdb_flags(MDB_RDONLY))
        let transaction = Transaction(handle: txn, environment: self, isWritable: writable)
        let result: R
        do {
            result = try body(transaction)
        } catch {
            abort(txn)
            throw error
        }
        // A failed commit has already freed the transaction: it must not be aborted as well.
        try commit(txn)
        return result
    }

    private func commit(_ txn: OpaquePointer) throws {
        let rc = mdb_txn_commit(txn)
        databaseLock.withLock {
            let names = openedIn.removeValue(forKey: txn) ?? []
            // A failed commit frees the transaction and closes the handles it opened.
            if rc != 0 { for name in names { databases[name] = nil } }
        }
        if rc > 0 { throw storageError(errno: rc) }
        try LMDBError.check(rc)
    }

    /// A system error from writing the files, naming the environment; a full file system is said as such (LMDB
    /// reports some writes that ran out of space as `EIO`).
    func storageError(errno code: Int32) -> IndexError {
        let full = code == ENOSPC || code == EDQUOT || (code == EIO && (Self.freeBytes(path) ?? .max) < Self.minimumFreeBytes)
        return .storage(path: path, errno: full ? .noSpace : Errno(rawValue: code), detail: "nothing of the failed write was stored")
    }

    /// Below this much free space, a new environment is not created and an I/O error is taken for a full disk.
    static let minimumFreeBytes: UInt64 = 1 << 20

    /// Bytes an unprivileged writer may still use on the file system holding `path`.
    static func freeBytes(_ path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    private func abort(_ txn: OpaquePointer) {
        mdb_txn_abort(txn)
        databaseLock.withLock {
            for name in openedIn.removeValue(forKey: txn) ?? [] { databases[name] = nil }
        }
    }

    /// Begins a transaction; the caller holds the shared lock.
    private func begin(flags: UInt32) throws -> OpaquePointer {
        while true {
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(handle, nil, flags, &txn)
            if rc == MDB_MAP_RESIZED {
                try withExclusiveLockFromShared { try LMDBError.check(mdb_env_set_mapsize(handle, 0)) }
                continue
            }
            // A system error (no permission on the lock file, say) names the library; LMDB's own codes stay its own.
            if rc > 0 { throw IndexError.storage(path: path, errno: Errno(rawValue: rc)) }
            try LMDBError.check(rc)
            return txn!
        }
    }

    /// Drops the shared lock the caller holds, runs `body` exclusively, and takes the shared lock again.
    func withExclusiveLockFromShared(_ body: () throws -> Void) throws {
        transactionLock.unlock()
        transactionLock.lockExclusive()
        defer {
            transactionLock.unlock()
            transactionLock.lockShared()
        }
        mapGeneration &+= 1
        try body()
    }

    /// Doubles the map. Waits until no transaction of this process is live.
    private func grow() throws {
        transactionLock.lockExclusive()
        defer { transactionLock.unlock() }
        mapGeneration &+= 1
        let rc = mdb_env_set_mapsize(handle, mapSize * 2)
        if rc > 0 { throw IndexError.storage(path: path, errno: Errno(rawValue: rc), detail: "cannot grow the map") }
        try LMDBError.check(rc)
    }

    // MARK: Pooled readers

    func lockShared() { transactionLock.lockShared() }
    func unlockShared() { transactionLock.unlock() }
}
