import Foundation
import Testing
import TestSupport
@testable import VectorIndex

/// Per-vector CRC-32C: a bit flipped on disk in a stored vector is found by `verify` and by a search that would
/// return it, and indexes written before checksums gain them on their next write.
@Suite struct ChecksumTests {
    @Test func crc32cMatchesPublishedCheckValues() {
        // The CRC catalogue's check value, and RFC 3720 (iSCSI) appendix B.4's 32 zero and 32 0xFF bytes.
        let check = Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) }
        #expect(check == 0xE306_9283)
        #expect([UInt8](repeating: 0, count: 32).withUnsafeBytes { CRC32C.checksum($0) } == 0x8A91_36AA)
        #expect([UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { CRC32C.checksum($0) } == 0x62A8_AB43)
        // Continuing over two pieces equals one pass, at every split (the 8-byte loop and the byte tail).
        let bytes = (0..<67).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        for split in 0...bytes.count {
            let head = bytes[..<split].withUnsafeBytes { CRC32C.checksum($0) }
            #expect(bytes[split...].withUnsafeBytes { CRC32C.checksum($0, continuing: head) } == whole, "split \(split)")
        }
    }

    /// Builds an l2 index (vectors stored as given) and returns it with the vectors.
    private func l2Index(_ dir: TemporaryDirectory, n: Int = 300, d: Int = 16) throws -> (HNSWIndex, [Float]) {
        var gen = VectorGenerator(seed: 77)
        let vectors = gen.random(n, d)
        return (try makeIndex(dir, vectors: vectors, d: d, metric: .l2), vectors)
    }

    /// Flips one bit of `vector`'s stored bytes in the file itself, as a failing disk would.
    private func flipStoredBit(of vector: [Float], in dir: TemporaryDirectory) throws {
        #expect(try Damage.flip(vector: vector, in: dir.file("data.mdb")) >= 1, "the vector's bytes are in data.mdb")
    }

    @Test func theCPUInstructionAndTheTablesAgree() {
        var gen = VectorGenerator(seed: 77)
        for length in [0, 1, 7, 8, 9, 63, 64, 1031, 4096] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: gen.next()) }
            bytes.withUnsafeBytes { b in
                let seed = UInt32(truncatingIfNeeded: gen.next())
                #expect(CRC32C.checksum(b, continuing: seed) == CRC32C.tableChecksum(b, continuing: seed), "length \(length)")
            }
        }
    }

    @Test func aFlippedBitInAStoredVectorIsFoundByVerifyAndSearch() throws {
        let dir = try TemporaryDirectory()
        let d = 16
        let (built, vectors) = try l2Index(dir, d: d)
        #expect(try built.verify().isSound)
        #expect(try built.verify().checksummed)
        let target = row(vectors, 123, d)
        try flipStoredBit(of: target, in: dir)

        let index = try HNSWIndex(path: dir.path)
        let report = try index.verify()
        #expect(!report.isSound)
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.contains("fails its checksum") == true, "\(report.problems)")
        #expect(report.problems.first?.contains("id 123") == true, "\(report.problems)")

        // A search whose answer is the damaged vector refuses to return it; one that does not reach it is unaffected.
        for exact in [false, true] {
            #expect {
                _ = exact ? try index.exactSearch(target, k: 3) : try index.search(target, k: 3)
            } throws: { error in
                guard case IndexError.corrupt(_, let reason) = error else { return false }
                return reason.contains("checksum") && reason.contains("vjsearch verify")
            }
        }
        let far = try index.exactSearch(row(vectors, 7, d), k: 1)
        #expect(far.map(\.id) == [7])
    }

    @Test func anIndexWithoutChecksumsGainsThemOnItsNextWrite() throws {
        let dir = try TemporaryDirectory()
        let d = 16
        let (built, vectors) = try l2Index(dir, d: d)
        // Make it look as an index written before checksums: flag clear, every checksum field zero.
        try built.environment.write { txn in
            var meta = try built.readMeta(txn)
            let store = GraphStore(layout: built.layout, databases: built.databases, path: dir.path, meta: meta)
            try store.bind(txn, meta: meta)
            for s in 0..<UInt32(meta.slotCount) {
                store.writableSlot(s).storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
            }
            meta.checksummed = false
            store.updateMeta { $0 = meta }
            try store.flush(txn)
        }
        let old = try built.verify()
        #expect(old.isSound && !old.checksummed, "\(old)")
        // One write adds every checksum.
        var gen = VectorGenerator(seed: 78)
        try built.insert(ids: [10_000], vectors: gen.random(1, d))
        let upgraded = try built.verify()
        #expect(upgraded.isSound && upgraded.checksummed, "\(upgraded)")
        try flipStoredBit(of: row(vectors, 5, d), in: dir)
        let reopened = try HNSWIndex(path: dir.path)
        #expect(try reopened.verify().problems.contains { $0.contains("id 5)") })
    }

    @Test func metadataWithUnknownFlagsIsRefused() throws {
        var meta = Meta(dimension: 8, metric: .l2, parameters: HNSWParameters())
        var words = meta.encode()
        words[14] |= 1 << 7
        let bytes = words.map(\.littleEndian).withUnsafeBytes { Data($0) }
        #expect(throws: IndexError.self) {
            try bytes.withUnsafeBytes { _ = try Meta(bytes: $0, path: "x") }
        }
        meta.checksummed = false
        let clear = meta.encode().map(\.littleEndian).withUnsafeBytes { Data($0) }
        let decoded = try clear.withUnsafeBytes { try Meta(bytes: $0, path: "x") }
        #expect(decoded == meta)
    }
}
