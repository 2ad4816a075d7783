import SystemCall
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a walk of one LMDB data file found.
public struct LMDBFileReport: Sendable {
    /// How many problems `problems` spells out; `problemCount` counts them all.
    public static let problemLimit = 20

    /// The first `problemLimit` problems, one line each, naming the tree and the page.
    public internal(set) var problems: [String] = []
    /// All problems found, including those past `problemLimit`.
    public internal(set) var problemCount = 0
    /// The trees ("meta pages", "free list", "main database" or a named database) with damage that LMDB would trust
    /// and could crash on or corrupt further: pages outside the file, wrong page headers, nodes outside their page,
    /// cycles, keys out of order, a broken free list. Counters that disagree with their tree and leaked pages are
    /// problems too but not damage: LMDB reads such a file safely.
    public internal(set) var damaged: [String] = []
    /// Pages checked: both meta pages, every page of every tree, every overflow page.
    public internal(set) var pagesVisited = 0
    /// The named databases, in key order.
    public internal(set) var databases: [String] = []
    /// Bytes read from the file.
    public internal(set) var bytesRead = 0
    /// The page size and transaction id of the meta page the walk started from (0 when none was valid).
    public internal(set) var pageSize = 0
    public internal(set) var transactionID: UInt64 = 0

    /// Whether some tree is damaged (see `damaged`): such a file must not be opened through LMDB.
    public var isDamaged: Bool { !damaged.isEmpty }
    /// No problem at all.
    public var isClean: Bool { problemCount == 0 }
}

/// A read-only check of an LMDB data file (`data.mdb`) that trusts none of its bytes.
///
/// LMDB trusts the node offsets, key sizes and data sizes in its pages (it checks only that page numbers are below the
/// last page), so a damaged file can crash it, for instance with a key that runs past the end of the file (SIGBUS), or
/// make a writer assert. This walk reads the file page by page with `pread` and checks, for the meta page in use and
/// every page reachable from it: the page lies in the file and below the meta page's last page, its
/// header names it, its flags fit its place, its free-space bounds and every node lie inside it and tile it, keys
/// ascend (in the database's order) and stay between their parent's separators, leaves share one depth, overflow
/// runs lie in the file, no page is reached twice, each tree's counters match it, and every page is either in use
/// or listed once in the free list. It never traps on any input.
///
/// Follows the 64-bit format of LMDB 0.9 (`MDB_page`, `MDB_node`, `MDB_db` and `MDB_meta` in `mdb.c`), in host byte
/// order (little-endian here). Duplicate-key databases (`MDB_DUPSORT`) are reported, not walked: vjsearch writes none.
/// An empty file is a new environment to LMDB, and a clean report here.
public enum LMDBFileCheck {
    /// Walks the data file at `path`. With `readEveryByte`, also reads every byte of every overflow page (the values of
    /// large records, most of a library), so that read errors anywhere in the data show; without, only the first page
    /// of each overflow run is read.
    ///
    /// Throws only when the file cannot be opened or is not a regular file; everything found inside it is a problem in
    /// the report.
    /// - Complexity: O(pages in the file) reads and memory of about 1.1 bytes per page.
    public static func check(path: String, readEveryByte: Bool = false) throws(IndexError) -> LMDBFileReport {
        try walk(path: path, readEveryByte: readEveryByte).report
    }

    /// `check(path:readEveryByte:)` of the environment in `directory` (its `data.mdb`), with an LMDB read transaction
    /// open for the length of the walk: a writer in another process then cannot reuse the pages of the snapshots it
    /// walks. Opening the environment and beginning the transaction read only the meta pages; when either fails
    /// (damaged meta pages, a truncated file), the walk runs without it and reports why.
    public static func check(environment directory: String, readEveryByte: Bool = false) throws(IndexError) -> LMDBFileReport {
        let file = directory + "/data.mdb"
        // LMDB's open trusts the meta pages' page size and reads the second one through its map: a damaged size sends
        // it past the end of the file (SIGBUS). So they are read without LMDB first.
        guard try metaPagesAreSound(file) else { return try check(path: file, readEveryByte: readEveryByte) }
        do {
            // Closed before this returns: one process must not keep two environments on a file open at once.
            let environment = try Environment(path: directory, create: false)
            return try environment.read { _ in try check(path: file, readEveryByte: readEveryByte) }
        } catch let error as IndexError where error == .missing(path: file) {
            throw error
        } catch {
            return try check(path: file, readEveryByte: readEveryByte)
        }
    }

    /// The finished walk, with its map of which tree uses each page.
    ///
    /// A writer committing during the walk may have been rewriting a meta page as it was read: when the walk finds
    /// damage and a meta page has changed since, it walks again (three times at most).
    /// Whether both meta pages of the file at `path` read sound (magic, version, page size, inside the file) and
    /// the last page they name lies inside the file.
    static func metaPagesAreSound(_ path: String) throws(IndexError) -> Bool {
        let (fd, bytes) = try openRegularFile(path)
        defer { close(fd) }
        var walker = PageWalker(fd: fd, fileBytes: bytes, readEveryByte: false)
        guard let meta = walker.readMetaPages(), !walker.report.isDamaged else { return false }
        return meta.lastPage < bytes / UInt64(meta.pageSize)
    }

    /// A read-only descriptor on the regular file at `path`, and its size.
    static func openRegularFile(_ path: String) throws(IndexError) -> (Int32, UInt64) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw .missing(path: path) }
            throw .storage(path: path, errno: Errno(rawValue: errno))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw .storage(path: path, errno: Errno(rawValue: code))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .notARegularFile(path: path)
        }
        return (fd, UInt64(max(0, info.st_size)))
    }

    static func walk(path: String, readEveryByte: Bool = false) throws(IndexError) -> PageWalker {
        let (fd, _) = try openRegularFile(path)
        defer { close(fd) }
        var attempt = 1
        while true {
            // The size again on each attempt: a writer may have grown the file.
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw .storage(path: path, errno: Errno(rawValue: errno)) }
            var walker = PageWalker(fd: fd, fileBytes: UInt64(max(0, info.st_size)), readEveryByte: readEveryByte)
            walker.run()
            guard walker.report.isDamaged, attempt < 3, walker.metaPagesChanged() else { return walker }
            attempt += 1
        }
    }
}

/// Offsets, sizes and flags of LMDB 0.9's 64-bit data file.
enum LMDBLayout {
    /// `MDB_page`: page number u64, pad u16 (key size of LEAF2 pages), flags u16, then lower u16 and upper u16 bounds
    /// of the free space, or for overflow pages the run's page count u32; node offsets (u16 each) follow.
    static let pageHeader = 16
    /// `MDB_node`: data size (leaf) or child page number (branch) in lo u16, hi u16 and, for branch pages, the flags
    /// u16 as bits 32-47; then key size u16, the key, and in leaves the data (or an overflow page number). Nodes start
    /// at even offsets and take an even number of bytes.
    static let nodeHeader = 8
    /// `MDB_db`: pad u32, flags u16, depth u16, branch, leaf and overflow page counts, entries and root, u64 each.
    static let databaseRecord = 48
    /// `MDB_meta` after the page header: magic u32, version u32, address u64, map size u64, the free and main
    /// databases' `MDB_db`, last page u64 and transaction id u64. The page size is the free database's pad.
    static let metaRecord = 136
    static let magic: UInt32 = 0xBEEF_C0DE
    static let version: UInt32 = 1
    /// `P_INVALID`: the root of an empty tree.
    static let noPage = UInt64.max
    /// `MDB_MAXKEYSIZE` and `CURSOR_STACK` of a default build.
    static let maxKeySize = 511
    static let maxDepth = 32
    static let pageSizes = 512...65536

    // Page flags.
    static let branch: UInt16 = 0x01, leaf: UInt16 = 0x02, overflow: UInt16 = 0x04, meta: UInt16 = 0x08
    static let leaf2: UInt16 = 0x20
    // Node flags.
    static let bigData: UInt16 = 0x01, subData: UInt16 = 0x02, dupData: UInt16 = 0x04
    // Database flags (`mdb_dbi_open`); those stored in a file are all within `databaseFlags`.
    static let reverseKey: UInt16 = 0x02, dupSort: UInt16 = 0x04, integerKey: UInt16 = 0x08
    static let databaseFlags: UInt16 = 0x7E
}

/// One `MDB_db` record.
struct DatabaseRecord {
    var flags: UInt16 = 0
    var depth: UInt16 = 0
    var branchPages: UInt64 = 0
    var leafPages: UInt64 = 0
    var overflowPages: UInt64 = 0
    var entries: UInt64 = 0
    var root = LMDBLayout.noPage
    /// `md_pad`: the page size in the free database's record of a meta page.
    var pad: UInt32 = 0

    init() {}

    init(_ bytes: [UInt8], at offset: Int) {
        pad = bytes.load(offset)
        flags = bytes.load(offset + 4)
        depth = bytes.load(offset + 6)
        branchPages = bytes.load(offset + 8)
        leafPages = bytes.load(offset + 16)
        overflowPages = bytes.load(offset + 24)
        entries = bytes.load(offset + 32)
        root = bytes.load(offset + 40)
    }
}

/// One meta page.
struct MetaPage {
    var pageSize: Int
    var free: DatabaseRecord
    var main: DatabaseRecord
    var lastPage: UInt64
    var transactionID: UInt64

    /// The meta page `number` read at `bytes` (its header and `MDB_meta`), or why it is not one.
    static func parse(_ bytes: [UInt8], number: UInt64) -> Result<MetaPage, PageProblem> {
        guard bytes.count >= LMDBLayout.pageHeader + LMDBLayout.metaRecord else { return .failure(.init("cut short")) }
        let base = LMDBLayout.pageHeader
        let magic: UInt32 = bytes.load(base)
        guard magic == LMDBLayout.magic else {
            return .failure(.init("magic is 0x\(String(magic, radix: 16)), not LMDB's 0xbeefc0de"))
        }
        let version: UInt32 = bytes.load(base + 4)
        guard version == LMDBLayout.version else { return .failure(.init("format version \(version), not 1")) }
        let flags: UInt16 = bytes.load(10)
        guard flags == LMDBLayout.meta else { return .failure(.init("page flags 0x\(String(flags, radix: 16)), not a meta page")) }
        let pgno: UInt64 = bytes.load(0)
        guard pgno == number else { return .failure(.init("header says page \(pgno)")) }
        let free = DatabaseRecord(bytes, at: base + 24)
        let pageSize = Int(free.pad)
        guard LMDBLayout.pageSizes.contains(pageSize), pageSize & (pageSize - 1) == 0 else {
            return .failure(.init("page size \(free.pad) is not a power of two from 512 to 65536"))
        }
        let main = DatabaseRecord(bytes, at: base + 24 + LMDBLayout.databaseRecord)
        let lastPage: UInt64 = bytes.load(base + 24 + 2 * LMDBLayout.databaseRecord)
        let txnid: UInt64 = bytes.load(base + 32 + 2 * LMDBLayout.databaseRecord)
        guard lastPage >= 1 else { return .failure(.init("last page \(lastPage) is below the meta pages")) }
        return .success(MetaPage(pageSize: pageSize, free: free, main: main, lastPage: lastPage, transactionID: txnid))
    }
}

/// Why a meta page or a node is not what it should be.
struct PageProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The walk itself: the trees of the newest valid meta page, then the map of which pages are used and free.
struct PageWalker {
    /// A tree being walked and what it was found to hold.
    struct Tree {
        enum Kind { case free, main, named }
        let name: String
        let kind: Kind
        /// Marks this tree's pages in `PageWalker.owner`.
        let tag: UInt8
        let record: DatabaseRecord
        var branchPages: UInt64 = 0
        var leafPages: UInt64 = 0
        var overflowPages: UInt64 = 0
        var entries: UInt64 = 0
        var leafDepth: Int?
        var isDamaged = false
        /// Named databases found in the main tree, in key order.
        var named: [(name: String, record: DatabaseRecord)] = []

        /// The free database's keys are transaction ids (`MDB_INTEGERKEY`); its record's flags are the environment's.
        var order: KeyOrder {
            if kind == .free || record.flags & LMDBLayout.integerKey != 0 { return .integer }
            return record.flags & LMDBLayout.reverseKey != 0 ? .reversedBytes : .bytes
        }
    }

    /// How a tree orders its keys: `memcmp` with a prefix first (LMDB's default), the same from the last byte
    /// (`MDB_REVERSEKEY`), or unsigned integers of 4 or 8 bytes in host order (`MDB_INTEGERKEY`).
    enum KeyOrder { case bytes, reversedBytes, integer }

    /// The separators a page's keys must lie between: `low` ≤ key < `high`; nil is unbounded.
    struct KeyRange {
        var low: [UInt8]?
        var high: [UInt8]?
    }

    /// One node of a page, checked to lie inside it.
    struct Node {
        var offset: Int
        var flags: UInt16
        var keySize: Int
        /// Leaf: the data size; branch: the child page.
        var value: UInt64
        /// Bytes the node takes, rounded up to even.
        var size: Int
        var key: Range<Int> { (offset + LMDBLayout.nodeHeader)..<(offset + LMDBLayout.nodeHeader + keySize) }
        var data: Int { offset + LMDBLayout.nodeHeader + keySize }
    }

    /// An `MDB_IDL` being read: its count, then that many page numbers, 8 bytes each.
    struct FreeList {
        var count: UInt64?
        var read: UInt64 = 0
    }

    let fd: Int32
    let fileBytes: UInt64
    let readEveryByte: Bool
    var report = LMDBFileReport()
    var pageSize = 0
    /// Whole pages in the file.
    var filePages: UInt64 = 0
    var lastPage: UInt64 = 0
    /// Tree names by tag − 1, for the messages.
    var treeNames = ["meta pages", "free list", "main database"]
    /// The tag of the tree using each page below `min(lastPage + 1, filePages)`; 0 when none.
    var owner: [UInt8] = []
    /// Pages the free list names, as bits, over the pages of `owner`.
    var free: [UInt64] = []
    /// Pages the free list names beyond those of `owner` (past the end of the file).
    var freeBeyond: UInt64 = 0
    /// Each meta page's bytes as read, with their offset: `metaPagesChanged` compares them.
    var metaBytes: [(offset: UInt64, bytes: [UInt8])] = []
    /// Page buffers lent to the levels of the walk, and buffers for headers and runs of overflow pages.
    var spare: [[UInt8]] = []
    var header: [UInt8] = []
    var chunk: [UInt8] = []

    static let chunkBytes = 1 << 20

    init(fd: Int32, fileBytes: UInt64, readEveryByte: Bool) {
        self.fd = fd
        self.fileBytes = fileBytes
        self.readEveryByte = readEveryByte
    }

    mutating func run() {
        guard fileBytes > 0, let meta = readMetaPages() else { return }
        pageSize = meta.pageSize
        report.pageSize = meta.pageSize
        report.transactionID = meta.transactionID
        filePages = fileBytes / UInt64(pageSize)
        lastPage = meta.lastPage
        // Pages past the end of the file can only be free, so the maps stop there (a damaged last page cannot size them).
        let mapped = Int(lastPage < filePages ? lastPage + 1 : filePages)
        owner = [UInt8](repeating: 0, count: mapped)
        free = [UInt64](repeating: 0, count: (mapped + 63) / 64)
        for p in 0..<min(2, mapped) { owner[p] = 1 }
        report.pagesVisited = min(2, mapped)

        var freeTree = Tree(name: treeNames[1], kind: .free, tag: 2, record: meta.free)
        walk(&freeTree)
        var mainTree = Tree(name: treeNames[2], kind: .main, tag: 3, record: meta.main)
        walk(&mainTree)
        report.databases = mainTree.named.map(\.name)
        for (i, database) in mainTree.named.enumerated() {
            // Tags run out after 251 named databases; the rest share the last one.
            if treeNames.count < 254 {
                treeNames.append(database.name)
            } else if treeNames.count == 254 {
                treeNames.append("a named database")
            }
            var tree = Tree(name: database.name, kind: .named, tag: UInt8(min(i + 4, 255)), record: database.record)
            walk(&tree)
        }
        if !report.isDamaged { checkPageMap() }
    }

    // MARK: Problems

    mutating func problem(_ message: String) {
        report.problemCount += 1
        if report.problems.count < LMDBFileReport.problemLimit { report.problems.append(message) }
    }

    /// A problem that damages the tree `name`: LMDB would trust what is wrong.
    mutating func damage(_ name: String, _ message: String) {
        problem("\(name): \(message)")
        if !report.damaged.contains(name) { report.damaged.append(name) }
    }

    mutating func damage(_ tree: inout Tree, _ message: String) {
        tree.isDamaged = true
        damage(tree.name, message)
    }

    /// Damage to the meta pages; the message names the page.
    mutating func damageMeta(_ message: String) {
        problem(message)
        if !report.damaged.contains(treeNames[0]) { report.damaged.append(treeNames[0]) }
    }

    // MARK: Reading

    /// Reads `count` bytes at `offset` into `buffer` (resized to `count`); returns nil, or the `errno` of a failed
    /// read (`EIO` for one cut short by the end of the file).
    mutating func read(_ buffer: inout [UInt8], count: Int, at offset: UInt64) -> Int32? {
        if buffer.count != count { buffer = [UInt8](repeating: 0, count: count) }
        guard let start = Int64(exactly: offset) else { return EINVAL }
        var done = 0
        let error = buffer.withUnsafeMutableBytes { raw -> Int32? in
            guard let base = raw.baseAddress else { return nil }
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(start &+ Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { return EIO }
                done += n
            }
            return nil
        }
        report.bytesRead &+= done
        return error
    }

    static func describe(_ error: Int32) -> String { "read error: \(String(cString: strerror(error)))" }

    /// Reads both meta pages and returns the one LMDB would use: the valid one with the larger transaction id (page 0
    /// on a tie). Reports each invalid one: LMDB refuses a file with either.
    mutating func readMetaPages() -> MetaPage? {
        let headerBytes = LMDBLayout.pageHeader + LMDBLayout.metaRecord
        guard fileBytes >= UInt64(headerBytes) else {
            damageMeta("the file is \(fileBytes) bytes, too short for an LMDB meta page")
            return nil
        }
        var first: MetaPage?, second: MetaPage?
        switch readMeta(0, at: 0) {
        case .success(let m): first = m
        case .failure(let e): damageMeta("meta page 0: \(e.reason)")
        }
        if let first {
            switch readMeta(1, at: UInt64(first.pageSize)) {
            case .success(let m) where m.pageSize != first.pageSize:
                damageMeta("meta page 1: page size \(m.pageSize), meta page 0 says \(first.pageSize)")
            case .success(let m): second = m
            case .failure(let e): damageMeta("meta page 1: \(e.reason)")
            }
        } else {
            // Without meta page 0's page size, look for meta page 1 where each page size would put it.
            for size in [4096, 512, 1024, 2048, 8192, 16384, 32768, 65536] {
                if case .success(let m) = readMeta(1, at: UInt64(size)), m.pageSize == size {
                    second = m
                    break
                }
            }
            if second == nil { damageMeta("meta page 1: not found at any page size") }
        }
        switch (first, second) {
        case let (a?, b?): return b.transactionID > a.transactionID ? b : a
        case let (a?, nil): return a
        case let (nil, b?): return b
        case (nil, nil): return nil
        }
    }

    mutating func readMeta(_ number: UInt64, at offset: UInt64) -> Result<MetaPage, PageProblem> {
        let headerBytes = LMDBLayout.pageHeader + LMDBLayout.metaRecord
        guard offset <= fileBytes - UInt64(headerBytes) else { return .failure(.init("lies beyond the end of the file")) }
        var bytes: [UInt8] = []
        swap(&bytes, &header)
        defer { swap(&bytes, &header) }
        if let error = read(&bytes, count: headerBytes, at: offset) { return .failure(.init(Self.describe(error))) }
        metaBytes.append((offset, bytes))
        return MetaPage.parse(bytes, number: number)
    }

    /// Whether a meta page read by the walk reads differently now.
    mutating func metaPagesChanged() -> Bool {
        var now: [UInt8] = []
        for (offset, before) in metaBytes {
            if read(&now, count: before.count, at: offset) != nil || now != before { return true }
        }
        return false
    }

    // MARK: Trees

    /// Walks one tree from its root, then checks its record's depth and counters.
    mutating func walk(_ tree: inout Tree) {
        let r = tree.record
        if tree.kind != .free {
            guard r.flags & ~LMDBLayout.databaseFlags == 0 else {
                damage(&tree, "unknown database flags 0x\(String(r.flags, radix: 16))")
                return
            }
            guard r.flags & LMDBLayout.dupSort == 0 else {
                damage(&tree, "a duplicate-key database (MDB_DUPSORT), which vjsearch never writes and this check does not walk")
                return
            }
        }
        if r.root == LMDBLayout.noPage {
            if r.depth != 0 || r.branchPages != 0 || r.leafPages != 0 || r.overflowPages != 0 || r.entries != 0 {
                problem("\(tree.name): empty, but its record counts depth \(r.depth), \(r.entries) entries and "
                        + "\(r.branchPages &+ r.leafPages &+ r.overflowPages) pages")
            }
            return
        }
        if r.depth == 0 || Int(r.depth) > LMDBLayout.maxDepth { damage(&tree, "its record says depth \(r.depth)") }
        walkPage(r.root, level: 1, tree: &tree, parent: nil, range: KeyRange())
        guard !tree.isDamaged else { return }
        if let depth = tree.leafDepth, depth != Int(r.depth) {
            damage(&tree, "its leaves are at depth \(depth), its record says \(r.depth)")
        }
        let counts: [(String, UInt64, UInt64)] = [
            ("entries", tree.entries, r.entries), ("branch pages", tree.branchPages, r.branchPages),
            ("leaf pages", tree.leafPages, r.leafPages), ("overflow pages", tree.overflowPages, r.overflowPages),
        ]
        for (what, found, recorded) in counts where found != recorded {
            problem("\(tree.name): holds \(found) \(what), its record says \(recorded)")
        }
    }

    /// Checks that page `pgno`, reached from page `parent` (nil: the root), lies in the file and below the last page
    /// and was not reached before, then marks it as `tree`'s.
    mutating func claim(_ pgno: UInt64, tree: inout Tree, parent: UInt64?, what: String = "page") -> Bool {
        let from = parent.map { " (from page \($0))" } ?? " (the root)"
        if pgno > lastPage {
            damage(&tree, "\(what) \(pgno)\(from) is past the last page, \(lastPage)")
            return false
        }
        if pgno >= filePages {
            damage(&tree, "\(what) \(pgno)\(from) lies beyond the end of the file (\(filePages) pages): truncated")
            return false
        }
        let p = Int(pgno)
        if owner[p] != 0 {
            let other = treeNames[Int(owner[p]) - 1]
            damage(&tree, "\(what) \(pgno)\(from) is reached twice (also by \(other)): a cycle or a shared page")
            return false
        }
        owner[p] = tree.tag
        report.pagesVisited += 1
        return true
    }

    /// Walks the subtree at `pgno` (`level` 1 is the root), whose keys must lie in `range`.
    mutating func walkPage(_ pgno: UInt64, level: Int, tree: inout Tree, parent: UInt64?, range: KeyRange) {
        guard claim(pgno, tree: &tree, parent: parent) else { return }
        var page = spare.popLast() ?? []
        defer { spare.append(page) }
        if let error = read(&page, count: pageSize, at: pgno * UInt64(pageSize)) {
            damage(&tree, "page \(pgno): \(Self.describe(error))")
            return
        }
        let number: UInt64 = page.load(0)
        let flags: UInt16 = page.load(10)
        let lower = Int(page.load(12) as UInt16), upper = Int(page.load(14) as UInt16)
        guard number == pgno else {
            damage(&tree, "page \(pgno): its header says page \(number)")
            return
        }
        let isLeaf = flags == LMDBLayout.leaf
        guard isLeaf || flags == LMDBLayout.branch else {
            let dupFixed = flags == LMDBLayout.leaf | LMDBLayout.leaf2 ? " (an MDB_DUPFIXED page)" : ""
            damage(&tree, "page \(pgno): flags 0x\(String(flags, radix: 16))\(dupFixed), not a branch or leaf page")
            return
        }
        guard lower >= LMDBLayout.pageHeader, lower & 1 == 0, lower <= upper, upper <= pageSize else {
            damage(&tree, "page \(pgno): its free space \(lower)..<\(upper) does not fit a \(pageSize)-byte page")
            return
        }
        let count = (lower - LMDBLayout.pageHeader) / 2
        guard count > 0 else {
            damage(&tree, "page \(pgno): an empty \(isLeaf ? "leaf" : "branch") page")
            return
        }
        if isLeaf {
            tree.leafPages &+= 1
            if tree.leafDepth == nil { tree.leafDepth = level }
            if let depth = tree.leafDepth, depth != level {
                damage(&tree, "page \(pgno): a leaf at depth \(level), the first leaf is at depth \(depth)")
                return
            }
        } else {
            tree.branchPages &+= 1
            guard level < LMDBLayout.maxDepth else {
                damage(&tree, "page \(pgno): a branch page at depth \(level), deeper than LMDB goes")
                return
            }
        }

        var used = 0
        var previous: Range<Int>?
        for i in 0..<count {
            let node: Node
            switch self.node(i, of: page, upper: upper, isLeaf: isLeaf) {
            case .success(let n): node = n
            case .failure(let e):
                damage(&tree, "page \(pgno): node \(i) \(e.reason)")
                return
            }
            used += node.size
            // A branch page's first key is never compared: its child holds everything below the second key.
            if isLeaf || i > 0 {
                if let reason = keyProblem(page[node.key], previous: previous.map { page[$0] }, range: range, tree: tree) {
                    damage(&tree, "page \(pgno): the key of node \(i) \(reason)")
                    return
                }
                previous = node.key
            }
            if isLeaf {
                tree.entries &+= 1
                leaf(node, of: page, pgno: pgno, index: i, tree: &tree)
            } else {
                // The child's keys lie from this node's key (the parent's bound for the first) to the next node's key.
                var child = KeyRange(low: i == 0 ? range.low : Array(page[node.key]), high: range.high)
                if i + 1 < count, case .success(let next) = self.node(i + 1, of: page, upper: upper, isLeaf: false) {
                    child.high = Array(page[next.key])
                }
                walkPage(node.value, level: level + 1, tree: &tree, parent: pgno, range: child)
            }
        }
        // Nodes tile the page from `upper` to its end: LMDB adds and removes them there.
        if used != pageSize - upper {
            damage(&tree, "page \(pgno): its nodes take \(used) bytes, its header gives them \(pageSize - upper)")
        }
    }

    /// Node `index` of `page`, checked to lie in the page's node area with its key and (inline) data.
    func node(_ index: Int, of page: [UInt8], upper: Int, isLeaf: Bool) -> Result<Node, PageProblem> {
        let offset = Int(page.load(LMDBLayout.pageHeader + 2 * index) as UInt16)
        guard offset >= upper, offset & 1 == 0, offset <= pageSize - LMDBLayout.nodeHeader else {
            return .failure(.init("is at offset \(offset), outside the node area \(upper)..<\(pageSize)"))
        }
        let lo = UInt64(page.load(offset) as UInt16), hi = UInt64(page.load(offset + 2) as UInt16)
        let flags: UInt16 = page.load(offset + 4)
        let keySize = Int(page.load(offset + 6) as UInt16)
        var node = Node(offset: offset, flags: flags, keySize: keySize, value: lo | hi << 16, size: 0)
        guard keySize <= LMDBLayout.maxKeySize, keySize >= 1 || !isLeaf else {
            return .failure(.init("has a \(keySize)-byte key; LMDB keys have 1 to 511 bytes"))
        }
        var size = LMDBLayout.nodeHeader + keySize
        if isLeaf {
            guard flags & ~(LMDBLayout.bigData | LMDBLayout.subData | LMDBLayout.dupData) == 0 else {
                return .failure(.init("has unknown flags 0x\(String(flags, radix: 16))"))
            }
            size += flags & LMDBLayout.bigData != 0 ? 8 : Int(node.value)
        } else {
            // A branch node's flags are bits 32-47 of its child's page number.
            node.value |= UInt64(flags) << 32
            node.flags = 0
        }
        guard size <= pageSize - offset else {
            return .failure(.init("at offset \(offset) takes \(size) bytes, past the end of the page"))
        }
        node.size = (size + 1) & ~1
        return .success(node)
    }

    /// Why `key` is out of order after `previous` or outside `range`; nil when it is in order.
    func keyProblem(_ key: ArraySlice<UInt8>, previous: ArraySlice<UInt8>?, range: KeyRange, tree: Tree) -> String? {
        let order = tree.order
        if order == .integer, key.count != 8 && (key.count != 4 || tree.kind == .free) {
            return "has \(key.count) bytes, not an integer key"
        }
        if let previous, Self.compare(previous, key, order) >= 0 { return "is not above the key before it" }
        if let low = range.low, Self.compare(key, low[...], order) < 0 { return "is below its parent's separator" }
        if let high = range.high, Self.compare(key, high[...], order) >= 0 { return "is not below the next separator" }
        return nil
    }

    /// LMDB's comparison of two keys in `order`: negative, zero or positive.
    static func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>, _ order: KeyOrder) -> Int {
        switch order {
        case .bytes:
            for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        case .reversedBytes, .integer:
            // Little-endian unsigned integers of one size compare from their last byte, as reversed keys do.
            for (x, y) in zip(a.reversed(), b.reversed()) where x != y { return x < y ? -1 : 1 }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Checks leaf `node`'s value: a named database's record, an overflow run, or a free-list entry.
    mutating func leaf(_ node: Node, of page: [UInt8], pgno: UInt64, index: Int, tree: inout Tree) {
        let flags = node.flags
        if flags & LMDBLayout.dupData != 0 {
            damage(&tree, "page \(pgno): node \(index) holds duplicate keys (MDB_DUPSORT) in a database without them")
            return
        }
        if flags & LMDBLayout.subData != 0 {
            guard tree.kind == .main, flags & LMDBLayout.bigData == 0, node.value == UInt64(LMDBLayout.databaseRecord) else {
                damage(&tree, "page \(pgno): node \(index) is marked as a named database where none can be")
                return
            }
            tree.named.append((String(decoding: page[node.key], as: UTF8.self), DatabaseRecord(page, at: node.data)))
            return
        }
        if flags & LMDBLayout.bigData != 0 {
            overflow(page.load(node.data), size: node.value, pgno: pgno, index: index, tree: &tree)
        } else if tree.kind == .free {
            var list = FreeList()
            guard freePages(page[node.data..<(node.data + Int(node.value))], &list, size: node.value, pgno: pgno,
                            index: index, tree: &tree) else { return }
            freeListEnd(list, pgno: pgno, index: index, tree: &tree)
        }
    }

    /// Checks the overflow run at `first` holding a `size`-byte value and claims its pages; reads its bytes when the
    /// value is a free list or the walk reads every byte.
    mutating func overflow(_ first: UInt64, size: UInt64, pgno: UInt64, index: Int, tree: inout Tree) {
        guard claim(first, tree: &tree, parent: pgno, what: "overflow page") else { return }
        var bytes: [UInt8] = []
        swap(&bytes, &header)
        defer { swap(&bytes, &header) }
        let start = first * UInt64(pageSize)
        if let error = read(&bytes, count: LMDBLayout.pageHeader, at: start) {
            damage(&tree, "overflow page \(first): \(Self.describe(error))")
            return
        }
        let number: UInt64 = bytes.load(0)
        let flags: UInt16 = bytes.load(10)
        let pages = UInt64(bytes.load(12) as UInt32)
        guard number == first else {
            damage(&tree, "overflow page \(first) (from page \(pgno)): its header says page \(number)")
            return
        }
        guard flags == LMDBLayout.overflow else {
            damage(&tree, "overflow page \(first) (from page \(pgno)): flags 0x\(String(flags, radix: 16)), not an overflow page")
            return
        }
        // LMDB's OVPAGES: header and value in whole pages. A run may be longer: a value that shrinks keeps its run.
        let needed = (UInt64(LMDBLayout.pageHeader) - 1 + size) / UInt64(pageSize) + 1
        guard pages >= needed else {
            damage(&tree, "overflow page \(first) (from page \(pgno)): a run of \(pages) pages cannot hold \(size) bytes")
            return
        }
        let end = first + (pages - 1)  // cannot wrap: first < filePages and pages < 2^32
        guard end <= lastPage, end < filePages else {
            let limit = end >= filePages ? "end of the file (\(filePages) pages)" : "last page, \(lastPage)"
            damage(&tree, "overflow page \(first) (from page \(pgno)): its run of \(pages) pages passes the \(limit)")
            return
        }
        tree.overflowPages &+= pages
        for p in stride(from: first + 1, through: end, by: 1) {
            guard claim(p, tree: &tree, parent: pgno, what: "overflow page") else { return }
        }
        if tree.kind == .free {
            var list = FreeList()
            var done: UInt64 = 0
            var buffer: [UInt8] = []
            swap(&buffer, &chunk)
            defer { swap(&buffer, &chunk) }
            while done < size {
                let n = Int(min(size - done, UInt64(Self.chunkBytes)))
                if let error = read(&buffer, count: n, at: start + UInt64(LMDBLayout.pageHeader) + done) {
                    damage(&tree, "overflow page \(first): \(Self.describe(error))")
                    return
                }
                guard freePages(buffer[...], &list, size: size, pgno: pgno, index: index, tree: &tree) else { return }
                done += UInt64(n)
            }
            freeListEnd(list, pgno: pgno, index: index, tree: &tree)
        }
        if readEveryByte {
            var done: UInt64 = 0
            var buffer: [UInt8] = []
            swap(&buffer, &chunk)
            defer { swap(&buffer, &chunk) }
            let total = pages * UInt64(pageSize)
            while done < total {
                let n = Int(min(total - done, UInt64(Self.chunkBytes)))
                if let error = read(&buffer, count: n, at: start + done) {
                    damage(&tree, "overflow page \(first + done / UInt64(pageSize)): \(Self.describe(error))")
                    return
                }
                done += UInt64(n)
            }
        }
    }

    /// Marks the free pages in `bytes`, the next piece (a multiple of 8 bytes, but for the last) of a free-list entry of
    /// `size` bytes; false when the entry is damaged.
    mutating func freePages(_ bytes: ArraySlice<UInt8>, _ list: inout FreeList, size: UInt64, pgno: UInt64, index: Int,
                            tree: inout Tree) -> Bool {
        var at = bytes.startIndex
        while at + 8 <= bytes.endIndex {
            var word: UInt64 = 0
            for k in 0..<8 { word |= UInt64(bytes[at + k]) << UInt64(8 * k) }
            at += 8
            guard let count = list.count else {
                guard word < size / 8 else {
                    damage(&tree, "page \(pgno): node \(index) lists \(word) free pages, more than its \(size) bytes hold")
                    return false
                }
                list.count = word
                continue
            }
            guard list.read < count else { return true }
            list.read += 1
            guard word >= 2, word <= lastPage else {
                damage(&tree, "page \(pgno): node \(index) lists page \(word) as free, outside pages 2...\(lastPage)")
                return false
            }
            guard word < UInt64(owner.count) else {
                freeBeyond &+= 1
                continue
            }
            let (slot, bit) = (Int(word / 64), UInt64(1) << (word % 64))
            guard free[slot] & bit == 0 else {
                damage(&tree, "page \(pgno): node \(index) lists page \(word) as free a second time")
                return false
            }
            free[slot] |= bit
        }
        return true
    }

    /// Checks that a free-list entry held its count (a value under 8 bytes holds none).
    mutating func freeListEnd(_ list: FreeList, pgno: UInt64, index: Int, tree: inout Tree) {
        if list.count == nil { damage(&tree, "page \(pgno): node \(index) is a free-list entry of under 8 bytes") }
    }

    /// Checks, once every tree is sound, that each page up to the last is either in use or listed as free, never both:
    /// LMDB would hand out a page in use, and never again one that is neither (leaked).
    mutating func checkPageMap() {
        var leaked: UInt64 = 0
        var firstLeaked: Int?
        for p in 2..<max(2, owner.count) {
            let listed = free[p / 64] & (UInt64(1) << UInt64(p % 64)) != 0
            if owner[p] != 0 && listed {
                damage(treeNames[1], "page \(p) is listed as free but used by \(treeNames[Int(owner[p]) - 1])")
            } else if owner[p] == 0 && !listed {
                leaked += 1
                if firstLeaked == nil { firstLeaked = p }
            }
        }
        // Pages past the end of the file were never written: the free list must name each.
        let mapped = UInt64(max(2, owner.count))
        let beyond = lastPage >= mapped ? lastPage - mapped + 1 : 0
        if freeBeyond < beyond {
            leaked += beyond - freeBeyond
            if firstLeaked == nil { firstLeaked = max(2, owner.count) }
        } else if freeBeyond > beyond {
            damage(treeNames[1], "lists \(freeBeyond - beyond) pages past the end of the file more than once")
        }
        if leaked > 0, let firstLeaked {
            problem("\(leaked) pages are neither in use nor listed as free (the first is page \(firstLeaked))")
        }
    }
}

extension [UInt8] {
    /// The little-endian integer at `offset`; 0 where it would run past either end (callers check bounds first: this
    /// keeps a missed check from trapping).
    func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return 0 }
        return withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
