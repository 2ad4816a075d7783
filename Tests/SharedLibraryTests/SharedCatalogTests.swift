import Catalog
import Foundation
import Testing
import TestSupport
@testable import SharedLibrary

/// The shared catalog's operations on a real server: claims that never overlap, leases that run out and are taken
/// over, files that kill their workers, moved and changed files, and replicas that apply changes exactly and
/// repeatably.
@Suite(.serialized, .enabled(if: PostgresCluster.isAvailable, "needs PostgreSQL's server (make deps installs postgresql-15)"))
struct SharedCatalogTests {
    static let model = ModelIdentity(id: "test-model", dimension: 4, name: "test", domain: "synthetic")

    let cluster: PostgresCluster
    let database: SharedDatabase

    init() async throws {
        cluster = try PostgresCluster()
        database = try await SharedDatabase.open(try PostgresAddress(cluster.url()))
        try await database.adopt(Self.model)
        try await database.addRoots(["footage"])
    }

    static func fingerprint(_ n: Int) -> Fingerprint { Fingerprint(size: UInt64(1000 + n), hash: UInt64(n) &* 0x9E37_79B9_7F4A_7C15) }

    /// `clips` segments of 1 s with vectors whose first component is `seed`.
    static func video(_ seed: Float, clips: Int = 2) -> EmbeddedVideo {
        EmbeddedVideo(segments: (0..<clips).map { Segment(start: Double($0), end: Double($0) + 1) },
                      vectors: (0..<clips).flatMap { [seed, Float($0), 1, 0.5] }, duration: Double(clips))
    }

    func queue(_ n: Int, path: String? = nil) async throws -> EnqueueOutcome {
        try await database.enqueue(root: "footage", path: path ?? "v\(n).mp4", fingerprint: Self.fingerprint(n), mtime: Double(n))
    }

    @Test func concurrentClaimsNeverShareAnItem() async throws {
        for n in 0..<12 { #expect(try await queue(n) == .queued) }
        #expect(try await queue(3) == .waiting, "queued twice is one item")
        let address = database.address
        // Four workers, each on its own connection, claim until the queue is empty.
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for w in 0..<4 {
                group.addTask {
                    let db = try await SharedDatabase.open(address)
                    var mine: [Int64] = []
                    while let item = try await db.claim(worker: "w\(w)", roots: ["footage"], lease: 60, maxAttempts: 3) {
                        mine.append(item.id)
                    }
                    await db.close()
                    return mine
                }
            }
            return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
        }
        let all = claimed.flatMap { $0 }
        #expect(all.count == 12 && Set(all).count == 12)
        #expect(try await database.pending(roots: ["footage"]).claimed == 12)
    }

    @Test func aLeaseThatRunsOutIsTakenOverAndTheLateCommitIsRefused() async throws {
        #expect(try await queue(1) == .queued)
        let first = try #require(try await database.claim(worker: "a", roots: ["footage"], lease: 60, maxAttempts: 3))
        #expect(try await database.claim(worker: "b", roots: ["footage"], lease: 60, maxAttempts: 3) == nil, "held")
        #expect(try await database.renew(first, worker: "a", lease: 60))
        try expireLeases()
        let second = try #require(try await database.claim(worker: "b", roots: ["footage"], lease: 60, maxAttempts: 3))
        #expect(second.id == first.id && second.attempts == 2)
        #expect(try await !database.renew(first, worker: "a", lease: 60), "a's lease is gone")
        await #expect(throws: SharedLibraryError.lostLease(database.address.description, path: "footage/v1.mp4")) {
            try await database.complete(first, worker: "a", video: Self.video(1), model: Self.model)
        }
        try await database.complete(second, worker: "b", video: Self.video(1), model: Self.model)
        #expect(try cluster.psql("SELECT count(*) FROM videos") == "1")
        #expect(try cluster.psql("SELECT count(*) FROM segments") == "2")
    }

    @Test func aStoppingWorkerGivesItsFileBack() async throws {
        #expect(try await queue(1) == .queued)
        let item = try #require(try await database.claim(worker: "a", roots: ["footage"], lease: 60, maxAttempts: 3))
        try await database.release(item, worker: "b")
        #expect(try await database.claim(worker: "b", roots: ["footage"], lease: 60, maxAttempts: 3) == nil, "only the holder can")
        try await database.release(item, worker: "a")
        let again = try #require(try await database.claim(worker: "b", roots: ["footage"], lease: 60, maxAttempts: 3))
        #expect(again.id == item.id && again.attempts == 1, "a release is not an attempt")
    }

    @Test func aFileThatKeepsKillingItsWorkersIsFailedAfterTheLastAttempt() async throws {
        #expect(try await queue(1) == .queued)
        for attempt in 1...2 {
            let item = try #require(try await database.claim(worker: "w\(attempt)", roots: ["footage"], lease: 60, maxAttempts: 2))
            #expect(item.attempts == attempt)
            try expireLeases()
        }
        #expect(try await database.claim(worker: "w3", roots: ["footage"], lease: 60, maxAttempts: 2) == nil)
        #expect(try cluster.psql("SELECT state || ': ' || error FROM work_items") == "failed: gave up after 2 workers stopped while embedding it")
        #expect(try await queue(1) == .failedBefore("gave up after 2 workers stopped while embedding it"))
        #expect(try await queue(2) == .queued, "another content is queued")
    }

    @Test func movedAndChangedFilesKeepOneVideoPerContent() async throws {
        #expect(try await queue(1, path: "a.mp4") == .queued)
        let item = try #require(try await database.claim(worker: "w", roots: ["footage"], lease: 60, maxAttempts: 3))
        let id = try await database.complete(item, worker: "w", video: Self.video(1), model: Self.model)
        // The same content at a second path: linked, nothing to embed.
        #expect(try await queue(1, path: "copy/a.mp4") == .linked)
        #expect(try cluster.psql("SELECT string_agg(path, ',' ORDER BY path) FROM video_paths WHERE video = \(id)") == "a.mp4,copy/a.mp4")
        // New content at a.mp4: once embedded, a.mp4 shows it; the old video keeps its other path.
        #expect(try await queue(2, path: "a.mp4") == .queued)
        let changed = try #require(try await database.claim(worker: "w", roots: ["footage"], lease: 60, maxAttempts: 3))
        let newID = try await database.complete(changed, worker: "w", video: Self.video(2), model: Self.model)
        #expect(try cluster.psql("SELECT string_agg(path || '=' || (video = \(newID)), ',' ORDER BY path) FROM video_paths") == "a.mp4=true,copy/a.mp4=false")
        // New content at copy/a.mp4 too: the old video has no path left and is removed, with a change saying so.
        #expect(try await queue(3, path: "copy/a.mp4") == .queued)
        let last = try #require(try await database.claim(worker: "w", roots: ["footage"], lease: 60, maxAttempts: 3))
        try await database.complete(last, worker: "w", video: Self.video(3), model: Self.model)
        #expect(try cluster.psql("SELECT count(*) FROM videos WHERE id = \(id)") == "0")
        #expect(try cluster.psql("SELECT string_agg(kind, ',' ORDER BY seq) FROM changes WHERE video = \(id)") == "insert,relink,relink,remove")
    }

    @Test func aReplicaAppliesChangesExactlyAndCanRepeatThem() async throws {
        let folder = try TemporaryDirectory(prefix: "vj-replica")
        let replica = folder.file("replica").path
        for n in 1...3 {
            #expect(try await queue(n) == .queued)
            let item = try #require(try await database.claim(worker: "w", roots: ["footage"], lease: 60, maxAttempts: 3))
            try await database.complete(item, worker: "w", video: Self.video(Float(n), clips: n), model: Self.model)
        }
        let first = try await Replica.sync(database, into: replica, roots: ["footage": "/mnt/footage"])
        #expect(first.copied == 3 && first.segments == 6 && first.changes == 3)
        var library = try Library(path: replica, model: nil, create: false)
        #expect(library.meta.modelID == Self.model.id)
        let paths = try library.videos().map(\.path).sorted()
        #expect(paths == ["/mnt/footage/v1.mp4", "/mnt/footage/v2.mp4", "/mnt/footage/v3.mp4"])
        // Up to date: nothing to do. Then the state is rewound (a sync killed before it recorded its place): the
        // same changes apply again and the replica is unchanged.
        #expect(try await Replica.sync(database, into: replica, roots: ["footage": "/mnt/footage"]).changes == 0)
        let state = try #require(Replica.state(at: replica))
        try JSONEncoder().encode(Replica.State(library: state.library, seq: 0)).write(to: folder.file("replica/replica.json"))
        let again = try await Replica.sync(database, into: replica, roots: ["footage": "/mnt/footage"])
        #expect(again.copied == 3)
        library = try Library(path: replica, model: nil, create: false)
        #expect(try library.environment.read { txn in try library.segmentCount(in: txn) } == 6)
        #expect(try library.videos().count == 3)
        // A video removed in the database is dropped from the replica.
        #expect(try await queue(4, path: "v1.mp4") == .queued)
        let item = try #require(try await database.claim(worker: "w", roots: ["footage"], lease: 60, maxAttempts: 3))
        try await database.complete(item, worker: "w", video: Self.video(4), model: Self.model)
        let after = try await Replica.sync(database, into: replica, roots: ["footage": "/mnt/footage"])
        #expect(after.dropped == 1 && after.copied == 1)
        library = try Library(path: replica, model: nil, create: false)
        #expect(try library.videos().count == 3)
        #expect(try library.environment.read { txn in try library.segmentCount(in: txn) } == 6 - 1 + 2)
        // A database made again (another library id) makes the replica start over.
        try cluster.psql("UPDATE library SET id = gen_random_uuid()")
        let rebuilt = try await Replica.sync(database, into: replica, roots: ["footage": "/mnt/footage"])
        #expect(rebuilt.copied == 3 && rebuilt.seq == rebuilt.changes)
        // A database behind its replica (restored from an older dump) makes it start over too.
        let current = try #require(Replica.state(at: replica))
        try JSONEncoder().encode(Replica.State(library: current.library, seq: current.seq + 100)).write(to: folder.file("replica/replica.json"))
        let restored = try await Replica.sync(database, into: replica, roots: ["footage": "/mnt/footage"])
        #expect(restored.copied == 3 && Replica.state(at: replica)?.seq == current.seq)
    }

    /// Makes every lease run out now, as a worker that stopped renewing would see after its lease's seconds.
    func expireLeases() throws {
        try cluster.psql("UPDATE work_items SET lease_expires = now() - interval '1 second' WHERE state = 'claimed'")
    }
}
