import CLMDB

/// A non-zero LMDB return code, described by `mdb_strerror`.
///
/// This is the only error type over LMDB's C API; everything above it uses domain errors. The environment turns
/// system errors (positive codes) into `IndexError.storage`, which names the library and carries an `Errno`.
public struct LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The LMDB (negative, `MDB_*`) or system (`errno`) code.
    public let code: Int32

    public init(code: Int32) { self.code = code }

    public var description: String { "LMDB: \(String(cString: mdb_strerror(code))) (\(code))" }

    /// The map is full; `Environment.write` grows it and retries.
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    /// Another process grew the map; the environment adopts the new size and retries.
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    /// The file is not an LMDB file, or its version does not match.
    public static let invalid = LMDBError(code: MDB_INVALID)
    /// A page or record failed LMDB's own consistency checks.
    public static let corrupted = LMDBError(code: MDB_CORRUPTED)

    /// Throws unless `rc` is `MDB_SUCCESS`.
    @inline(__always)
    static func check(_ rc: Int32) throws(LMDBError) {
        if rc != 0 { throw LMDBError(code: rc) }
    }
}
