import Catalog
import Foundation
import Testing
import TestSupport
import VectorIndex

/// `vjsearch index`, `query`, `status`, `remove`, `verify` and `reindex`, end to end on the built binary with a
/// tiny model and tiny generated videos, each test in its own temporary folder.
@Suite struct LibraryCommandTests: UsesLibraryWorkspace {
    typealias Result = CommandLineTests.Result

    let workspace: LibraryWorkspace

    init() throws {
        workspace = try LibraryWorkspace(prefix: "vjsearch-library", modelFolder: "model-a", modelID: "tiny-a")
    }

    func video(_ name: String, seconds: Double = 2, seed: Int = 0) throws -> String {
        let path = videos.appendingPathComponent(name).path
        try LibraryFixtures.video(path, seconds: seconds, seed: seed)
        return path
    }

    func vj(_ arguments: [String], model: String? = nil, timeout: Double = 120) throws -> Result {
        try CommandLineTests.run(arguments + ["--library", library] + (arguments.first.map { ["index", "query", "reindex"].contains($0) } == true
            ? ["--model", model ?? self.model] : []), timeout: timeout)
    }

    /// The `--json` summary of an index run.
    func summary(_ r: Result) throws -> [String: Any] {
        let line = try #require(r.stdoutLines.last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func counts(_ r: Result) throws -> [String: Int] {
        let s = try summary(r)
        return ["indexed", "relinked", "unchanged", "skipped_failed", "failed", "pruned"].reduce(into: [:]) { $0[$1] = s[$1] as? Int }
    }

    func status() throws -> [String: Any] {
        let r = try vj(["status", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    func moments(_ text: String, _ extra: [String] = []) throws -> [[String: Any]] {
        let r = try vj(["query", text, "--json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stdoutLines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    @Test func incrementalRunsEmbedOnlyWhatChanged() throws {
        let a = try video("a.mp4", seed: 0), b = try video("b.mp4", seed: 1)
        let c = try video("c.mp4", seed: 2)
        var r = try vj(["index", videos.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try counts(r) == ["indexed": 3, "relinked": 0, "unchanged": 0, "skipped_failed": 0, "failed": 0, "pruned": 0])

        r = try vj(["index", videos.path, "--json"])
        #expect(try counts(r) == ["indexed": 0, "relinked": 0, "unchanged": 3, "skipped_failed": 0, "failed": 0, "pruned": 0])

        try LibraryFixtures.video(b, seconds: 3, seed: 3)  // new content
        try FileManager.default.moveItem(atPath: c, toPath: videos.appendingPathComponent("renamed.mp4").path)
        r = try vj(["index", videos.path, "--json"])
        #expect(try counts(r) == ["indexed": 1, "relinked": 1, "unchanged": 1, "skipped_failed": 0, "failed": 0, "pruned": 0])
        #expect(try summary(r)["clips"] as? Int ?? 0 > 0)

        try FileManager.default.removeItem(atPath: a)
        r = try vj(["index", videos.path, "--json"])
        #expect(try counts(r)["pruned"] == 0)
        #expect(try status()["videos"] as? Int == 3)
        r = try vj(["index", videos.path, "--prune", "--json"])
        #expect(r.status == 0)
        #expect(try counts(r)["pruned"] == 1)
        let s = try status()
        #expect(s["videos"] as? Int == 2)
        #expect((s["segments"] as? Int).map { $0 > 0 } == true && s["segments"] as? Int == s["vectors"] as? Int)

        let v = try vj(["verify"])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stdout.hasPrefix("consistent: 2 videos"))

        let found = try moments("the red ball", ["--top", "50"])
        #expect(!found.isEmpty)
        let paths = Set(found.compactMap { $0["path"] as? String })
        #expect(paths.isSubset(of: [b, videos.appendingPathComponent("renamed.mp4").path]))
        for m in found {
            let start = try #require(m["start"] as? Double), end = try #require(m["end"] as? Double)
            #expect(start >= 0 && start < end)
        }
        let scores = found.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >))
        #expect(try moments("the red ball", ["--top", "1"]).count == 1)
        #expect(Set(try moments("ball", ["--in", "*/b.mp4"]).compactMap { $0["path"] as? String }) == [b])

        let table = try vj(["query", "red", "ball", "--top", "1"])
        #expect(table.status == 0)
        #expect(table.stdoutLines.count == 1)
        #expect(table.stdout.contains("0:00:0") && table.stdout.contains(videos.path))

        let removed = try vj(["remove", b])
        #expect(removed.status == 0 && removed.stdout == "removed 1 video\n")
        #expect(try status()["videos"] as? Int == 1)
        #expect(try vj(["verify"]).status == 0)
    }

    @Test func badFilesAreReportedAndRememberedUntilTheyChange() throws {
        let good = try video("good.mp4")
        let empty = videos.appendingPathComponent("empty.mp4").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let text = videos.appendingPathComponent("notes.mp4").path
        try Data("not a video\n".utf8).write(to: URL(fileURLWithPath: text))
        let whole = try Data(contentsOf: URL(fileURLWithPath: CommandLineTests.sample))
        let cut = videos.appendingPathComponent("cut.mp4").path
        try whole.prefix(whole.count / 3).write(to: URL(fileURLWithPath: cut))
        let audio = videos.appendingPathComponent("audio.mp4").path
        try LibraryFixtures.run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio])

        var r = try vj(["index", videos.path])
        #expect(r.status == 1)
        let errors = r.stderrLines.filter { $0.hasPrefix("error: ") }
        #expect(errors.count == 4, "\(r.stderr)")
        for path in [empty, text, cut, audio] {
            #expect(errors.contains { $0.hasPrefix("error: \(path): ") && !$0.dropFirst("error: \(path): ".count).isEmpty })
        }
        #expect(r.stdout.contains("indexed 1,") && r.stdout.contains("failed 4,"))
        #expect(r.stdoutLines.count == 1)

        r = try vj(["index", videos.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("unchanged 1,") && r.stdout.contains("skipped-failed 4,") && r.stdout.contains("failed 0,"))
        #expect(r.stderrLines.filter { $0.hasPrefix("warning: ") }.count == 4)

        try LibraryFixtures.video(text, seconds: 1, seed: 2)  // the bad file is now a good one
        r = try vj(["index", videos.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("indexed 1,") && r.stdout.contains("skipped-failed 3,"))
        let s = try status()
        #expect(s["videos"] as? Int == 2)
        #expect((s["failures"] as? [Any])?.count == 3)
        _ = good
    }

    /// File names may hold any byte but "/" and NUL: an ESC in one must not reach the terminal from the text
    /// output (it would recolour it, retitle the window or worse); it is printed as `\x1b`. JSON keeps the name.
    @Test func controlCharactersInFileNamesAreEscapedInTextOutput() throws {
        let red = try video("\u{1B}[31mred.mp4")
        let bad = videos.appendingPathComponent("\u{1B}]0;title\u{07}bad.mp4").path
        try Data("not a video\n".utf8).write(to: URL(fileURLWithPath: bad))
        let escapedBad = videos.path + "/\\x1b]0;title\\x07bad.mp4"
        func expectNoRawControls(_ text: String, _ what: String) {
            #expect(!text.utf8.contains(0x1B) && !text.utf8.contains(0x07), "\(what): \(text.debugDescription)")
        }

        let r = try vj(["index", videos.path])
        #expect(r.status == 1)
        expectNoRawControls(r.stderr, "index")
        #expect(r.stderrLines.contains { $0.hasPrefix("error: \(escapedBad): ") }, "\(r.stderr.debugDescription)")

        let q = try vj(["query", "coloured bars"])
        #expect(q.status == 0, "\(q.stderr)")
        expectNoRawControls(q.stdout, "query")
        #expect(q.stdout.contains(videos.path + "/\\x1b[31mred.mp4"), "\(q.stdout.debugDescription)")
        #expect(try moments("coloured bars").first?["path"] as? String == red)

        let s = try vj(["status"])
        expectNoRawControls(s.stdout, "status")
        #expect(s.stdout.contains(escapedBad), "\(s.stdout.debugDescription)")

        let p = try CommandLineTests.run(["probe", red, bad], timeout: 30)
        #expect(p.status == 1)
        expectNoRawControls(p.stdout + p.stderr, "probe")
        #expect(p.stdout.hasPrefix(videos.path + "/\\x1b[31mred.mp4  "))

        let g = try CommandLineTests.run(["segments", bad], timeout: 30)
        #expect(g.status == 1)
        expectNoRawControls(g.stdout + g.stderr, "segments")
    }

    @Test func anotherModelIsRefusedUntilReindex() throws {
        let a = try video("a.mp4", seconds: 2)
        #expect(try vj(["index", videos.path]).status == 0)
        let other = try LibraryFixtures.bundle(in: dir.file("model-b"), id: "tiny-b").path

        var r = try vj(["index", videos.path], model: other)
        #expect(r.status == 65)
        #expect(r.stderr.contains("tiny-a") && r.stderr.contains("tiny-b") && r.stderr.contains("vjsearch reindex"))
        r = try vj(["query", "ball"], model: other)
        #expect(r.status == 65)

        r = try vj(["reindex"], model: other)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try status()["model_id"] as? String == "tiny-b")
        #expect(!FileManager.default.fileExists(atPath: library + ".reindex"))
        #expect(try vj(["query", "ball"], model: other).status == 0)
        #expect(try vj(["query", "ball"]).status == 65)
        #expect(try vj(["verify"]).status == 0)
        let found = try CommandLineTests.run(["query", "ball", "--json", "--library", library, "--model", other])
        #expect(found.stdout.contains(a))
    }

    /// `--vectors int8` is chosen when a library is made, shown by `status`, kept by later runs, and changed only by
    /// `reindex --vectors`; the moments found are the same, since the final ranking is exact either way.
    @Test func int8VectorsAreChosenAtCreationAndKeptUntilReindex() throws {
        _ = try video("a.mp4", seconds: 3, seed: 0)
        _ = try video("b.mp4", seconds: 3, seed: 1)
        var r = try vj(["index", videos.path, "--vectors", "int8"])
        #expect(r.status == 0, "\(r.stderr)")
        var s = try status()
        #expect(s["storage"] as? String == "int8")
        let searchBytes = try #require(s["search_bytes_per_vector"] as? Int)
        let dimension = try #require(s["dimension"] as? Int)
        #expect(searchBytes == 4 + (dimension + 3) / 4 * 4)  // a scale and one byte per dimension
        let quantised = try moments("ball")
        #expect(!quantised.isEmpty && quantised.allSatisfy { ($0["score"] as? Double)?.isFinite == true })

        #expect(try vj(["index", videos.path]).status == 0)  // no option: the library keeps its choice
        r = try vj(["index", videos.path, "--vectors", "f32"])
        #expect(r.status == 65 && r.stderr.contains("int8") && r.stderr.contains("reindex --vectors"), "\(r.stderr)")
        #expect(try vj(["status"]).stdout.contains("storage    int8"))

        r = try vj(["reindex", "--vectors", "f32"])
        #expect(r.status == 0, "\(r.stderr)")
        s = try status()
        #expect(s["storage"] as? String == "f32" && s["search_bytes_per_vector"] as? Int == dimension * 4)
        let exact = try moments("ball")
        #expect(exact.map { $0["path"] as? String } == quantised.map { $0["path"] as? String })
        for (a, b) in zip(exact, quantised) {
            #expect(abs((a["score"] as? Double ?? 9) - (b["score"] as? Double ?? -9)) < 1e-4)
        }
        #expect(try vj(["verify"]).status == 0)
    }

    @Test func aLockedLibraryFailsFastOrWaits() throws {
        _ = try video("a.mp4", seconds: 1)
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [library + "/index.lock", "sleep", "4"]
        try holder.run()
        // Wait until the holder has the lock: our own non-blocking attempt on the file starts failing.
        let probe = open(library + "/index.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(probe) }
        let deadline = Date().addingTimeInterval(10)
        while flock(probe, LOCK_EX | LOCK_NB) == 0, Date() < deadline {
            flock(probe, LOCK_UN)
            sched_yield()
        }
        var r = try vj(["index", videos.path])
        #expect(r.status == 75)
        #expect(r.stderr.contains("another `vjsearch` is writing") && r.stderr.contains("--wait"))
        r = try vj(["index", videos.path, "--wait"])
        holder.waitUntilExit()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("indexed 1,"))
    }

    @Test func emptyLibraryAndEmptyQueryAreExplained() throws {
        var r = try vj(["query", "ball"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("the library is empty"))
        r = try vj(["query", "  "])
        #expect(r.status == 64)
        #expect(r.stderr.contains("the query is empty"))
    }

    @Test func queriesAnswerWhileIndexIsWriting() throws {
        _ = try video("first.mp4", seconds: 1)
        #expect(try vj(["index", videos.path]).status == 0)
        for i in 0..<4 { _ = try video("more\(i).mp4", seconds: 6, seed: i + 1) }
        let writer = try spawn(["index", videos.path, "--library", library, "--model", model])
        var answered = 0
        while writer.isRunning && answered < 3 {
            let r = try vj(["query", "ball", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!r.stdoutLines.isEmpty)
            answered += 1
        }
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        #expect(answered >= 1)
    }

    /// `verify` walks the pages of data.mdb before it opens the library: a page that would crash LMDB is reported,
    /// naming the page, and the library is not opened. Here the main database's root becomes a page appended to the
    /// file, holding one node whose key lies past the end of the file: LMDB would die of SIGBUS on it, so `status`,
    /// `index`, `remove` and `repair` refuse it as `verify` does.
    /// A first `index` killed after LMDB made data.mdb but before its first commit leaves a sound, empty file.
    @Test func verifyCallsAnEmptyLibraryConsistent() throws {
        _ = try Environment(path: library, create: true)
        let r = try vj(["verify"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.hasPrefix("consistent: an empty library (nothing indexed yet); pages: "), "\(r.stdout)")
    }

    @Test func verifyWalksThePagesAndDoesNotOpenADamagedFile() throws {
        _ = try video("a.mp4")
        #expect(try vj(["index", videos.path]).status == 0)
        for deep in [[], ["--deep"]] {
            let r = try vj(["verify"] + deep)
            #expect(r.status == 0, "\(r.stderr)")
            let pages = r.stdout.split(separator: "; pages: ").last.flatMap { Int($0.prefix { $0.isNumber }) }
            #expect(r.stdout.hasPrefix("consistent: 1 videos") && r.stdout.hasSuffix(" checked\n") && pages ?? 0 > 10,
                    "\(r.stdout)")
        }

        let file = library + "/data.mdb"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { for (k, b) in $0.enumerated() { bytes[offset + k] = b } }
        }
        func transaction(_ meta: Int) -> UInt64 {
            (0..<8).reduce(0) { $0 | UInt64(bytes[meta * 4096 + 144 + $1]) << (8 * UInt64($1)) }
        }
        let last = bytes.count / 4096, page = last * 4096
        bytes += [UInt8](repeating: 0, count: 4096)
        store(UInt64(last), at: page)  // page number
        store(UInt16(2), at: page + 10)  // a leaf page
        store(UInt16(18), at: page + 12)  // one node
        store(UInt16(4088), at: page + 14)
        store(UInt16(4088), at: page + 16)  // the node: 48 bytes of a named database, a 12-byte key at the page's end
        store(UInt16(48), at: page + 4088)
        store(UInt16(2), at: page + 4092)
        store(UInt16(12), at: page + 4094)
        let meta = (transaction(1) > transaction(0) ? 4096 : 0) + 16
        store(UInt64(last), at: meta + 24 + 48 + 40)  // the main database's root
        store(UInt16(1), at: meta + 24 + 48 + 6)  // and its depth
        store(UInt64(last), at: meta + 24 + 96)  // the last page
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let r = try vj(["verify"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("error: \(file): main database: page \(last): node 0 at offset 4088 takes 68 bytes, past the end of the page"),
                "\(r.stderr)")
        #expect(r.stdout.hasPrefix("INCONSISTENT: \(file) is damaged in main database, so the library was not opened"), "\(r.stdout)")
        #expect(r.stdout.contains("or restore it from a backup"))
        // The commands that open a library through LMDB to change or summarise it walk it first and refuse it.
        for command in [["status"], ["index", videos.path], ["remove", videos.path], ["repair"]] {
            let refused = try vj(command)
            #expect(refused.status == 1, "\(command): \(refused.stderr)")
            #expect(refused.stderrLines.last == "error: \(library): the library file is damaged (in main database) and was not opened; run `vjsearch verify`",
                    "\(command): \(refused.stderr)")
        }
    }

    @Test func killedRunsLoseNothingCommitted() throws {
        for i in 0..<6 { _ = try video("v\(i).mp4", seconds: 30, seed: i) }
        var generator = SystemRandomNumberGenerator()
        var interrupted = 0
        for _ in 0..<4 {
            let p = try spawn(["index", videos.path, "--library", library, "--model", model, "--batch", "2"])
            Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.3, using: &generator))
            if p.isRunning { interrupted += 1 }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if (try? FileManager.default.attributesOfItem(atPath: library + "/data.mdb")) != nil {
                let v = try vj(["verify"])
                #expect(v.status == 0, "\(v.stdout) \(v.stderr)")
            }
        }
        #expect(interrupted >= 2, "the runs finished before they could be killed")
        // Every run embeds with the same batch size as the killed ones, so vectors match to the bit.
        let final = try vj(["index", videos.path, "--batch", "2"])
        #expect(final.status == 0, "\(final.stderr)")
        #expect(try vj(["verify"]).status == 0)

        let reference = dir.file("reference").path
        #expect(try CommandLineTests.run(["index", videos.path, "--library", reference, "--model", model, "--batch", "2"]).status == 0)
        let mine = try status(), theirs = try CommandLineTests.run(["status", "--json", "--library", reference])
        let ref = try #require(try JSONSerialization.jsonObject(with: Data(theirs.stdout.utf8)) as? [String: Any])
        for key in ["videos", "segments", "vectors", "hours"] {
            #expect("\(mine[key] ?? "-")" == "\(ref[key] ?? "-")", "\(key)")
        }
        let query = ["query", "red ball", "--json", "--exact", "--top", "100", "--model", model]
        let a = try CommandLineTests.run(query + ["--library", library])
        let b = try CommandLineTests.run(query + ["--library", reference])
        #expect(a.status == 0 && !a.stdout.isEmpty)
        // The same moments in the same order, with the same scores.
        func moments(_ r: CommandLineTests.Result) throws -> [(path: String, start: Double, end: Double, score: Double)] {
            try r.stdoutLines.map { line in
                let m = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return (m["path"] as? String ?? "", m["start"] as? Double ?? -1, m["end"] as? Double ?? -1,
                        m["score"] as? Double ?? .nan)
            }
        }
        let mineMoments = try moments(a), theirMoments = try moments(b)
        #expect(mineMoments.count == theirMoments.count)
        for (x, y) in zip(mineMoments, theirMoments) {
            let sameSpan = x.path == y.path && x.start == y.start && x.end == y.end
            let scoreGap = Swift.abs(x.score - y.score)
            #expect(sameSpan, "\(x) vs \(y)")
            #expect(scoreGap <= 1e-6, "\(x) vs \(y)")
        }
    }

    /// The default library lives under `$HOME` (when `$XDG_DATA_HOME` and `$VJSEARCH_LIBRARY` are unset), and is not
    /// made at all when no path given to `index` exists.
    @Test func defaultLibraryFollowsHomeAndIsMadeOnlyForRealPaths() throws {
        let home = dir.file("home").path
        let env: [String: String?] = ["HOME": home, "XDG_DATA_HOME": nil, "VJSEARCH_LIBRARY": nil]
        let missing = try CommandLineTests.run(["index", dir.file("nonexistent").path, "--model", model], environment: env)
        #expect(missing.status == 1)
        #expect(missing.stderrLines == ["error: \(dir.file("nonexistent").path): no such file or folder"], "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home), "a library was made for nothing")
        let a = try video("a.mp4")
        let r = try CommandLineTests.run(["index", a, "--model", model], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: home + "/.local/share/vjsearch/data.mdb"))
        let s = try CommandLineTests.run(["status", "--json"], environment: env)
        #expect(s.stdout.contains("\"library\":\"\(home)/.local/share/vjsearch\""), "\(s.stdout)")
    }

    /// `--in` with a relative glob matches from the current folder; a glob matching no video says so.
    @Test func relativeGlobsMatchFromTheCurrentFolder() throws {
        _ = try video("a.mp4", seed: 0)
        _ = try video("b.mp4", seed: 1)
        #expect(try vj(["index", videos.path]).status == 0)
        let here = try CommandLineTests.run(["query", "red ball", "--library", library, "--model", model, "--in", "videos/b.*",
                                             "--format", "json"],
                                            prefix: ["/usr/bin/env", "-C", dir.url.path])
        #expect(here.status == 0, "\(here.stderr)")
        #expect(!here.stdoutLines.isEmpty && here.stdoutLines.allSatisfy { $0.contains("\"path\":\"\(videos.path)/b.mp4\"") },
                "\(here.stdout)")
        let none = try CommandLineTests.run(["query", "red ball", "--library", library, "--model", model, "--in", "elsewhere/*"],
                                            prefix: ["/usr/bin/env", "-C", dir.url.path])
        #expect(none.status == 0 && none.stdout.isEmpty)
        #expect(none.stderrLines == ["no moments found: no indexed video matches '\(dir.url.path)/elsewhere/*' (stored paths are absolute)"],
                "\(none.stderr)")
    }

    /// A long file commits chunk by chunk: kill -9 at random points inside it leaves a partial video that is searchable
    /// (marked partial), verifies clean and never shrinks; the next run embeds only what no chunk stored, and the
    /// library ends up as an uninterrupted run's.
    @Test func killedInsideOneLongFileResumesFromItsLastChunk() throws {
        let long = try video("long.mp4", seconds: 150, seed: 3)
        let index = ["index", long, "--library", library, "--model", model, "--batch", "1", "--chunk-seconds", "5",
                     "--progress", "none"]
        var generator = SystemRandomNumberGenerator()
        var stored = 0  // segments of the partial video after the last kill
        for _ in 0..<3 {
            let p = try spawn(index)
            // Wait until the run has committed a random number of segments past what the last one left, then kill it.
            let target = stored + Int.random(in: 5...25, using: &generator)
            var seen = stored
            while p.isRunning, seen < target {
                seen = (try? Library(path: library, model: nil, create: false, checkPages: false).videos().first?.segments) ?? 0
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let record = try #require(try Library(path: library, model: nil, create: false).videos().first)
            #expect(record.status == .partial, "the run finished before it was killed")
            #expect(record.segments >= stored, "a killed run lost committed segments")
            stored = record.segments
            let v = try vj(["verify"])
            #expect(v.status == 0 && v.stdout.contains("1 indexed in part"), "\(v.stdout) \(v.stderr)")
            let partial = try status()["partial"] as? [[String: Any]]
            #expect(partial?.first?["path"] as? String == long)
            #expect(try moments("red ball", ["--top", "1"]).first?["partial"] as? Bool == true)
        }
        let resumed = try vj(["index", long, "--batch", "1", "--chunk-seconds", "5", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let summary = try summary(resumed)
        #expect(summary["resumed"] as? Int == 1)
        let reference = dir.file("reference").path
        #expect(try CommandLineTests.run(["index", long, "--library", reference, "--model", model, "--batch", "1"]).status == 0)
        let whole = try #require(try Library(path: reference, model: nil, create: false).videos().first)
        // Only what no chunk stored was embedded again.
        #expect(summary["clips"] as? Int == whole.segments - stored)
        let record = try #require(try Library(path: library, model: nil, create: false).videos().first)
        #expect(record.status == .indexed && record.resume == nil)
        #expect(record.segments == whole.segments && Swift.abs(record.duration - whole.duration) < 1e-9)
        #expect(try vj(["verify"]).status == 0)
        let query = ["query", "red ball", "--format", "tsv", "--exact", "--top", "20", "--model", model]
        let a = try CommandLineTests.run(query + ["--library", library]).stdoutLines.map { $0.split(separator: "\t") }
        let b = try CommandLineTests.run(query + ["--library", reference]).stdoutLines.map { $0.split(separator: "\t") }
        #expect(a.count == b.count && !a.isEmpty)
        for (x, y) in zip(a, b) {
            // Rank, start and end agree exactly; scores to float rounding (batches fall differently after a resume).
            #expect(x[0] == y[0] && x[2] == y[2] && x[3] == y[3], "\(x) vs \(y)")
            #expect(Swift.abs((Double(x[1]) ?? .nan) - (Double(y[1]) ?? .nan)) <= 2e-4, "\(x) vs \(y)")
        }
    }

    func spawn(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try CommandLineTests.binary())
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test func modelEmbedTokenizesTextWithTheBundlesTokenizer() throws {
        let red = try #require(LibraryFixtures.vocabulary.firstIndex(of: "red"))
        let ball = try #require(LibraryFixtures.vocabulary.firstIndex(of: "ball"))
        let byText = try CommandLineTests.run(["model", "embed", model, "--text", "Red BALL"])
        let byIDs = try CommandLineTests.run(["model", "embed", model, "--ids", "2,\(red),\(ball),3"])
        #expect(byText.status == 0 && byIDs.status == 0, "\(byText.stderr) \(byIDs.stderr)")
        let vector = try #require(try JSONSerialization.jsonObject(with: Data(byText.stdout.utf8)) as? [Double])
        #expect(vector.count == 24)
        #expect(byText.stdout == byIDs.stdout)
        #expect(try CommandLineTests.run(["model", "embed", model]).status == 64)
    }

    @Test func verifyFindsAFlippedBitInAVectorAndRepairRebuildsWithoutIt() throws {
        let a = try video("a.mp4", seed: 0), b = try video("b.mp4", seed: 1)
        _ = try video("c.mp4", seed: 2)
        #expect(try vj(["index", videos.path]).status == 0)
        // The first vector of b, as stored: read in-process, then the process lets the library go.
        let victim: [Float] = try {
            let library = try Library(path: library, model: nil, create: false)
            let id = try #require(try library.videos().first { $0.path == b }).id
            var vector: [Float] = []
            _ = try library.environment.read { txn in
                try library.index.salvage(in: txn) { found, v in if found == SegmentID.make(video: id, index: 0) { vector = Array(v) } }
            }
            return vector
        }()
        try #require(victim.count > 0)
        #expect(try Damage.flip(vector: victim, in: URL(fileURLWithPath: library + "/data.mdb")) > 0)

        var r = try vj(["verify"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("fails its checksum"), "\(r.stderr)")
        #expect(r.stdout.contains("run `vjsearch repair`"), "\(r.stdout)")
        // A search never returns the damaged vector: it answers without it or names the damage, and never crashes.
        r = try vj(["query", "red ball", "--top", "20"])
        #expect(r.status == 0 || (r.stderr.contains("fails its checksum") && r.stderr.contains("run `vjsearch verify`")), "\(r.status) \(r.stderr) \(r.stdout)")

        r = try vj(["repair"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("repaired: 2 videos"), "\(r.stdout)")
        #expect(r.stdout.contains("dropped 1 vectors that fail their checksums"), "\(r.stdout)")
        #expect(r.stdoutLines.contains("  \(b)"), "\(r.stdout)")
        let parent = URL(fileURLWithPath: library).deletingLastPathComponent().path
        let aside = try FileManager.default.contentsOfDirectory(atPath: parent)
            .filter { $0.hasPrefix(URL(fileURLWithPath: library).lastPathComponent + ".damaged-") }
        #expect(aside.count == 1, "the damaged library is kept beside the repaired one")
        r = try vj(["verify"])
        #expect(r.status == 0 && r.stdout.hasPrefix("consistent: 2 videos"), "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("checksums match"))

        // The next index run embeds only the video that lost a vector.
        r = try vj(["index", videos.path, "--json"])
        #expect(try counts(r) == ["indexed": 1, "relinked": 0, "unchanged": 2, "skipped_failed": 0, "failed": 0, "pruned": 0])
        #expect(try vj(["verify"]).stdout.hasPrefix("consistent: 3 videos"))
        let found = try moments("red ball", ["--top", "20"])
        #expect(found.contains { $0["path"] as? String == a }, "\(found)")
    }
}
