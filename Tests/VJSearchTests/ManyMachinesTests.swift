import Catalog
import Foundation
import Testing
import TestSupport
import VectorIndex
import Watch

/// A library shared by many machines, end to end with the `vjsearch` binary on real PostgreSQL servers: workers
/// on separate hosts (network namespaces, or processes on loopback without the privilege to make them) split a
/// folder, a killed worker's file is taken over when its lease runs out, a database restart is ridden out, a query
/// node builds its replica and follows later additions, and what cannot work fails in one line with its status.
@Suite(.serialized, .enabled(if: PostgresCluster.isAvailable, "needs PostgreSQL's server (make deps installs postgresql-15)"))
struct ManyMachinesTests {
    /// A `vjsearch` running in the background, its output in files.
    final class Running {
        let process = Process()
        let output: TemporaryDirectory
        /// Writes into the output folder, which wake `awaitError`.
        private let writes: Inotify

        init(_ arguments: [String], prefix: [String] = [], environment: [String: String]) throws {
            output = try TemporaryDirectory(prefix: "vj-run")
            let command = prefix + [try CommandLineTests.binary()] + arguments
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            _ = FileManager.default.createFile(atPath: output.file("out").path, contents: nil)
            _ = FileManager.default.createFile(atPath: output.file("err").path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: output.file("out"))
            process.standardError = try FileHandle(forWritingTo: output.file("err"))
            writes = try Inotify()
            _ = try writes.add(output.path, mask: UInt32(IN_MODIFY))
            try process.run()
        }

        /// Waits for the exit (killing it after `timeout` seconds).
        func wait(timeout: Double = 300) -> CommandLineTests.Result {
            let watchdog = DispatchWorkItem { [process] in kill(process.processIdentifier, SIGKILL) }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
            process.waitUntilExit()
            watchdog.cancel()
            let read = { (name: String) in (try? String(contentsOf: self.output.file(name), encoding: .utf8)) ?? "" }
            return .init(status: process.terminationStatus, stdout: read("out"), stderr: read("err"))
        }

        func kill9() { kill(process.processIdentifier, SIGKILL) }

        /// Waits until the process has written `text` to stderr, woken by each write (inotify).
        func awaitError(containing text: String, timeout: Double = 120) throws {
            let deadline = Date().addingTimeInterval(timeout)
            while !((try? String(contentsOf: output.file("err"), encoding: .utf8)) ?? "").contains(text) {
                guard Date() < deadline, process.isRunning else {
                    throw CommandLineTests.Failure(description: "the process never wrote \(text)")
                }
                // Up to a second per wait, so that an exit (which writes nothing) is noticed.
                var next = pollfd(fd: writes.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&next, 1, 1_000)
                _ = try writes.read()
            }
        }
    }

    let workspace: LibraryWorkspace
    var dir: TemporaryDirectory { workspace.dir }
    var videos: URL { workspace.videos }
    /// What every run sees: replicas under the test's own cache folder, no library or model from the environment.
    var environment: [String: String] { ["XDG_CACHE_HOME": dir.file("cache").path, "VJSEARCH_LIBRARY": "", "VJSEARCH_MODEL": ""] }

    init() throws {
        workspace = try LibraryWorkspace(prefix: "vj-cluster", modelFolder: "model", modelID: "tiny-cluster")
    }

    func run(_ arguments: [String], timeout: Double = 300) throws -> CommandLineTests.Result {
        try CommandLineTests.run(arguments, environment: environment.mapValues { $0 }, timeout: timeout)
    }

    func makeVideos(_ names: [String], seconds: (Int) -> Double, seedOffset: Int = 0) throws {
        for (i, name) in names.enumerated() {
            try LibraryFixtures.video(videos.appendingPathComponent(name).path, seconds: seconds(i), seed: i + seedOffset)
        }
    }

    /// One folder-library run over `videos`: what the shared runs are compared with.
    func singleHost(_ library: String) throws {
        let r = try run(["index", videos.path, "--library", library, "--model", workspace.model, "--threads", "1", "--progress", "none"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// The two folder libraries hold the same videos (by path) with the same segments and vectors.
    static func expectSameCatalog(_ a: String, _ b: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let left = try Library(path: a, model: nil, create: false), right = try Library(path: b, model: nil, create: false)
        #expect(left.meta.modelID == right.meta.modelID, sourceLocation: sourceLocation)
        let rightVideos = Dictionary(try right.videos().map { ($0.path, $0) }, uniquingKeysWith: { x, _ in x })
        let leftVideos = try left.videos()
        #expect(leftVideos.count == rightVideos.count && !leftVideos.isEmpty, sourceLocation: sourceLocation)
        for v in leftVideos {
            guard let w = rightVideos[v.path] else {
                Issue.record("\(v.path) is missing from \(b)", sourceLocation: sourceLocation)
                continue
            }
            #expect(v.status == w.status && v.fingerprint == w.fingerprint && v.segments == w.segments, "\(v.path)", sourceLocation: sourceLocation)
            #expect(abs(v.duration - w.duration) < 1e-9, "\(v.path)", sourceLocation: sourceLocation)
            let (segments, vectors) = try Self.contents(left, v)
            let (otherSegments, otherVectors) = try Self.contents(right, w)
            #expect(segments == otherSegments, "\(v.path)", sourceLocation: sourceLocation)
            #expect(toleranceMismatch(vectors, otherVectors, rel: 0, abs: 1e-6) == nil, "\(v.path)", sourceLocation: sourceLocation)
        }
    }

    static func contents(_ library: Library, _ video: VideoRecord) throws -> ([Segment], [Float]) {
        let ids = (0..<video.segments).map { SegmentID.make(video: video.id, index: $0) }
        return try library.environment.read { txn in
            (try ids.compactMap { try library.segment($0, in: txn) }, try library.index.vectors(ids: ids, in: txn) ?? [])
        }
    }

    /// The moments a query prints as JSON, without the library-specific video ids.
    static func moments(_ json: String) throws -> [[String: String]] {
        try json.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            var out: [String: String] = [:]
            for key in ["path", "start", "end", "rank"] { out[key] = "\(object[key] ?? "?")" }
            out["score"] = String(format: "%.5f", (object["score"] as? Double) ?? .nan)
            return out
        }
    }

    /// "this worker indexed N" of an `index` summary.
    static func indexedCount(_ stdout: String) -> Int {
        guard let range = stdout.range(of: "this worker indexed ") else { return -1 }
        return Int(stdout[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    @Test func twoHostsSplitAFolderAndAQueryNodeFollowsTheLibrary() throws {
        let names = (0..<20).map { String(format: "clip%02d.mp4", $0) }
        try makeVideos(names, seconds: { 1.5 + Double($0 % 4) * 0.5 })
        let single = dir.file("single").path
        try singleHost(single)

        // One database host and two worker hosts.
        let hosts: NetworkHosts?
        do {
            hosts = try NetworkHosts(workers: 2)
        } catch {
            print("network namespaces cannot be made here (\(error)); the hosts run as processes on loopback instead")
            hosts = nil
        }
        let cluster = try hosts.map { try PostgresCluster(listen: $0.databaseAddresses, namespace: $0.database, network: NetworkHosts.network) }
            ?? PostgresCluster()
        let urls = hosts.map { h in
            h.workers.indices.map { "postgres://\(PostgresCluster.user):\(PostgresCluster.password)@\(h.databaseAddress(forWorker: $0)):\(cluster.port)/\(PostgresCluster.database)" }
        } ?? [cluster.url(tcp: true), cluster.url(tcp: true)]
        let prefixes = hosts.map { $0.workers.map(NetworkHosts.exec(in:)) } ?? [[], []]
        let workers = try (0..<2).map { i in
            try Running(["index", videos.path, "--library", urls[i], "--model", workspace.model, "--threads", "1",
                         "--simulate-clip-seconds", "0.02"], prefix: prefixes[i], environment: environment)
        }
        let results = workers.map { $0.wait() }
        for r in results { #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)") }
        let indexed = results.map { Self.indexedCount($0.stdout) }
        #expect(indexed.reduce(0, +) == 20 && indexed.allSatisfy { $0 > 0 }, "each worker took a share, none twice: \(indexed)")
        #expect(try cluster.psql("SELECT count(*) FROM videos") == "20")
        #expect(try cluster.psql("SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*) FILTER (WHERE attempts <> 1) FROM work_items") == "20/0")

        // The shared catalog equals the single host's: copied back into a folder, record by record.
        let back = try run(["library", "migrate", "--from", cluster.url(), "--to", dir.file("back").path, "--root", "videos=\(videos.path)"])
        #expect(back.status == 0, "\(back.stderr)")
        try Self.expectSameCatalog(single, dir.file("back").path)

        // A query node started after ingestion builds its replica and finds the same moments.
        let query = ["query", "red ball", "--json", "--top", "10", "--model", workspace.model]
        let fromShared = try run(query + ["--library", cluster.url(), "--root", "videos=\(videos.path)"])
        let fromFolder = try run(query + ["--library", single])
        #expect(fromShared.status == 0 && fromFolder.status == 0, "\(fromShared.stderr)")
        #expect(try Self.moments(fromShared.stdout) == Self.moments(fromFolder.stdout) && !fromFolder.stdout.isEmpty)

        // 50 more videos: the replica catches up on the next query.
        let more = (0..<50).map { String(format: "more%02d.mp4", $0) }
        try makeVideos(more, seconds: { _ in 1 }, seedOffset: 20)
        let added = try run(["index", videos.path, "--library", cluster.url(), "--model", workspace.model, "--threads", "1"])
        #expect(added.status == 0 && Self.indexedCount(added.stdout) == 50, "\(added.stdout)\n\(added.stderr)")
        try singleHost(single)
        let caughtUp = try run(query + ["--library", cluster.url(), "--root", "videos=\(videos.path)"])
        #expect(try Self.moments(caughtUp.stdout) == Self.moments(try run(query + ["--library", single]).stdout))
        let status = try run(["status", "--library", cluster.url(), "--root", "videos=\(videos.path)"])
        #expect(status.stdout.contains("videos     70") && status.stdout.contains("replica    up to date"), "\(status.stdout)")
        #expect(status.stdout.contains("queue      0 queued, 0 claimed, 70 done, 0 failed"), "\(status.stdout)")

        // And a folder library moves into a new database without re-embedding, equal on the way back.
        try cluster.psql("CREATE DATABASE moved")
        let moved = cluster.url(database: "moved")
        let into = try run(["library", "migrate", "--from", single, "--to", moved, "--root", "videos=\(videos.path)"])
        #expect(into.status == 0 && into.stdout.hasPrefix("copied 70 videos"), "\(into.stdout)\(into.stderr)")
        let out = try run(["library", "migrate", "--from", moved, "--to", dir.file("moved-back").path, "--root", "videos=\(videos.path)"])
        #expect(out.status == 0, "\(out.stderr)")
        try Self.expectSameCatalog(single, dir.file("moved-back").path)
    }

    @Test func aKilledWorkersFileIsTakenOverWhenItsLeaseRunsOut() throws {
        try makeVideos(["a-long.mp4", "b.mp4", "c.mp4"], seconds: { $0 == 0 ? 12 : 1.5 })
        let single = dir.file("single").path
        try singleHost(single)
        let cluster = try PostgresCluster()
        let doomed = try Running(["index", videos.path, "--library", cluster.url(), "--model", workspace.model, "--threads", "1",
                                  "--lease", "3", "--batch", "1", "--simulate-clip-seconds", "0.3"], environment: environment)
        try doomed.awaitError(containing: "claimed videos/a-long.mp4")
        #expect(try cluster.psql("SELECT state FROM work_items WHERE path = 'a-long.mp4'") == "claimed")
        doomed.kill9()
        _ = doomed.wait()
        let status = try run(["status", "--library", cluster.url()])
        #expect(status.stdout.contains("holds videos/a-long.mp4"), "\(status.stdout)")
        #expect(try cluster.psql("SELECT count(*) FROM videos") == "0", "nothing of the video in flight is stored")

        let rescuer = try run(["index", videos.path, "--library", cluster.url(), "--model", workspace.model, "--threads", "1", "--lease", "3"])
        #expect(rescuer.status == 0, "\(rescuer.stderr)")
        #expect(rescuer.stderr.contains("claimed videos/a-long.mp4 (attempt 2)"), "\(rescuer.stderr)")
        #expect(try cluster.psql("SELECT string_agg(path || ':' || state || ':' || attempts, ',' ORDER BY path) FROM work_items")
                == "a-long.mp4:done:2,b.mp4:done:1,c.mp4:done:1")
        let back = try run(["library", "migrate", "--from", cluster.url(), "--to", dir.file("back").path, "--root", "videos=\(videos.path)"])
        #expect(back.status == 0, "\(back.stderr)")
        try Self.expectSameCatalog(single, dir.file("back").path)
    }

    @Test func workersRideOutADatabaseRestart() throws {
        try makeVideos((0..<6).map { "v\($0).mp4" }, seconds: { _ in 1.5 })
        let single = dir.file("single").path
        try singleHost(single)
        let cluster = try PostgresCluster()
        let worker = try Running(["index", videos.path, "--library", cluster.url(tcp: true), "--model", workspace.model, "--threads", "1",
                                  "--simulate-clip-seconds", "0.4"], environment: environment)
        try worker.awaitError(containing: "indexed videos/")
        #expect(try cluster.psql("SELECT count(*) >= 1 FROM work_items WHERE state = 'done'") == "t")
        #expect(try cluster.psql("SELECT count(*) FROM work_items WHERE state = 'done'") != "6", "stopped mid-run")
        try cluster.stop()
        // Down until the worker has found it down and backs off, then up again.
        try worker.awaitError(containing: "retrying")
        try cluster.start()
        let result = worker.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("cannot reach the server"), "\(result.stderr)")
        #expect(try cluster.psql("SELECT count(*) FILTER (WHERE state = 'done') FROM work_items") == "6")
        let back = try run(["library", "migrate", "--from", cluster.url(), "--to", dir.file("back").path, "--root", "videos=\(videos.path)"])
        #expect(back.status == 0, "\(back.stderr)")
        try Self.expectSameCatalog(single, dir.file("back").path)
    }

    @Test func aServerFollowsTheLibraryAsWorkersCommit() async throws {
        try makeVideos(["first.mp4"], seconds: { _ in 1.5 })
        let cluster = try PostgresCluster()
        let index = ["index", videos.path, "--library", cluster.url(), "--model", workspace.model, "--threads", "1"]
        #expect(try run(index).status == 0)
        let server = try ServeCommandTests.Server(["--library", cluster.url(), "--root", "videos=\(videos.path)", "--model", workspace.model],
                                                  environment: environment)
        let search = server.base + "/api/search?q=red+ball&top=50"
        let paths = { () async throws -> Set<String> in
            let (status, body) = try await ServeCommandTests.get(search)
            #expect(status == 200)
            let object = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            return Set(((object?["moments"] as? [[String: Any]]) ?? []).compactMap { $0["path"] as? String })
        }
        #expect(try await paths() == [videos.appendingPathComponent("first.mp4").path])
        // A worker commits another video: the server's replica hears of it and copies it, with no restart.
        try makeVideos(["second.mp4"], seconds: { _ in 1.5 }, seedOffset: 1)
        #expect(try run(index).status == 0)
        #expect(server.waitForLog(containing: "copied=1", timeout: 60), "no sync logged: \(server.log)")
        #expect(try await paths() == Set(["first.mp4", "second.mp4"].map { videos.appendingPathComponent($0).path }))
        #expect(server.stop() == 0, "\(server.log)")
    }

    @Test func aWatchDaemonQueuesAndIndexesNewFiles() throws {
        try makeVideos(["a.mp4"], seconds: { _ in 1.5 })
        let cluster = try PostgresCluster()
        let daemon = try Running(["watch", "--library", cluster.url(), "--root", "videos=\(videos.path)", "--model", workspace.model,
                                  "--threads", "1", "--settle", "0.3"], environment: environment)
        try daemon.awaitError(containing: "indexed videos/a.mp4")
        #expect(try cluster.psql("SELECT string_agg(path, ',' ORDER BY path) FROM video_paths") == "a.mp4")
        // A file moved in (as a finished copy lands) is queued and indexed by the next pass.
        try LibraryFixtures.video(dir.file("b.mp4").path, seconds: 1.5, seed: 5)
        try FileManager.default.moveItem(at: dir.file("b.mp4"), to: videos.appendingPathComponent("b.mp4"))
        try daemon.awaitError(containing: "indexed videos/b.mp4")
        #expect(try cluster.psql("SELECT string_agg(path, ',' ORDER BY path) FROM video_paths") == "a.mp4,b.mp4")
        kill(daemon.process.processIdentifier, SIGTERM)
        let result = daemon.wait(timeout: 60)
        #expect(result.status == 0 && result.stderr.contains("stopped"), "\(result.stderr)")
        #expect(try cluster.psql("SELECT count(*) FROM workers") == "0", "it left the workers table")
        // The paper's other tasks read the replica as query does.
        let chapters = try run(["chapters", videos.appendingPathComponent("b.mp4").path, "--library", cluster.url(),
                                "--root", "videos=\(videos.path)", "--model", workspace.model, "--json"])
        #expect(chapters.status == 0 && !chapters.stdout.isEmpty, "\(chapters.stderr)")
    }

    @Test func pruneForgetsGoneFilesButNotAnEmptyRoot() throws {
        try makeVideos(["a.mp4", "b.mp4"], seconds: { _ in 1.5 })
        let cluster = try PostgresCluster()
        let index = ["index", videos.path, "--library", cluster.url(), "--model", workspace.model, "--threads", "1", "--prune"]
        #expect(try run(index).status == 0)
        try FileManager.default.removeItem(at: videos.appendingPathComponent("b.mp4"))
        let pruned = try run(index)
        #expect(pruned.status == 0 && pruned.stdout.contains("pruned 1;"), "\(pruned.stdout)\(pruned.stderr)")
        #expect(try cluster.psql("SELECT string_agg(path, ',') FROM video_paths") == "a.mp4")
        #expect(try cluster.psql("SELECT count(*) FROM videos") == "1")
        let query = try run(["query", "red ball", "--json", "--library", cluster.url(), "--root", "videos=\(videos.path)", "--model", workspace.model])
        #expect(query.status == 0 && !query.stdout.contains("b.mp4") && query.stdout.contains("a.mp4"), "\(query.stdout)")
        // An empty root looks like an unmounted share: nothing is pruned on its word.
        try FileManager.default.removeItem(at: videos.appendingPathComponent("a.mp4"))
        let empty = try run(index)
        #expect(empty.status == 0 && empty.stderr.contains("missing or empty; nothing under root videos is pruned"), "\(empty.stderr)")
        #expect(try cluster.psql("SELECT count(*) FROM videos") == "1")
    }

    @Test func whatCannotWorkFailsInOneLineWithItsStatus() throws {
        try makeVideos(["a.mp4"], seconds: { _ in 1.5 })
        let cluster = try PostgresCluster()
        let first = try run(["index", videos.path, "--library", cluster.url(), "--model", workspace.model, "--threads", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        _ = try run(["query", "red ball", "--library", cluster.url(), "--model", workspace.model])

        // Another model: 65, as for a folder library.
        let other = try LibraryFixtures.bundle(in: dir.file("other-model"), id: "tiny-other").path
        let mismatch = try run(["index", videos.path, "--library", cluster.url(), "--model", other])
        #expect(mismatch.status == 65 && mismatch.stderr.contains("holds vectors of model tiny-cluster, not tiny-other"), "\(mismatch.stderr)")

        // A refused password, a missing database, a stopped server: 69, one line, no password shown.
        let wrongPassword = cluster.url(tcp: true, password: "not-it")
        let missing = cluster.url(database: "nosuch")
        for url in [wrongPassword, missing] {
            let r = try run(["status", "--library", url])
            #expect(r.status == 69 && r.stderr.split(separator: "\n").count == 1 && !r.stderr.contains("not-it"), "\(url): \(r.stderr)")
        }
        // A folder-only command: 64.
        let remove = try run(["remove", videos.path, "--library", cluster.url()])
        #expect(remove.status == 64 && remove.stderr.contains("works on a library folder"), "\(remove.stderr)")

        try cluster.stop()
        let down = try run(["index", videos.path, "--library", cluster.url(), "--model", workspace.model])
        #expect(down.status == 69 && down.stderr.contains("cannot reach the server"), "\(down.stderr)")
        // The query node still answers from its replica, and says how old it is.
        let stale = try run(["query", "red ball", "--library", cluster.url(), "--model", workspace.model])
        #expect(stale.status == 0 && stale.stdout.contains("videos:a.mp4"), "a path under an unmapped root: \(stale.stdout)\(stale.stderr)")
        #expect(stale.stderr.contains("searching this host's replica as of change"), "\(stale.stderr)")
    }
}
