import Foundation
import Testing
import TestSupport
@testable import VectorIndex

/// An environment holding every kind of page vjsearch makes LMDB write: an HNSW index (values on overflow pages, some
/// deleted), `wide`, a database of 300-byte keys three levels deep with every fifth record deleted, and `big`, values
/// of 3-9 kB on overflow runs of one to three pages.
struct PageFixture {
    let dir: TemporaryDirectory
    var file: String { dir.file("data.mdb").path }

    init(seed: UInt64, vectors: Int = 600) throws {
        dir = try TemporaryDirectory(prefix: "vjsearch-pages")
        var gen = VectorGenerator(seed: seed)
        let env = try Environment(path: dir.path)
        if vectors > 0 {
            let index = try HNSWIndex(environment: env, creating: IndexSettings(dimension: 16))
            try index.insert(ids: (0..<vectors).map { UInt64($0) }, vectors: gen.random(vectors, 16))
            _ = try index.delete(ids: (0..<vectors).filter { $0 % 7 == 0 }.map { UInt64($0) })
        }
        func key(_ i: Int) -> [UInt8] { Array(String(format: "k%05d", i).utf8) + [UInt8](repeating: UInt8(i % 251), count: 294) }
        try env.write { txn in
            let wide = try #require(try env.database(named: "wide", create: true, in: txn))
            let big = try #require(try env.database(named: "big", create: true, in: txn))
            for i in 0..<300 {
                try key(i).withUnsafeBytes { k in try [UInt8](repeating: 1, count: 16).withUnsafeBytes { try txn.put(wide, key: k, value: $0) } }
            }
            for i in 0..<8 {
                let value = (0..<(3000 + 800 * i)).map { _ in UInt8(truncatingIfNeeded: gen.next()) }
                try value.withUnsafeBytes { try txn.put(big, key: UInt32(i), value: $0) }
            }
        }
        try env.write { txn in
            let wide = try #require(try env.database(named: "wide", create: false, in: txn))
            for i in stride(from: 0, to: 300, by: 5) { _ = try key(i).withUnsafeBytes { try txn.delete(wide, key: $0) } }
        }
    }
}

/// The bytes of a data file, edited in place and written back.
struct DataFile {
    var bytes: [UInt8]
    let path: String
    let pageSize = 4096

    init(_ path: String) throws {
        self.path = path
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func save() throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T { bytes.load(offset) }

    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { for (k, b) in $0.enumerated() { bytes[offset + k] = b } }
    }

    func flags(_ page: Int) -> UInt16 { load(page * pageSize + 10) }
    func keys(_ page: Int) -> Int { (Int(load(page * pageSize + 12) as UInt16) - 16) / 2 }
    /// Offset in the file of node `i` of `page`.
    func node(_ page: Int, _ i: Int) -> Int { page * pageSize + Int(load(page * pageSize + 16 + 2 * i) as UInt16) }
    /// The child page of node `i` of branch page `page`.
    func child(_ page: Int, _ i: Int) -> Int {
        let n = node(page, i)
        return Int(load(n) as UInt16) | Int(load(n + 2) as UInt16) << 16 | Int(load(n + 4) as UInt16) << 32
    }
    /// Offset of the newer meta page's record.
    var newerMeta: Int {
        let t0: UInt64 = load(16 + 128), t1: UInt64 = load(pageSize + 16 + 128)
        return (t1 > t0 ? pageSize : 0) + 16
    }
}

@Suite struct PageWalkerTests {
    /// Pages that `tree` uses, by the walk's map of owners.
    func pages(of tree: String, in walker: PageWalker) throws -> [Int] {
        let tag = try #require(walker.treeNames.firstIndex(of: tree)) + 1
        return walker.owner.indices.filter { Int(walker.owner[$0]) == tag }
    }

    @Test func aRealIndexWalksClean() throws {
        let fixture = try PageFixture(seed: 1)
        for everyByte in [false, true] {
            let walker = try LMDBFileCheck.walk(path: fixture.file, readEveryByte: everyByte)
            let report = walker.report
            #expect(report.isClean, "\(report.problems)")
            #expect(!report.isDamaged)
            #expect(report.databases == ["big", "hnsw.free", "hnsw.ids", "hnsw.links", "hnsw.meta", "hnsw.slots",
                                         "hnsw.upper", "hnsw.vectors", "wide"])
            #expect(report.pageSize == 4096)
            #expect(report.pagesVisited == walker.owner.filter { $0 != 0 }.count)
            let file = try DataFile(fixture.file)
            let wide = try pages(of: "wide", in: walker)
            #expect(wide.filter { file.flags($0) == 1 }.count >= 3, "wide should be three levels deep")
            if everyByte { #expect(report.bytesRead >= file.bytes.count / 2) }
        }
    }

    @Test func anEmptyEnvironmentWalksClean() throws {
        let dir = try TemporaryDirectory()
        _ = try Environment(path: dir.path)
        let report = try LMDBFileCheck.check(path: dir.file("data.mdb").path)
        #expect(report.isClean, "\(report.problems)")
        #expect(report.databases.isEmpty)
        // An empty file is a new environment to LMDB.
        #expect(FileManager.default.createFile(atPath: dir.file("empty.mdb").path, contents: Data()))
        let empty = try LMDBFileCheck.check(path: dir.file("empty.mdb").path)
        #expect(empty.isClean && empty.pagesVisited == 0)
    }

    @Test func filesThatCannotBeReadAreErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: IndexError.missing(path: dir.file("none").path)) { try LMDBFileCheck.check(path: dir.file("none").path) }
        #expect(throws: IndexError.self) { try LMDBFileCheck.check(path: dir.path) }
        #expect(mkfifo(dir.file("fifo").path, 0o600) == 0)
        #expect(throws: IndexError.self) { try LMDBFileCheck.check(path: dir.file("fifo").path) }
    }

    /// A writer in another process commits batch after batch during the walks, and every walk is clean. (The read
    /// transaction that `check(environment:)` holds keeps the writer from reusing the walked snapshot's pages; a race
    /// that this test is too short to catch without it.)
    @Test func walksWhileAnotherProcessWrites() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 8)
        let vectors = dir.file("base.fvecs")
        try writeFvecs(gen.random(2000, 16), d: 16, to: vectors)
        _ = try makeIndex(dir, vectors: gen.random(100, 16), d: 16)
        let writer = Process()
        writer.executableURL = try annExecutable()
        writer.arguments = ["build", "--index", dir.path, "--vectors", vectors.path, "--m", "12", "--ef-construction", "16",
                            "--batch", "20", "--first-id", "1000"]
        try writer.run()
        defer { if writer.isRunning { writer.terminate() } }
        var walks = 0
        while writer.isRunning || walks == 0 {
            let report = try LMDBFileCheck.check(environment: dir.path, readEveryByte: walks % 2 == 1)
            #expect(report.isClean, "walk \(walks): \(report.problems)")
            walks += 1
            if walks >= 2000 { break }
        }
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        #expect(walks >= 20)
    }

    enum Damage: String, CaseIterable {
        case branchPageNumber, branchFreeSpace, nodeOffset, overflowPastTheEnd, overflowIntoAnotherTree
        case overflowHeader, metaRoot, metaMagic, cycle, truncated, shorterThanAMetaPage, freeListEntry
    }

    /// Each kind of damage is reported as such, in the tree it hit; none crashes.
    @Test(arguments: Damage.allCases) func damageIsReported(_ damage: Damage) throws {
        let fixture = try PageFixture(seed: 2)
        let walker = try LMDBFileCheck.walk(path: fixture.file)
        try #require(walker.report.isClean)
        var file = try DataFile(fixture.file)
        let ps = file.pageSize
        let wide = try pages(of: "wide", in: walker)
        let branches = wide.filter { file.flags($0) == 1 }
        let children = Set(branches.flatMap { b in (0..<file.keys(b)).map { file.child(b, $0) } })
        let root = try #require(branches.first { !children.contains($0) })
        let inner = try #require(branches.first { $0 != root })
        let leaf = try #require(wide.first { file.flags($0) == 2 })
        let big = try pages(of: "big", in: walker).filter { file.flags($0) == 2 }
        let bigLeaf = try #require(big.first)
        let expected: (tree: String, text: String)
        switch damage {
        case .branchPageNumber:
            file.store(UInt64(12345), at: inner * ps)
            expected = ("wide", "page \(inner): its header says page 12345")
        case .branchFreeSpace:
            file.store(UInt16(3), at: inner * ps + 12)
            expected = ("wide", "page \(inner): its free space 3..<")
        case .nodeOffset:
            file.store(UInt16(5000), at: leaf * ps + 16 + 2)
            expected = ("wide", "page \(leaf): node 1 is at offset 5000")
        case .overflowPastTheEnd:
            // The page number in the first node of a leaf of `big`: each of its values lies on overflow pages.
            let n = file.node(bigLeaf, 0)
            file.store(UInt64(walker.lastPage + 1000), at: n + 8 + Int(file.load(n + 6) as UInt16))
            expected = ("big", "overflow page \(walker.lastPage + 1000) (from page \(bigLeaf)) is past the last page")
        case .overflowIntoAnotherTree:
            let n = file.node(bigLeaf, 0)
            file.store(UInt64(root), at: n + 8 + Int(file.load(n + 6) as UInt16))
            // `big` is walked first (names in key order): it finds a branch page, which `wide` then reaches twice.
            expected = ("big", "overflow page \(root) (from page \(bigLeaf)): flags 0x1, not an overflow page")
        case .overflowHeader:
            let n = file.node(bigLeaf, 0)
            let first = Int(file.load(n + 8 + Int(file.load(n + 6) as UInt16)) as UInt64)
            file.store(UInt64(0), at: first * ps)
            expected = ("big", "overflow page \(first) (from page \(bigLeaf)): its header says page 0")
        case .metaRoot:
            file.store(UInt64(walker.lastPage + 7), at: file.newerMeta + 24 + 48 + 40)
            expected = ("main database", "page \(walker.lastPage + 7) (the root) is past the last page")
        case .metaMagic:
            file.store(UInt32(0xDEAD_BEEF), at: file.newerMeta)
            expected = ("meta pages", "magic is 0xdeadbeef, not LMDB's 0xbeefc0de")
        case .cycle:
            // A child of the second level pointing back at the root.
            let n = file.node(inner, 0)
            file.store(UInt16(root & 0xFFFF), at: n)
            file.store(UInt16(root >> 16 & 0xFFFF), at: n + 2)
            file.store(UInt16(0), at: n + 4)
            expected = ("wide", "page \(root) (from page \(inner)) is reached twice (also by wide): a cycle")
        case .truncated:
            let last = try #require(walker.owner.indices.last { walker.owner[$0] != 0 })
            file.bytes.removeLast(file.bytes.count - last * ps)
            expected = ("", "end of the file (\(last) pages)")
        case .shorterThanAMetaPage:
            file.bytes.removeLast(file.bytes.count - 100)
            expected = ("meta pages", "the file is 100 bytes, too short for an LMDB meta page")
        case .freeListEntry:
            // Any leaf of the free list: its first entry's count, far beyond what its bytes hold.
            let freeLeaf = try #require(try pages(of: "free list", in: walker).first { file.flags($0) == 2 })
            let n = file.node(freeLeaf, 0)
            file.store(UInt64(1 << 40), at: n + 8 + 8)
            expected = ("free list", "page \(freeLeaf): node 0 lists 1099511627776 free pages")
        }
        try file.save()
        let report = try LMDBFileCheck.check(path: fixture.file)
        #expect(report.isDamaged)
        #expect(report.problems.contains { $0.contains(expected.text) }, "\(damage): \(report.problems)")
        if !expected.tree.isEmpty {
            #expect(report.damaged.contains(expected.tree), "\(damage): \(report.damaged)")
            #expect(report.problems.contains { $0.hasPrefix(expected.tree + ": ") || expected.tree == "meta pages" })
        }
    }

    /// Counters that disagree with their tree are problems, but not damage: LMDB reads such a file safely.
    @Test func wrongCountersAreProblemsButNotDamage() throws {
        let fixture = try PageFixture(seed: 3, vectors: 0)
        var file = try DataFile(fixture.file)
        let entries = file.newerMeta + 24 + 48 + 32
        file.store(UInt64(file.load(entries) as UInt64) + 1, at: entries)
        try file.save()
        let report = try LMDBFileCheck.check(path: fixture.file)
        #expect(!report.isDamaged)
        #expect(report.problems == ["main database: holds 2 entries, its record says 3"])
    }

    /// Random bit flips, byte overwrites and truncations of a small real file: the walk never traps (a trap would end
    /// the test process), reports within its limits, and finds most of the damage to page headers.
    @Test func randomDamageNeverTraps() throws {
        let fixture = try PageFixture(seed: 4, vectors: 0)
        let walker = try LMDBFileCheck.walk(path: fixture.file)
        try #require(walker.report.isClean)
        let original = try DataFile(fixture.file)
        let used = walker.owner.indices.filter { walker.owner[$0] != 0 }
        var gen = SplitMix64(seed: 99)
        var headersHit = 0, headersFound = 0
        for variant in 0..<400 {
            var file = original
            let page = used[Int(gen.next() % UInt64(used.count))]
            let base = page * file.pageSize
            // Pages that start with a header naming them: all but the later pages of an overflow run.
            let hasHeader = file.load(base) as UInt64 == UInt64(page)
            var hitHeader = false
            switch variant % 5 {
            case 0, 1:  // one to four bit flips in a page's header and first node offsets
                for _ in 0...(gen.next() % 4) {
                    let at = base + Int(gen.next() % 24)
                    file.bytes[at] ^= 1 << UInt8(gen.next() % 8)
                    hitHeader = hitHeader || (hasHeader && at - base < 16)
                }
            case 2:  // a random byte anywhere in a page
                file.bytes[base + Int(gen.next() % UInt64(file.pageSize))] = UInt8(truncatingIfNeeded: gen.next())
            case 3:  // a run of random bytes
                let at = base + Int(gen.next() % UInt64(file.pageSize - 16))
                for k in 0..<Int(1 + gen.next() % 16) { file.bytes[at + k] = UInt8(truncatingIfNeeded: gen.next()) }
            default:  // truncated anywhere
                file.bytes.removeLast(Int(gen.next() % UInt64(file.bytes.count)))
            }
            try file.save()
            for everyByte in [false, true] {
                let report = try LMDBFileCheck.check(path: fixture.file, readEveryByte: everyByte)
                #expect(report.problems.count <= LMDBFileReport.problemLimit)
                #expect(report.problemCount >= report.problems.count)
                #expect(!report.isDamaged || report.problemCount > 0)
                if hitHeader && !everyByte {
                    headersHit += 1
                    if report.problemCount > 0 { headersFound += 1 }
                }
            }
        }
        // A flip in a header is found unless it hit bytes that mean nothing (the pad, a meta page's free-space bounds).
        #expect(headersFound * 10 >= headersHit * 9, "\(headersFound) of \(headersHit) header flips found")
    }
}
