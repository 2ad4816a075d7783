import CLMDB
import Dispatch
import Foundation
import Testing
import TestSupport
@testable import VectorIndex

@Suite struct SafetyTests {
    @Test func concurrentReadersDuringWrites() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 9)
        let d = 32
        let index = try makeIndex(dir, vectors: gen.random(1000, d), d: d)
        let queries = gen.random(16, d)
        let batches = (0..<8).map { _ in gen.random(250, d) }
        let deadline = Date().addingTimeInterval(20)
        let done = DispatchGroup()
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var searches = 0
            var problems: [String] = []
            var writerDone = false
            func add(_ n: Int, _ problem: String?) {
                lock.lock()
                searches += n
                if let problem { problems.append(problem) }
                lock.unlock()
            }
            var finished: Bool { lock.lock(); defer { lock.unlock() }; return writerDone }
        }
        let tally = Tally()
        // Real threads, so that readers run while the writer works whatever the size of the task pool.
        for reader in 0..<4 {
            done.enter()
            Thread {
                defer { done.leave() }
                var searches = 0
                var lastCount = 0
                do {
                    while Date() < deadline {
                        let writerFinished = tally.finished
                        let count = try index.count()
                        if count < lastCount || count > 3000 || (count - 1000) % 250 != 0 {
                            tally.add(0, "count went \(lastCount) → \(count)")
                        }
                        lastCount = count
                        let hits = try index.search(row(queries, (reader + searches) % 16, d), k: 10)
                        if hits.count != 10 || !hits.allSatisfy({ $0.id < 3000 })
                            || !zip(hits, hits.dropFirst()).allSatisfy({ $0.distance <= $1.distance }) {
                            tally.add(0, "torn result \(hits)")
                        }
                        searches += 1
                        if writerFinished && searches > 20 { break }
                    }
                } catch {
                    tally.add(0, "reader error: \(error)")
                }
                tally.add(searches, nil)
            }.start()
        }
        for (b, batch) in batches.enumerated() {
            let first = 1000 + b * 250
            try index.insert(ids: (first..<(first + 250)).map { UInt64($0) }, vectors: batch)
        }
        tally.lock.lock()
        tally.writerDone = true
        tally.lock.unlock()
        done.wait()
        #expect(tally.problems.isEmpty, "\(tally.problems.prefix(3))")
        #expect(tally.searches > 80)
        #expect(try index.count() == 3000)
        #expect(try index.verify().isSound)
    }

    @Test func killedBuildLeavesOnlyCommittedBatches() throws {
        let ann = try annExecutable()
        var gen = VectorGenerator(seed: 10)
        let d = 32
        let dir = try TemporaryDirectory()
        let vectors = dir.file("base.fvecs")
        try writeFvecs(gen.random(6000, d), d: d, to: vectors)
        // Kill at a random moment; adapt the delay until some kills land mid-build.
        var delay = 0.3
        var midBuildKills = 0
        for attempt in 0..<8 where midBuildKills < 2 {
            let indexDir = dir.file("index\(attempt)").path
            let process = Process()
            process.executableURL = ann
            process.arguments = ["build", "--index", indexDir, "--vectors", vectors.path, "--batch", "150",
                                 "--m", "8", "--ef-construction", "40"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(delay * (0.5 + Double(gen.uniform())) * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            var count = 0
            do {
                let index = try HNSWIndex(path: indexDir)
                count = try index.count()
                #expect(count % 150 == 0 || count == 6000, "count \(count) is not a whole number of batches")
                let report = try index.verify()
                #expect(report.isSound, "\(report)")
                #expect(report.nodes == count)
                if count > 0 {
                    #expect(try index.contains(UInt64(count - 1)))
                    #expect(try !index.contains(UInt64(count)))
                }
            } catch IndexError.notAnIndex, IndexError.missing {
                // Killed before the first commit.
            }
            if count == 0 {
                delay *= 2
            } else if count == 6000 {
                delay /= 2
            } else {
                midBuildKills += 1
                // Run again: the build resumes after the committed batches instead of starting over.
                let rerun = try runANN(ann, ["build", "--index", indexDir, "--vectors", vectors.path, "--batch", "150",
                                             "--m", "8", "--ef-construction", "40"])
                #expect(rerun.status == 0)
                #expect(rerun.output.contains("resuming after \(count) rows"), "\(rerun.output)")
                let index = try HNSWIndex(path: indexDir)
                #expect(try index.count() == 6000)
                #expect(try index.verify().isSound)
            }
        }
        #expect(midBuildKills >= 1, "no kill landed in the middle of a build")
    }

    /// `vjsearch-ann random-ops`, the tool that checks 1,000 operations on a 1M index, on a small one here.
    @Test func randomOperationsLeaveASoundIndex() throws {
        let ann = try annExecutable()
        var gen = VectorGenerator(seed: 11)
        let d = 16
        let dir = try TemporaryDirectory()
        _ = try makeIndex(dir, vectors: gen.clustered(2000, d, centres: 10), d: d)
        let extra = dir.file("extra.fvecs")
        try writeFvecs(gen.clustered(500, d, centres: 10), d: d, to: extra)
        let r = try runANN(ann, ["random-ops", "--index", dir.path, "--vectors", extra.path, "--first-id", "2000", "--ops", "300"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("300 operations") && r.output.contains("index is sound"), "\(r.output)")
    }

    @Test func garbageFileIsAnError() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 11)
        let garbage = (0..<65536).map { _ in UInt8(truncatingIfNeeded: gen.next()) }
        try Data(garbage).write(to: dir.file("data.mdb"))
        #expect {
            _ = try HNSWIndex(path: dir.path)
        } throws: { error in
            guard case IndexError.corrupt(let path, _) = error else { return false }
            return path.hasSuffix("data.mdb")
        }
    }

    @Test func truncatedFileIsAnError() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 12)
        do { _ = try makeIndex(dir, vectors: gen.random(2000, 32), d: 32) }
        let file = dir.file("data.mdb").path
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(truncate(file, off_t(size / 2)) == 0)
        #expect {
            _ = try HNSWIndex(path: dir.path)
        } throws: { error in
            guard case IndexError.corrupt(_, let reason) = error else { return false }
            return reason.contains("truncated")
        }
        #expect(truncate(file, 100) == 0)
        #expect(throws: IndexError.self) { try HNSWIndex(path: dir.path) }
    }

    @Test func missingAndEmptyIndexesAreErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: IndexError.missing(path: dir.file("nothing").path)) { try HNSWIndex(path: dir.file("nothing").path) }
        _ = try Environment(path: dir.path)
        #expect(throws: IndexError.notAnIndex(path: dir.path, name: "hnsw")) { try HNSWIndex(path: dir.path) }
    }

    @Test func damagedMetadataAndChunksAreReported() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 13)
        let d = 16
        let env = try Environment(path: dir.path)
        let index = try HNSWIndex(environment: env, creating: IndexSettings(dimension: d))
        try index.insert(ids: (0..<500).map { UInt64($0) }, vectors: gen.random(500, d))
        // A link count beyond the degree bound: verify reports it instead of crashing.
        try env.write { txn in
            let links = try #require(try env.database(named: "hnsw.links", create: false, in: txn))
            let chunk = try #require(try txn.get(links, key: UInt32(0)))
            var copy = [UInt8](chunk)
            copy.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(1000), as: UInt32.self) }
            try copy.withUnsafeBytes { try txn.put(links, key: UInt32(0), value: $0) }
        }
        let report = try index.verify()
        #expect(!report.isSound)
        #expect(report.problems.contains { $0.contains("more than") })
        // A short chunk: a clear error from search and a problem from verify.
        try env.write { txn in
            let vectors = try #require(try env.database(named: "hnsw.vectors", create: false, in: txn))
            try [UInt8](repeating: 0, count: 100).withUnsafeBytes { try txn.put(vectors, key: UInt32(0), value: $0) }
        }
        #expect(throws: IndexError.self) { try index.search(gen.random(1, d), k: 3) }
        #expect(!(try index.verify().isSound))
        // A garbage metadata record.
        try env.write { txn in
            let meta = try #require(try env.database(named: "hnsw.meta", create: false, in: txn))
            try [UInt8](repeating: 7, count: 128).withUnsafeBytes { value in
                try Array("meta".utf8).withUnsafeBytes { try txn.put(meta, key: $0, value: value) }
            }
        }
        #expect(throws: IndexError.self) { try HNSWIndex(environment: env) }
    }

    /// A link that points past the last slot (a flipped bit in the file) made a search read wild memory; now it is
    /// an error naming the index, for every record of layer 0 in turn.
    @Test func linksPastTheLastSlotAreErrorsNotCrashes() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 17)
        let d = 16
        let env = try Environment(path: dir.path)
        let index = try HNSWIndex(environment: env, creating: IndexSettings(dimension: d))
        try index.insert(ids: (0..<300).map { UInt64($0) }, vectors: gen.random(300, d))
        let queries = gen.random(8, d)
        #expect(try index.verify().isSound)
        let m0 = index.layout.m0
        try env.write { txn in
            let links = try #require(try env.database(named: "hnsw.links", create: false, in: txn))
            let chunk = try #require(try txn.get(links, key: UInt32(0)))
            var copy = [UInt8](chunk)
            copy.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt32.self)
                // Every record [count, neighbours…]: its first neighbour becomes a slot far past the last.
                var r = 0
                while r + 1 < words.count {
                    if words[r] > 0 { words[r + 1] = 0x00FF_FFFF }
                    r += m0 + 1
                }
            }
            try copy.withUnsafeBytes { try txn.put(links, key: UInt32(0), value: $0) }
        }
        for q in 0..<8 {
            let query = Array(queries[(q * d)..<((q + 1) * d)])
            #expect { try index.search(query, k: 5, ef: 64) } throws: { error in
                guard case IndexError.corrupt(let path, let reason) = error else { return false }
                return path == dir.path && reason.contains("past the last") && reason.contains("vjsearch verify")
            }
        }
    }
}
