import Foundation
import Testing
import TestSupport

/// `vjsearch watch`, end to end: the built binary as a background daemon over a temporary folder, with the tiny
/// model, short settle and rescan times, and bounded polling waits (no fixed long sleeps).
@Suite(.serialized) struct WatchCommandTests: UsesLibraryWorkspace {
    typealias Result = CommandLineTests.Result

    let workspace: LibraryWorkspace

    init() throws {
        workspace = try LibraryWorkspace(prefix: "vjsearch-watch", modelFolder: "model", modelID: "tiny-watch")
    }

    /// A running `vjsearch watch`, killed if a test leaves it running.
    final class Daemon {
        let process = Process()
        let log: URL

        init(_ arguments: [String], log: URL, environment: [String: String] = [:]) throws {
            self.log = log
            process.executableURL = URL(fileURLWithPath: try CommandLineTests.binary())
            process.arguments = ["watch"] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
                throw CommandLineTests.Failure(description: "cannot create \(log.path)")
            }
            process.standardError = try FileHandle(forWritingTo: log)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }

        var pid: Int32 { process.processIdentifier }
        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        func signal(_ s: Int32) { kill(process.processIdentifier, s) }

        /// The exit status once it exited (nil after `timeout` seconds, or when a signal killed it).
        func exitStatus(timeout: Double = 20) -> Int32? {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            guard !process.isRunning, process.terminationReason == .exit else { return nil }
            return process.terminationStatus
        }
    }

    func start(_ extra: [String] = [], settle: Double = 0.3, rescan: Double = 60, environment: [String: String] = [:],
               log: String = "watch.log") throws -> Daemon {
        try Daemon([videos.path, "--library", library, "--model", model, "--threads", "1",
                    "--settle", "\(settle)", "--rescan", "\(rescan)", "--log-level", "debug"] + extra,
                   log: dir.file(log), environment: environment)
    }

    func video(_ name: String, seconds: Double = 2, seed: Int = 0) throws -> String {
        let path = videos.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try LibraryFixtures.video(path, seconds: seconds, seed: seed)
        return path
    }

    func vj(_ arguments: [String], library: String? = nil) throws -> Result {
        try CommandLineTests.run(arguments + ["--library", library ?? self.library]
            + (["index", "query"].contains(arguments.first ?? "") ? ["--model", model] : []), timeout: 60)
    }

    func json(_ r: Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    func catalog(library: String? = nil) throws -> [String: Any] {
        let r = try vj(["status", "--json"], library: library)
        guard r.status == 0 else { return [:] }  // not created yet
        return try json(r)
    }

    /// The daemon's `watch.json`, read directly (what `status` reads).
    func published() -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: library + "/watch.json") else { return [:] }
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }

    /// Paths the library can find, from a broad query.
    func searchable() throws -> Set<String> {
        let r = try vj(["query", "the red ball", "--json", "--top", "100"])
        guard r.status == 0 else { return [] }
        return Set(r.stdoutLines.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["path"] as? String
        })
    }

    /// Polls `condition` every `interval` seconds until it holds or `timeout` seconds pass; returns whether it held.
    @discardableResult
    func eventually(timeout: Double = 30, interval: Double = 0.1, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(UInt32(interval * 1e6))
        }
        return try condition()
    }

    func isIdle() -> Bool { published()["state"] as? String == "idle" }

    @Test func newFilesAndFoldersBecomeSearchable() throws {
        let daemon = try start()
        #expect(eventually { isIdle() }, "\(daemon.output)")

        let a = try video("a.mp4", seed: 1)
        #expect(try eventually { try searchable() == [a] }, "\(daemon.output)")

        let watched = published()["watched_folders"] as? Int ?? 0
        try FileManager.default.createDirectory(at: videos.appendingPathComponent("later/deeper"), withIntermediateDirectories: true)
        // The daemon watches both new folders before the file appears in them.
        #expect(eventually { published()["watched_folders"] as? Int == watched + 2 }, "\(published())")
        let b = try video("later/deeper/b.mp4", seed: 2)
        #expect(try eventually { try searchable() == [a, b] }, "\(daemon.output)")

        let s = try json(try vj(["status", "--json"]))
        let d = try #require(s["daemon"] as? [String: Any])
        #expect(d["running"] as? Bool == true && d["pid"] as? Int == Int(daemon.pid))
        let st = try #require(d["status"] as? [String: Any])
        #expect(st["indexed"] as? Int == 2 && st["failed"] as? Int == 0)

        daemon.signal(SIGTERM)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
    }

    /// SIGTERM or SIGINT as soon as the daemon says it is loading the model (the bundled model takes most of a second
    /// in a debug build): it stops before starting, with status 0 rather than by the signal's default action, and
    /// neither creates the library nor starts watching.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: QualityTests.model.appendingPathComponent("config.json").path)),
          arguments: [SIGTERM, SIGINT])
    func aStopSignalledDuringTheModelLoadIsHeeded(signal: Int32) throws {
        let daemon = try Daemon([videos.path, "--library", library, "--model", QualityTests.model.path, "--threads", "1",
                                 "--log-level", "debug"], log: dir.file("load-stop-\(signal).log"))
        #expect(eventually(interval: 0.01) { daemon.output.contains("vjsearch.watch: loading the model") }, "\(daemon.output)")
        daemon.signal(signal)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
        let output = daemon.output
        #expect(output.contains("stopped before starting"), "\(output)")
        #expect(!output.contains("vjsearch.watch: starting") && !output.contains("vjsearch.watch: watching"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: library + "/data.mdb"))
    }

    @Test func aFileWrittenSlowlyIsIndexedOnlyWhenComplete() throws {
        let source = dir.file("source.mp4").path
        try LibraryFixtures.video(source, seconds: 3, seed: 1)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let daemon = try start(settle: 1.5)
        #expect(eventually { isIdle() }, "\(daemon.output)")

        // Pauses shorter than the settle time: never indexed while incomplete.
        let slow = videos.appendingPathComponent("slow.mp4")
        #expect(FileManager.default.createFile(atPath: slow.path, contents: nil))
        let handle = try FileHandle(forWritingTo: slow)
        var sawSettling = false
        for chunk in 0..<5 {
            try handle.write(contentsOf: bytes[(bytes.count * chunk / 5)..<(bytes.count * (chunk + 1) / 5)])
            usleep(300_000)
            let p = published()
            #expect(p["indexed"] as? Int == 0 && p["failed"] as? Int == 0 && p["state"] as? String != "indexing")
            sawSettling = sawSettling || p["settling"] as? Int == 1
        }
        try handle.close()
        #expect(sawSettling)
        #expect(try eventually { try searchable() == [slow.path] }, "\(daemon.output)")
        #expect(published()["failed"] as? Int == 0)

        // A copy that stalls longer than the settle time may be tried and fail, but not for good: it is indexed
        // once the rest arrives.
        let stalled = videos.appendingPathComponent("stalled.mp4")
        try bytes.prefix(bytes.count / 2).write(to: stalled)
        #expect(eventually { published()["failed"] as? Int == 1 }, "\(daemon.output)")
        let rest = try FileHandle(forWritingTo: stalled)
        try rest.seekToEnd()
        try rest.write(contentsOf: bytes.dropFirst(bytes.count / 2))
        try rest.close()
        #expect(try eventually { try searchable() == [slow.path, stalled.path] }, "\(daemon.output)")
        let failures = try #require(try catalog()["failures"] as? [Any])
        #expect(failures.isEmpty)
        daemon.signal(SIGINT)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
    }

    @Test func deletesAndMovesUpdateTheCatalog() throws {
        let a = try video("a.mp4", seed: 1)
        let b = try video("b.mp4", seed: 2)
        let c = try video("sub/c.mp4", seed: 3)
        let daemon = try start()
        #expect(try eventually { try searchable() == [a, b, c] && isIdle() }, "\(daemon.output)")
        #expect(published()["indexed"] as? Int == 3)

        let movedA = videos.appendingPathComponent("elsewhere/a-renamed.mp4").path
        let watched = published()["watched_folders"] as? Int ?? 0
        try FileManager.default.createDirectory(atPath: videos.appendingPathComponent("elsewhere").path, withIntermediateDirectories: true)
        #expect(eventually { published()["watched_folders"] as? Int == watched + 1 }, "\(published())")
        try FileManager.default.moveItem(atPath: a, toPath: movedA)
        try FileManager.default.removeItem(atPath: b)
        let movedC = videos.appendingPathComponent("sub2/c.mp4").path
        try FileManager.default.moveItem(atPath: videos.appendingPathComponent("sub").path,
                                         toPath: videos.appendingPathComponent("sub2").path)
        #expect(try eventually { try searchable() == [movedA, movedC] && published()["removed"] as? Int == 1 },
                "\(daemon.output)")
        let p = published()
        #expect(p["relinked"] as? Int == 2 && p["indexed"] as? Int == 3, "moves must not re-embed: \(p)")
        #expect(try catalog()["videos"] as? Int == 2)
        #expect(try vj(["verify"]).status == 0)
        daemon.signal(SIGTERM)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
    }

    @Test func withoutInotifyRescansFindChanges() throws {
        let a = try video("a.mp4", seed: 1)
        let daemon = try start(rescan: 0.5, environment: ["VJSEARCH_WATCH_INOTIFY": "0"])
        #expect(try eventually { try searchable() == [a] }, "\(daemon.output)")
        #expect(published()["inotify"] as? Bool == false)
        let b = try video("deep/er/b.mp4", seed: 2)
        #expect(try eventually { try searchable() == [a, b] }, "\(daemon.output)")
        try FileManager.default.removeItem(atPath: a)
        #expect(try eventually { try searchable() == [b] }, "\(daemon.output)")
        // A folder that suddenly holds nothing looks like an unmounted share: its videos stay.
        try FileManager.default.removeItem(atPath: b)
        #expect(eventually { daemon.output.contains("folder is empty; keeping its videos") }, "\(daemon.output)")
        #expect(try searchable() == [b])
        daemon.signal(SIGTERM)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
    }

    @Test func sighupRescansAtOnce() throws {
        let daemon = try start(["--no-inotify"], rescan: 3600)
        #expect(eventually { isIdle() }, "\(daemon.output)")
        let a = try video("a.mp4", seed: 1)
        // Without inotify and with an hour between rescans, nothing notices the file…
        usleep(1_000_000)
        #expect(published()["settling"] as? Int == 0 && published()["indexed"] as? Int == 0)
        // …until SIGHUP.
        daemon.signal(SIGHUP)
        #expect(try eventually { try searchable() == [a] }, "\(daemon.output)")
        #expect(daemon.output.contains("rescan requested"))
        daemon.signal(SIGTERM)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
    }

    /// SIGTERM mid-run stops cleanly; SIGKILL mid-run loses at most the video in flight; restarts finish the work
    /// with exactly the segments a plain `index` run makes.
    @Test func interruptedDaemonsResumeWithoutLostOrDuplicatedWork() throws {
        let count = 4
        var paths: Set<String> = []
        for i in 0..<count { paths.insert(try video("v\(i).mp4", seconds: 10, seed: i)) }
        let reference = dir.file("reference").path
        let r = try vj(["index", videos.path, "--json"], library: reference)
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try #require(try catalog(library: reference)["segments"] as? Int)

        func interrupt(with signal: Int32, log: String) throws -> Daemon {
            let daemon = try start(log: log)
            // Mid-run: one or two videos committed, the next being indexed, at least one more waiting.
            #expect(eventually(interval: 0.02) {
                let p = published()
                return p["pid"] as? Int == Int(daemon.pid) && p["state"] as? String == "indexing"
                    && (1...(count - 2)).contains(p["indexed"] as? Int ?? 0)
            }, "\(daemon.output)")
            daemon.signal(signal)
            return daemon
        }

        let first = try interrupt(with: SIGTERM, log: "first.log")
        #expect(first.exitStatus() == 0, "\(first.output)")
        var v = try vj(["verify"])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
        let afterTerm = try catalog()["videos"] as? Int ?? 0
        #expect(afterTerm >= 1 && afterTerm < count)

        let second = try interrupt(with: SIGKILL, log: "second.log")
        #expect(second.exitStatus() == nil)  // killed by the signal
        v = try vj(["verify"])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
        let stale = try #require(try catalog()["daemon"] as? [String: Any])
        #expect(stale["running"] as? Bool == false)  // its watch.json remains, but the lock died with it
        #expect(try vj(["status"]).stdout.contains("daemon     not running (last run pid \(second.pid)"))

        let third = try start(log: "third.log")
        #expect(try eventually { try catalog()["videos"] as? Int == count && isIdle() }, "\(third.output)")
        let s = try catalog()
        #expect(s["segments"] as? Int == expected && s["vectors"] as? Int == expected)
        #expect(try searchable() == paths)
        v = try vj(["verify"])
        #expect(v.status == 0 && v.stdout.hasPrefix("consistent: \(count) videos"), "\(v.stdout)\(v.stderr)")
        third.signal(SIGTERM)
        #expect(third.exitStatus() == 0, "\(third.output)")
    }

    @Test func cronIndexAndStatusBesideARunningDaemon() throws {
        let a = try video("a.mp4", seed: 1)
        let daemon = try start()
        #expect(try eventually { try searchable() == [a] && isIdle() }, "\(daemon.output)")

        let started = Date()
        var r = try vj(["index", videos.path])
        #expect(r.status == 75)
        #expect(r.stdout.isEmpty)
        #expect(r.stderrLines == ["error: a vjsearch watch daemon (pid \(daemon.pid)) keeps this library up to date; use --wait to index anyway"])
        #expect(Date().timeIntervalSince(started) < 10)

        r = try vj(["index", videos.path, "--wait", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try json(r)["unchanged"] as? Int == 1)

        let reindex = try vj(["reindex", "--model", model, "--wait"])
        #expect(reindex.status == 75 && reindex.stderr.contains("stop it before reindexing"), "\(reindex.stderr)")

        let second = try Daemon([videos.path, "--library", library, "--model", model], log: dir.file("second.log"))
        #expect(second.exitStatus() == 75)
        #expect(second.output.contains("error: \(library): a vjsearch watch daemon (pid \(daemon.pid)) already keeps this library up to date"))

        let text = try vj(["status"]).stdout
        #expect(text.contains("daemon     running, pid \(daemon.pid)"), "\(text)")
        #expect(text.contains("  state    idle") && text.contains("  queue    0 queued, 0 settling"), "\(text)")
        #expect(text.contains("  done     1 indexed, 0 relinked, 0 removed, 0 failed"), "\(text)")
        #expect(text.contains("  error    none"), "\(text)")

        daemon.signal(SIGTERM)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
        #expect(try vj(["status"]).stdout.contains("daemon     not running"))
        r = try vj(["index", videos.path])
        #expect(r.status == 0, "\(r.stderr)")

        let help = try CommandLineTests.run(["--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("75 the library is locked") && help.contains("a `vjsearch watch` daemon keeps it up to date"), "\(help)")
    }

    @Test func statusShowsTheFileBeingIndexedAndTheLastError() throws {
        try Data("not a video\n".utf8).write(to: videos.appendingPathComponent("notes.mp4"))
        // Long enough to be seen in flight: the tiny model indexes 30 s of this video in 0.06 s on a fast machine.
        let long = try video("long.mp4", seconds: 900, seed: 2)
        let daemon = try start()
        #expect(eventually(interval: 0.01) { published()["state"] as? String == "indexing" && published()["file"] as? String == long },
                "\(daemon.output)")
        let text = try vj(["status"]).stdout
        #expect(text.contains("  state    indexing \(long)") || published()["state"] as? String == "idle", "\(text)")
        #expect(eventually { isIdle() }, "\(daemon.output)")
        let p = published()
        #expect(p["failed"] as? Int == 1 && (p["last_error"] as? String)?.hasPrefix(videos.path + "/notes.mp4: ") == true, "\(p)")
        #expect(try vj(["status"]).stdout.contains("  error    \(videos.path)/notes.mp4: "))
        daemon.signal(SIGTERM)
        #expect(daemon.exitStatus() == 0, "\(daemon.output)")
    }
}
