import Foundation
import Testing
import TestSupport
@testable import VectorIndex

@Suite struct PersistenceTests {
    @Test func deleteThirtyPercentKeepsRecall() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 5)
        let d = 32
        let index = try makeIndex(dir, vectors: gen.clustered(3000, d, centres: 30), d: d)
        let deleted = Set((0..<3000).filter { $0 % 10 < 3 }.map { UInt64($0) })
        #expect(try index.delete(ids: Array(deleted)) == 900)
        #expect(try index.delete(ids: [UInt64(0)]) == 0)  // already gone
        #expect(try index.count() == 2100)
        let report = try index.verify()
        #expect(report.isSound, "\(report)")
        let queries = gen.clustered(40, d, centres: 30)
        for q in 0..<40 {
            #expect(try index.search(row(queries, q, d), k: 10).allSatisfy { !deleted.contains($0.id) })
        }
        let r = try recall(index, queries: queries, k: 10, ef: 64)
        #expect(r >= 0.9, "recall@10 after deleting 30%: \(r)")
        // Freed slots are reused by later inserts, and the index stays sound.
        try index.insert(ids: (5000..<5300).map { UInt64($0) }, vectors: gen.clustered(300, d, centres: 30))
        #expect(try index.count() == 2400)
        #expect(try index.verify().isSound)
    }

    @Test func deletingEverythingThenReinserting() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 14)
        let d = 16
        let index = try makeIndex(dir, vectors: gen.random(400, d), d: d)
        #expect(try index.delete(ids: (0..<400).map { UInt64($0) }) == 400)
        #expect(try index.count() == 0)
        #expect(try index.search(gen.random(1, d), k: 5).isEmpty)
        #expect(try index.verify().isSound)
        let again = gen.random(200, d)
        try index.insert(ids: (1000..<1200).map { UInt64($0) }, vectors: again)
        #expect(try index.count() == 200)
        #expect(try index.search(row(again, 17, d), k: 1).first?.id == 1017)
        let report = try index.verify()
        #expect(report.isSound, "\(report)")
        #expect(report.slots == 400)  // freed slots were reused
    }

    @Test func updateReplacesTheVector() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 6)
        let d = 16
        let index = try makeIndex(dir, vectors: gen.random(500, d), d: d)
        let moved = gen.random(1, d)
        try index.update(id: 7, vector: moved)
        #expect(try index.count() == 500)
        let hit = try #require(try index.search(moved, k: 1).first)
        #expect(hit.id == 7)
        #expect(abs(hit.distance) < 1e-5)
        #expect(try index.verify().isSound)
    }

    @Test func reopenGivesIdenticalResults() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 7)
        let d = 32
        let queries = gen.random(20, d)
        var before: [[SearchResult]] = []
        do {
            let index = try makeIndex(dir, vectors: gen.random(2000, d), d: d, metric: .l2)
            before = try (0..<20).map { try index.search(row(queries, $0, d), k: 10) }
        }
        let reopened = try HNSWIndex(path: dir.path)
        #expect(reopened.metric == .l2)
        #expect(reopened.dimension == d)
        let after = try (0..<20).map { try reopened.search(row(queries, $0, d), k: 10) }
        #expect(before == after)
        #expect(try reopened.count() == 2000)
    }

    @Test func writesInTheCallersTransactionCommitOrAbortTogether() throws {
        let dir = try TemporaryDirectory()
        let env = try Environment(path: dir.path)
        let index = try HNSWIndex(environment: env, name: "clips", creating: IndexSettings(dimension: 4))
        struct Abort: Error {}
        let catalog = try env.write { txn in try #require(try env.database(named: "videos", create: true, in: txn)) }
        #expect(throws: Abort.self) {
            try env.write { txn in
                try txn.put(catalog, key: UInt64(1), value: UnsafeRawBufferPointer(start: nil, count: 0))
                try index.insert(ids: [1, 2], vectors: [1, 0, 0, 0, 0, 1, 0, 0], in: txn)
                throw Abort()
            }
        }
        #expect(try index.count() == 0)
        #expect(try env.read { txn in try txn.get(catalog, key: UInt64(1)) == nil })
        try env.write { txn in
            try txn.put(catalog, key: UInt64(1), value: UnsafeRawBufferPointer(start: nil, count: 0))
            try index.insert(ids: [1, 2], vectors: [1, 0, 0, 0, 0, 1, 0, 0], in: txn)
            #expect(try index.search([0, 1, 0, 0], k: 1, in: txn).first?.id == 2)
        }
        #expect(try index.count() == 2)
        #expect(try index.search([0, 1, 0, 0], k: 1).first?.id == 2)
    }

    @Test func databasesCreatedInAnAbortedTransactionAreForgotten() throws {
        let dir = try TemporaryDirectory()
        let env = try Environment(path: dir.path)
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try env.write { txn in
                _ = try env.database(named: "scratch", create: true, in: txn)
                throw Abort()
            }
        }
        #expect(try env.read { txn in try env.database(named: "scratch", create: false, in: txn) } == nil)
        let created = try env.write { txn in try env.database(named: "scratch", create: true, in: txn) }
        #expect(created != nil)
        #expect(try env.read { txn in try env.database(named: "scratch", create: false, in: txn) } == created)
    }

    @Test func mapGrowsWhenFull() throws {
        let dir = try TemporaryDirectory()
        let env = try Environment(path: dir.path, mapSize: 1 << 20)
        let index = try HNSWIndex(environment: env, creating: IndexSettings(
            dimension: 64, parameters: HNSWParameters(m: 8, efConstruction: 40)))
        var gen = VectorGenerator(seed: 8)
        // Each full map aborts and reruns one batch; keep batches small.
        for b in 0..<10 {
            try index.insert(ids: (b * 300..<(b + 1) * 300).map { UInt64($0) }, vectors: gen.random(300, 64))
        }
        #expect(env.mapSize > 1 << 20)
        #expect(try index.count() == 3000)
        #expect(try index.verify().isSound)
    }
}
