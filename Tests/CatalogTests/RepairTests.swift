import Foundation
import Testing
import TestSupport
@testable import Catalog

/// `Library.rebuild(into:)`: a library with a damaged vector becomes a sound one holding everything that survived.
@Suite struct RepairTests {
    typealias L = LibraryTests

    /// The stored vector of segment `id`, as the index holds it (normalised).
    static func stored(_ id: UInt64, in library: Library) throws -> [Float] {
        var out: [Float] = []
        _ = try library.environment.read { txn in
            try library.index.salvage(in: txn) { found, vector in if found == id { out = Array(vector) } }
        }
        try #require(out.count == library.meta.dimension)
        return out
    }

    @Test func rebuildKeepsWhatSurvivesAndListsWhatMustBeEmbeddedAgain() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/lib"
        let library = try Library(path: path, model: ("m1", L.dimension), create: true)
        let a = try library.commit(path: "/v/a.mp4", fingerprint: Fingerprint(size: 1, hash: 1), mtime: 1, duration: 4,
                                   segments: L.segments(3), vectors: (0..<3).flatMap { L.vector($0, tilt: 0.1 * Float($0 + 1)) }, replacing: [])
        let b = try library.commit(path: "/v/b.mp4", fingerprint: Fingerprint(size: 2, hash: 2), mtime: 1, duration: 3,
                                   segments: L.segments(2), vectors: (3..<5).flatMap { L.vector($0, tilt: 0.1 * Float($0 + 1)) }, replacing: [])
        try library.recordFailure(path: "/v/bad.mp4", fingerprint: Fingerprint(size: 5, hash: 5), mtime: 1,
                                  failure: .media("not a media file"), replacing: [])
        let victim = try Self.stored(SegmentID.make(video: b.id, index: 1), in: library)
        // The test's vectors differ enough that the pattern cannot straddle two of them.
        #expect(try Damage.flip(vector: victim, in: URL(fileURLWithPath: path + "/data.mdb")) > 0)

        let damaged = try Library(path: path, model: nil, create: false)
        let before = try damaged.verify()
        #expect(!before.isConsistent && before.problems.contains { $0.contains("fails its checksum") }, "\(before.problems)")

        let repaired = dir.path + "/repaired"
        var batches: [Int] = []
        let report = try damaged.rebuild(into: repaired, shared: false, batch: 2) { done, total in
            #expect(total == 3)
            batches.append(done)
        }
        #expect(batches == [2, 3])
        #expect(report.videos == 1 && report.segments == 3 && report.failures == 1)
        #expect(report.reembed == ["/v/b.mp4"])
        #expect(report.damagedVectors == 1 && report.orphanVectors == 1 && report.unreadableRecords == 0)

        let fresh = try Library(path: repaired, model: ("m1", L.dimension), create: false)
        let after = try fresh.verify()
        #expect(after.isConsistent && after.checksummed, "\(after.problems)")
        #expect(after.videos == 1 && after.segments == 3 && after.vectors == 3)
        #expect(try fresh.status().failures == [.init(path: "/v/bad.mp4", cause: "not a media file")])
        let hit = try #require(try fresh.index.search(L.vector(1, tilt: 0.2), k: 1).first)
        #expect(hit.id == SegmentID.make(video: a.id, index: 1) && hit.distance < 1e-5)
        // Video ids are never reused, so the next video gets an id past every one the damaged library handed out.
        let next = try fresh.commit(path: "/v/b.mp4", fingerprint: Fingerprint(size: 2, hash: 2), mtime: 1, duration: 3,
                                    segments: L.segments(1), vectors: L.vector(5), replacing: [])
        #expect(next.id > b.id + 1)
        // The damaged library itself is untouched.
        #expect(try damaged.verify().problems == before.problems)
    }
}
