import Foundation
import Testing
import TestSupport
@testable import VectorIndex

/// `HNSWIndex.vectors(ids:in:)`: stored vectors by id, in the order asked, checked against their checksums.
@Suite struct VectorReadTests {
    @Test func vectorsComeBackInTheOrderAsked() throws {
        let dir = try TemporaryDirectory()
        let d = 8
        var gen = VectorGenerator(seed: 5)
        let vectors = gen.random(50, d)
        let index = try makeIndex(dir, vectors: vectors, d: d, metric: .l2)
        let ids: [UInt64] = [42, 0, 7, 42]
        let read = try #require(try index.environment.read { txn in try index.vectors(ids: ids, in: txn) })
        #expect(read == ids.flatMap { row(vectors, Int($0), d) })
        #expect(try index.environment.read { txn in try index.vectors(ids: [], in: txn) } == [])
    }

    @Test func cosineVectorsAreStoredUnitLength() throws {
        let dir = try TemporaryDirectory()
        let d = 8
        var gen = VectorGenerator(seed: 6)
        let index = try makeIndex(dir, vectors: gen.random(10, d), d: d, metric: .cosine)
        let read = try #require(try index.environment.read { txn in try index.vectors(ids: [3], in: txn) })
        #expect(abs(read.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
    }

    @Test func anUnknownOrDeletedIdIsNil() throws {
        let dir = try TemporaryDirectory()
        let d = 8
        var gen = VectorGenerator(seed: 7)
        let index = try makeIndex(dir, vectors: gen.random(20, d), d: d, metric: .l2)
        try index.delete(ids: [4])
        #expect(try index.environment.read { txn in try index.vectors(ids: [1, 99], in: txn) } == nil)
        #expect(try index.environment.read { txn in try index.vectors(ids: [4], in: txn) } == nil)
    }

    @Test func aVectorThatFailsItsChecksumIsAnError() throws {
        let dir = try TemporaryDirectory()
        let d = 16
        var gen = VectorGenerator(seed: 8)
        let vectors = gen.random(40, d)
        _ = try makeIndex(dir, vectors: vectors, d: d, metric: .l2)
        #expect(try Damage.flip(vector: row(vectors, 9, d), in: dir.file("data.mdb")) >= 1)
        let index = try HNSWIndex(path: dir.path)
        #expect(try index.environment.read { txn in try index.vectors(ids: [8], in: txn) } == row(vectors, 8, d))
        #expect {
            try index.environment.read { txn in _ = try index.vectors(ids: [8, 9], in: txn) }
        } throws: { error in
            guard case IndexError.corrupt(_, let reason) = error else { return false }
            return reason.contains("checksum") && reason.contains("vjsearch verify")
        }
    }
}
