import Foundation
import HubMirror
import Watch
import Testing
import TestSupport

/// `vjsearch model install open-vljepa` end to end against the local hub mirror (Tests/ConvertTests/Fixtures/hub,
/// tiny repositories laid out like the real ones): the bundle equals the Python converter's byte for byte, and
/// resume, checksums, gated repositories, a full disk, kill -9 and a malicious pickle are handled.
@Suite(.serialized) struct ModelInstallTests {
    static let fixtures = CommandLineTests.root.appendingPathComponent("Tests/ConvertTests/Fixtures")
    static let hub = fixtures.appendingPathComponent("hub")
    static let expected = fixtures.appendingPathComponent("open-vljepa-expected")
    static let gated = ["meta-llama/Llama-3.2-1B": "hf_test", "google/embeddinggemma-300m": "hf_test"]
    static let bundleFiles = ["config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md"]

    /// A home of its own (the hub cache under HF_HOME) and the mirror's URL for each run.
    struct Setup {
        let dir: TemporaryDirectory
        let mirror: RunningMirror
        /// The default place, under XDG_DATA_HOME, so that `model list` finds it by name.
        var dest: URL { dir.file("data/vjsearch/models/open-vljepa") }
        var environment: [String: String?] {
            ["HF_HOME": dir.file("hf").path, "HF_TOKEN": "hf_test", "HF_ENDPOINT": nil, "HF_HUB_CACHE": nil,
             "XDG_DATA_HOME": dir.file("data").path]
        }

        init(_ name: String, hub: URL = ModelInstallTests.hub) async throws {
            dir = try TemporaryDirectory(prefix: name)
            mirror = try await RunningMirror(root: hub, gated: ModelInstallTests.gated)
        }

        func install(_ extra: [String] = [], environment more: [String: String?] = [:]) throws -> CommandLineTests.Result {
            try CommandLineTests.run(["model", "install", "open-vljepa", "--hub", mirror.url, "--dest", dest.path,
                                      "--progress", "none"] + extra,
                                     environment: environment.merging(more) { $1 }, timeout: 300)
        }

        var gets: [Faults.Request] { mirror.mirror.faults.requests.filter { $0.method == "GET" } }
    }

    static func expectBundleEqualsPython(_ dest: URL) throws {
        for file in bundleFiles {
            let ours = try Data(contentsOf: dest.appendingPathComponent(file))
            let python = try Data(contentsOf: expected.appendingPathComponent(file))
            #expect(ours == python, "\(file) differs from Tools/convert/convert.py's")
        }
    }

    @Test func installsTheBundleThePythonConverterMakesAndSearchesWithIt() async throws {
        let s = try await Setup("install-full")
        let r = try s.install()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("installed open-vljepa in \(s.dest.path): model id vj1-"), "\(r.stdout)")
        try Self.expectBundleEqualsPython(s.dest)
        #expect(FileManager.default.fileExists(atPath: s.dest.appendingPathComponent("INSTALL.json").path))
        // Downloaded into the Hugging Face cache, in its layout.
        #expect(FileManager.default.fileExists(atPath: s.dir.file("hf/hub/models--cun-bjy--open-vljepa/refs/main").path))
        let downloaded = s.gets.count

        // Again: a no-op, nothing downloaded.
        let again = try s.install()
        #expect(again.status == 0 && again.stdout.contains("already installed"), "\(again.stdout) \(again.stderr)")
        #expect(s.gets.count == downloaded)

        // --force builds again from the cache, with no download either.
        let forced = try s.install(["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(s.gets.count == downloaded)
        try Self.expectBundleEqualsPython(s.dest)

        // The installed bundle indexes and searches the samples.
        let library = s.dir.file("library").path
        let index = try CommandLineTests.run(["index", CommandLineTests.sample, "--library", library, "--model", s.dest.path],
                                             timeout: 600)
        #expect(index.status == 0, "\(index.stderr)")
        let query = try CommandLineTests.run(["query", "a red ball", "--library", library, "--model", s.dest.path, "--json"])
        #expect(query.status == 0 && query.stdout.contains("bigbuckbunny.mp4"), "\(query.stdout) \(query.stderr)")

        // The installed name is listed, and `model remove` takes it away.
        let list = try CommandLineTests.run(["model", "list"], environment: s.environment)
        #expect(list.stdout.contains("open-vljepa"), "\(list.stdout)")
        let removed = try CommandLineTests.run(["model", "remove", s.dest.path], environment: s.environment)
        #expect(removed.status == 0 && !FileManager.default.fileExists(atPath: s.dest.path), "\(removed.stderr)")
        await s.mirror.stop()
    }

    /// --frames, --fps and --stride override the recipe's clip: the bundle says so, and an install with other
    /// choices is not taken for the one already there (nor the same choices again for a new one).
    @Test func clipOptionsOverrideTheRecipeAndAreRemembered() async throws {
        let s = try await Setup("install-clip")
        #expect(try s.install().status == 0)
        let downloaded = s.gets.count
        let fewer = try s.install(["--frames", "4", "--fps", "1", "--stride", "4"])
        #expect(fewer.status == 0 && fewer.stdout.hasPrefix("installed open-vljepa"), "\(fewer.stdout) \(fewer.stderr)")
        #expect(s.gets.count == downloaded, "the cache served the second build")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: s.dest.appendingPathComponent("config.json"))) as? [String: Any]
        let clip = try #require(config?["clip"] as? [String: Any])
        #expect(clip["frames"] as? Int == 4 && clip["fps"] as? Double == 1 && clip["window_seconds"] as? Double == 4
                && clip["stride_seconds"] as? Double == 4, "\(clip)")
        let again = try s.install(["--frames", "4", "--fps", "1", "--stride", "4"])
        #expect(again.stdout.contains("already installed"), "\(again.stdout)")
        let back = try s.install()
        #expect(back.stdout.hasPrefix("installed open-vljepa"), "\(back.stdout)")
        try Self.expectBundleEqualsPython(s.dest)

        let bad = try s.install(["--frames", "0"])
        #expect(bad.status == 64 && bad.stderr.contains("--frames 0: must be 1…10000"), "\(bad.stderr)")
        await s.mirror.stop()
    }

    @Test func aGatedRepositoryWithoutATokenNamesTheLicencePage() async throws {
        let s = try await Setup("install-gated")
        let r = try s.install(environment: ["HF_TOKEN": nil])
        #expect(r.status == 77)
        let line = try #require(r.stderrLines.last)
        #expect(line.hasPrefix("error: ") && line.contains("is gated: accept its licence")
                && line.contains(s.mirror.url + "/google/embeddinggemma-300m") || line.contains(s.mirror.url + "/meta-llama/Llama-3.2-1B"),
                "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.dest.path))
        await s.mirror.stop()
    }

    @Test func aCorruptedByteIsRefusedNamingTheFileAndNothingIsInstalled() async throws {
        let s = try await Setup("install-corrupt")
        s.mirror.mirror.faults.corrupt("best.pt")
        let r = try s.install()
        #expect(r.status == 1)
        #expect(r.stderrLines.last?.hasPrefix("error: cun-bjy/open-vljepa/best.pt: the download does not match the hub's sha256") == true,
                "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.dest.path))
        s.mirror.mirror.faults.repair("best.pt")
        #expect(try s.install().status == 0)
        await s.mirror.stop()
    }

    @Test func killedMidDownloadTheRerunResumesWithARange() async throws {
        let s = try await Setup("install-kill")
        s.mirror.mirror.faults.stall("best.pt", after: 20_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CommandLineTests.binary())
        process.arguments = ["model", "install", "open-vljepa", "--hub", s.mirror.url, "--dest", s.dest.path, "--progress", "none"]
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in s.environment { environment[key] = value }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        // Writes into the cache's blobs folder wake the wait below (inotify), rather than a timer.
        let blobs = s.dir.file("hf/hub/models--cun-bjy--open-vljepa/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let writes = try Inotify()
        _ = try writes.add(blobs.path, mask: UInt32(IN_MODIFY | IN_CREATE))
        try process.run()
        await s.mirror.mirror.faults.waitForStall()
        // The mirror has sent 20,000 bytes and waits; kill once they are on disk (in the cache's partial file).
        func partialBytes() -> Int {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: blobs.path)) ?? []
            return names.filter { $0.hasSuffix(".incomplete") }.compactMap {
                (try? FileManager.default.attributesOfItem(atPath: blobs.appendingPathComponent($0).path))?[.size] as? Int
            }.first ?? 0
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while partialBytes() < 20_000, ContinuousClock.now < deadline {
            var next = pollfd(fd: writes.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&next, 1, 1_000)
            _ = try writes.read()
        }
        #expect(partialBytes() == 20_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(!FileManager.default.fileExists(atPath: s.dest.path), "a killed install leaves no bundle")
        s.mirror.mirror.faults.releaseStalls()

        let r = try s.install()
        #expect(r.status == 0, "\(r.stderr)")
        let ranges = s.gets.filter { $0.path.hasPrefix("/lfs/") }.compactMap(\.range)
        #expect(ranges.contains("bytes=20000-"), "\(s.gets)")
        try Self.expectBundleEqualsPython(s.dest)
        await s.mirror.stop()
    }

    @Test func aMaliciousPickleIsRefusedAndNothingRuns() async throws {
        let dir = try TemporaryDirectory(prefix: "install-evil-hub")
        let hub = dir.file("hub")
        try FileManager.default.copyItem(at: Self.hub, to: hub)
        let best = hub.appendingPathComponent("cun-bjy/open-vljepa/best.pt")
        try FileManager.default.removeItem(at: best)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("checkpoints/evil_os_system.pt"), to: best)
        let s = try await Setup("install-evil", hub: hub)
        let r = try s.install()
        #expect(r.status == 1)
        #expect(r.stderrLines.last?.contains("os.system") == true, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.dest.path))
        await s.mirror.stop()
    }

    @Test(.enabled(if: Tmpfs.canMount, "needs the right to mount a tmpfs"))
    func aFullDiskIsRefusedBeforeDownloading() async throws {
        let s = try await Setup("install-full-disk")
        let disk = s.dir.file("disk")
        try Tmpfs.mount(disk, size: "8m")
        defer { Tmpfs.unmount(disk) }
        let r = try CommandLineTests.run(["model", "install", "open-vljepa", "--hub", s.mirror.url, "--dest",
                                          disk.appendingPathComponent("open-vljepa").path, "--progress", "none"],
                                         environment: s.environment.merging(["HF_HOME": disk.appendingPathComponent("hf").path]) { $1 })
        #expect(r.status == 1)
        #expect(r.stderrLines.last?.hasPrefix("error: \(disk.path): not enough free space: 5.") == true, "\(r.stderr)")
        #expect(s.gets.isEmpty, "nothing was downloaded")
        await s.mirror.stop()
    }

    @Test func anUnknownRecipeListsTheKnownOnes() throws {
        let r = try CommandLineTests.run(["model", "install", "no-such-model"])
        #expect(r.status == 64)
        #expect(r.stderrLines.last == "error: no recipe called 'no-such-model' (known: open-vljepa)", "\(r.stderr)")
    }

    @Test func anUnreachableHubIsExit69() throws {
        let dir = try TemporaryDirectory(prefix: "install-unreachable")
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let r = try CommandLineTests.run(["model", "install", "open-vljepa", "--hub", "http://127.0.0.1:9", "--dest",
                                          dir.file("m").path, "--progress", "none"],
                                         environment: ["HF_HOME": dir.file("hf").path, "VJSEARCH_HUB_RETRY_MS": "1"], timeout: 120)
        #expect(r.status == 69, "\(r.stderr)")
        #expect(r.stderrLines.last?.contains("the hub cannot be reached") == true, "\(r.stderr)")
    }
}
