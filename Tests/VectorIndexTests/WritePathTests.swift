import Foundation
import Testing
import TestSupport
@testable import VectorIndex

/// Writes that cost what they change: deletes leave tombstones, inserts reuse and relink them, and only the
/// nodes that lost an in-link are checked. `verify` proves the whole graph sound after each.
@Suite struct WritePathTests {
    /// Every stored byte of the graph and vector databases, by database and key.
    func snapshot(_ index: HNSWIndex, _ databases: [Database]) throws -> [[UInt8]] {
        try index.environment.read { txn in
            var out: [[UInt8]] = []
            for db in databases {
                try txn.forEach(db) { key, value in
                    out.append(Array(key) + Array(value))
                    return true
                }
            }
            return out
        }
    }

    @Test func deletingTouchesNoLinkOrVectorAndLeavesTombstonesSearchesSkip() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 31)
        let d = 24
        let index = try makeIndex(dir, vectors: gen.clustered(2000, d, centres: 20), d: d)
        let graphData = [index.databases.links, index.databases.vectors, index.databases.upper]
        let before = try snapshot(index, graphData)
        let deleted = Set((0..<2000).filter { $0 % 4 == 1 }.map { UInt64($0) })
        #expect(try index.delete(ids: Array(deleted)) == 500)
        #expect(try snapshot(index, graphData) == before, "a delete rewrote links or vectors")
        let report = try index.verify()
        #expect(report.isSound, "\(report)")
        #expect(report.nodes == 1500 && report.tombstones == 500 && report.slots == 2000)
        let queries = gen.clustered(50, d, centres: 20)
        for q in 0..<50 {
            let hits = try index.search(row(queries, q, d), k: 10)
            #expect(hits.count == 10)
            #expect(hits.allSatisfy { !deleted.contains($0.id) && $0.distance.isFinite })
        }
        #expect(try recall(index, queries: queries, k: 10, ef: 64) >= 0.9)
        // The tombstone count survives a reopen, and a build that does not know tombstones would refuse the file.
        let reopened = try HNSWIndex(path: dir.path)
        #expect(try reopened.info().tombstones == 500)
        let flags = try reopened.environment.read { txn in try reopened.readMeta(txn).encode()[14] }
        #expect(flags & Meta.Flags.tombstones != 0)
    }

    @Test func insertsReuseTombstonesAndRelinkThem() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 32)
        let d = 24
        let index = try makeIndex(dir, vectors: gen.clustered(2000, d, centres: 20), d: d)
        try index.delete(ids: (0..<600).map { UInt64($0) })
        let fresh = gen.clustered(600, d, centres: 20)
        try index.insert(ids: (10_000..<10_600).map { UInt64($0) }, vectors: fresh)
        let report = try index.verify()
        #expect(report.isSound, "\(report)")
        #expect(report.slots == 2000 && report.tombstones == 0 && report.nodes == 2000)
        for i in stride(from: 0, to: 600, by: 7) {
            #expect(try index.search(row(fresh, i, d), k: 1).first?.id == UInt64(10_000 + i))
        }
        #expect(try recall(index, queries: gen.clustered(50, d, centres: 20), k: 10, ef: 64) >= 0.9)
    }

    /// Random inserts, deletes and updates, one per write, as a library's videos come and go.
    @Test func randomChurnKeepsTheGraphSoundAndRecallHigh() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 33)
        let d = 16
        let index = try makeIndex(dir, vectors: gen.clustered(1500, d, centres: 15), d: d)
        var live = Set((0..<1500).map { UInt64($0) })
        var nextID: UInt64 = 100_000
        for op in 0..<1000 {
            switch gen.next() % 3 {
            case 0:
                let n = Int(gen.next() % 8) + 1
                let ids = (0..<n).map { nextID + UInt64($0) }
                nextID += UInt64(n)
                try index.insert(ids: ids, vectors: gen.clustered(n, d, centres: 15))
                live.formUnion(ids)
            case 1:
                let victims = Array(live.sorted().dropFirst(Int(gen.next() % UInt64(max(live.count, 1)))).prefix(6))
                #expect(try index.delete(ids: victims) == victims.count)
                live.subtract(victims)
            default:
                guard let id = live.sorted().dropFirst(Int(gen.next() % UInt64(max(live.count, 1)))).first else { continue }
                try index.update(id: id, vector: gen.clustered(1, d, centres: 15))
            }
            if op % 250 == 249 {
                let report = try index.verify()
                #expect(report.isSound, "after \(op + 1) operations: \(report)")
            }
        }
        #expect(try index.count() == live.count)
        let r = try recall(index, queries: gen.clustered(60, d, centres: 15), k: 10, ef: 64)
        #expect(r >= 0.9, "recall@10 after 1,000 operations: \(r)")
    }

    @Test func aReaderServesEveryLookupOfAQueryFromOneSnapshot() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 34)
        let d = 16
        let vectors = gen.clustered(1000, d, centres: 10)
        let index = try makeIndex(dir, vectors: vectors, d: d)
        let query = row(vectors, 5, d)
        let expected = try index.search(query, k: 10)
        try index.environment.read { txn in
            try index.withReader(in: txn) { reader in
                #expect(reader.count == 1000)
                // A write commits meanwhile; this reader still sees the snapshot it was bound to.
                try index.delete(ids: expected.map(\.id))
                for _ in 0..<3 {
                    #expect(try reader.search(query, k: 10).map(\.id) == expected.map(\.id))
                }
                let within = Set(expected.map(\.id))
                let exact = try reader.exactSearch(query, k: 10, filter: within)
                #expect(Set(exact.map(\.id)) == within)
                // A run of ids in one cursor pass: every id present, in order, at its exact distance.
                let run = try reader.distances(query, ids: 100..<160)
                #expect(run.map(\.id) == (100..<160).map { UInt64($0) })
                let exactRun = try reader.exactSearch(query, k: 60, filter: Set((100..<160).map { UInt64($0) }))
                let truth = Dictionary(uniqueKeysWithValues: exactRun.map { ($0.id, $0.distance) })
                #expect(run.allSatisfy { abs($0.distance - truth[$0.id]!) < 1e-6 })
                #expect(try reader.distances(query, ids: 5000..<6000).isEmpty)
                let stored = try #require(try reader.vectors(ids: [5]))
                #expect(stored.count == d && stored.allSatisfy(\.isFinite))
            }
        }
        #expect(try index.search(query, k: 10).allSatisfy { !Set(expected.map(\.id)).contains($0.id) })
    }
}

@Suite struct QuantisedStorageTests {
    @Test func int8SearchRescoresToExactDistancesAndKeepsRecall() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 41)
        let d = 64
        let base = gen.clustered(3000, d, centres: 30)
        let index = try makeIndex(dir, vectors: base, d: d, m: 16, efc: 100, storage: .int8)
        let plainDir = try TemporaryDirectory()
        let plain = try makeIndex(plainDir, vectors: base, d: d, m: 16, efc: 100)
        #expect(index.storage == .int8 && plain.storage == .f32)
        let queries = gen.clustered(60, d, centres: 30)
        let r = try recall(index, queries: queries, k: 10, ef: 128)
        let r32 = try recall(plain, queries: queries, k: 10, ef: 128)
        #expect(r >= 0.95, "recall@10 against exact search: int8 \(r), f32 \(r32)")
        #expect(r >= r32 - 0.02, "recall@10 against exact search: int8 \(r), f32 \(r32)")
        for q in 0..<10 {
            let hits = try index.search(row(queries, q, d), k: 10)
            let exact = try index.exactSearch(row(queries, q, d), k: 3000, filter: Set(hits.map(\.id)))
            let truth = Dictionary(uniqueKeysWithValues: exact.map { ($0.id, $0.distance) })
            for h in hits { #expect(abs(h.distance - truth[h.id]!) < 1e-5, "a returned distance is not the exact one") }
            #expect(hits.map(\.distance) == hits.map(\.distance).sorted())
        }
        let info = try index.info()
        #expect(info.searchBytesPerVector <= Int(0.3 * Double(d * 4)), "\(info)")
        #expect(try index.verify().isSound)
    }

    @Test func int8CodesFollowDeletesAndReuse() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 42)
        let d = 32
        let index = try makeIndex(dir, vectors: gen.clustered(1200, d, centres: 12), d: d, storage: .int8)
        try index.delete(ids: (0..<300).map { UInt64($0) })
        let fresh = gen.clustered(300, d, centres: 12)
        try index.insert(ids: (5000..<5300).map { UInt64($0) }, vectors: fresh)
        #expect(try index.verify().isSound)
        for i in stride(from: 0, to: 300, by: 11) {
            #expect(try index.search(row(fresh, i, d), k: 1).first?.id == UInt64(5000 + i))
        }
    }

    @Test func aChangedCodeIsFoundByVerify() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 43)
        let index = try makeIndex(dir, vectors: gen.random(200, 16), d: 16, storage: .int8)
        try index.environment.write { txn in
            let codes = try #require(index.databases.codes)
            let chunk = try #require(try txn.get(codes, key: UInt32(0)))
            var bytes = Array(chunk)
            bytes[4 + 3] &+= 1  // the fourth value of slot 0's code
            try bytes.withUnsafeBytes { try txn.put(codes, key: UInt32(0), value: $0) }
        }
        let report = try index.verify()
        #expect(report.problems.contains { $0.contains("int8 code does not match") }, "\(report)")
    }

    @Test func storageIsFixedAtCreationAndL2HasNoCodes() throws {
        let dir = try TemporaryDirectory()
        _ = try HNSWIndex(path: dir.path, creating: IndexSettings(dimension: 8, storage: .int8))
        #expect(throws: IndexError.self) { try HNSWIndex(path: dir.path, creating: IndexSettings(dimension: 8)) }
        #expect(try HNSWIndex(path: dir.path).storage == .int8)
        let other = try TemporaryDirectory()
        #expect(throws: IndexError.self) {
            try HNSWIndex(path: other.path, creating: IndexSettings(dimension: 8, metric: .l2, storage: .int8))
        }
    }
}
