import Foundation
import Hub
import HubMirror
import Testing
import TestSupport

/// The download code against the local mirror: resume, checksums, gated repositories, the shared cache.
@Suite struct DownloaderTests {
    /// A repository `acme/model` with an LFS file (`weights.safetensors`, 300 KB) and a git file (`config.json`).
    static func makeRepos(_ dir: TemporaryDirectory) throws -> URL {
        let root = dir.file("hub")
        let repo = root.appendingPathComponent("acme/model")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 7)
        let weights = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try Data(weights).write(to: repo.appendingPathComponent("weights.safetensors"))
        try Data("{\"hidden_size\": 8}\n".utf8).write(to: repo.appendingPathComponent("config.json"))
        let gated = root.appendingPathComponent("meta/gated")
        try FileManager.default.createDirectory(at: gated, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: gated.appendingPathComponent("config.json"))
        return root
    }

    static func source(_ repo: String = "acme/model", files: [String] = ["config.json", "weights.safetensors"]) throws -> Recipe.Source {
        let json = "{\"repo\": \"\(repo)\", \"files\": [\(files.map { "\"\($0)\"" }.joined(separator: ","))]}"
        return try JSONDecoder().decode(Recipe.Source.self, from: Data(json.utf8))
    }

    /// Downloads every file of `source` into `cache`; returns the snapshot paths.
    static func fetchAll(_ mirror: RunningMirror, cache: URL, token: String? = nil,
                         source: Recipe.Source) async throws -> [URL] {
        let settings = HubSettings(endpoint: URL(string: mirror.url)!, token: token, cache: cache)
        let client = HubClient(settings: settings)
        var downloader = Downloader(client: client)
        downloader.retryDelay = .milliseconds(1)
        do {
            let (files, _) = try await downloader.plan(source)
            var out: [URL] = []
            for file in files { out.append(try await downloader.fetch(file, revision: source.revision) { _ in }) }
            try await client.shutdown()
            return out
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    @Test func downloadsIntoTheHubCacheLayout() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-layout")
        let root = try Self.makeRepos(dir)
        let mirror = try await RunningMirror(root: root)
        defer { Task { await mirror.stop() } }
        let paths = try await Self.fetchAll(mirror, cache: dir.file("cache"), source: Self.source())
        for (path, name) in zip(paths, ["config.json", "weights.safetensors"]) {
            #expect(try Data(contentsOf: path) == Data(contentsOf: root.appendingPathComponent("acme/model/\(name)")))
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: path.path)
            #expect(target.hasPrefix("../../blobs/"), "\(target)")
        }
        // LFS blobs are named by sha256, git files by their blob id, as huggingface_hub names them.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: dir.file("cache/models--acme--model/blobs").path)
            .filter { !$0.hasSuffix(".lock") }
        #expect(Set(blobs.map(\.count)) == [40, 64], "\(blobs)")
        let ref = try String(contentsOf: dir.file("cache/models--acme--model/refs/main"), encoding: .utf8)
        #expect(paths[0].path.contains("/snapshots/\(ref)/"))
        await mirror.stop()
    }

    @Test func aDroppedConnectionResumesWithARange() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-drop")
        let mirror = try await RunningMirror(root: try Self.makeRepos(dir))
        mirror.mirror.faults.dropConnection("weights.safetensors", after: 100_000)
        let paths = try await Self.fetchAll(mirror, cache: dir.file("cache"), source: Self.source(files: ["weights.safetensors"]))
        #expect(try Data(contentsOf: paths[0]).count == 300_000)
        // The second request asks for the rest from what arrived before the connection closed (the mirror sent
        // 100,000 bytes; how many of them reached the client before the close depends on the socket buffers).
        let gets = mirror.mirror.faults.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/lfs/") }
        #expect(gets.count == 2 && gets[0].range == nil, "\(gets)")
        let resumedFrom = gets.last?.range.flatMap { Int($0.dropFirst(6).dropLast()) } ?? 0
        #expect((1...100_000).contains(resumedFrom), "\(gets)")
        await mirror.stop()
    }

    @Test func aCorruptedByteIsRefusedNamingTheFile() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-corrupt")
        let mirror = try await RunningMirror(root: try Self.makeRepos(dir))
        mirror.mirror.faults.corrupt("weights.safetensors")
        await #expect {
            _ = try await Self.fetchAll(mirror, cache: dir.file("cache"), source: Self.source(files: ["weights.safetensors"]))
        } throws: { error in
            "\(error)".hasPrefix("acme/model/weights.safetensors: the download does not match the hub's sha256")
        }
        // Nothing of it is kept: no blob, no partial file, no snapshot link.
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: dir.file("cache/models--acme--model/blobs").path)) ?? []
        #expect(blobs.allSatisfy { $0.hasSuffix(".lock") }, "\(blobs)")
        // Tried twice from the start, then refused.
        #expect(mirror.mirror.faults.requests.filter { $0.method == "GET" }.count == 2)
        mirror.mirror.faults.repair("weights.safetensors")
        _ = try await Self.fetchAll(mirror, cache: dir.file("cache"), source: Self.source(files: ["weights.safetensors"]))
        await mirror.stop()
    }

    @Test func aCorruptedGitFileIsRefusedToo() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-corrupt-git")
        let mirror = try await RunningMirror(root: try Self.makeRepos(dir))
        mirror.mirror.faults.corrupt("config.json")
        await #expect {
            _ = try await Self.fetchAll(mirror, cache: dir.file("cache"), source: Self.source(files: ["config.json"]))
        } throws: { "\($0)".hasPrefix("acme/model/config.json: the download does not match the hub's git blob sha1") }
        await mirror.stop()
    }

    @Test func gatedRepositoriesSayWhichLicenceToAccept() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-gated")
        let mirror = try await RunningMirror(root: try Self.makeRepos(dir), gated: ["meta/gated": "hf_good"])
        let source = try Self.source("meta/gated", files: ["config.json"])
        await #expect {
            _ = try await Self.fetchAll(mirror, cache: dir.file("cache"), source: source)
        } throws: { "\($0)" == "meta/gated is gated: accept its licence at \(mirror.url)/meta/gated, then give a token (set HF_TOKEN, or run `huggingface-cli login`) and run this again" }
        await #expect {
            _ = try await Self.fetchAll(mirror, cache: dir.file("cache"), token: "hf_bad", source: source)
        } throws: { "\($0)".hasPrefix("meta/gated is gated and your token has no access to it: accept its licence at \(mirror.url)/meta/gated") }
        let ok = try await Self.fetchAll(mirror, cache: dir.file("cache"), token: "hf_good", source: source)
        #expect(try String(contentsOf: ok[0], encoding: .utf8) == "{}")
        await mirror.stop()
    }

    @Test func cachedFilesAreCheckedAndReusedWrongOnesDownloadedAgain() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-cache")
        let mirror = try await RunningMirror(root: try Self.makeRepos(dir))
        let cache = dir.file("cache")
        let first = try await Self.fetchAll(mirror, cache: cache, source: Self.source())
        let gets = { mirror.mirror.faults.requests.filter { $0.method == "GET" }.count }
        #expect(gets() == 2)
        _ = try await Self.fetchAll(mirror, cache: cache, source: Self.source())
        #expect(gets() == 2, "a verified cached file is not downloaded again")

        // A blob changed on disk is not trusted.
        let blob = try FileManager.default.destinationOfSymbolicLink(atPath: first[1].path)
        let blobURL = first[1].deletingLastPathComponent().appendingPathComponent(blob).standardizedFileURL
        var bytes = try Data(contentsOf: blobURL)
        bytes[10] ^= 0xFF
        try bytes.write(to: blobURL)
        let again = try await Self.fetchAll(mirror, cache: cache, source: Self.source())
        #expect(gets() == 3)
        #expect(try Data(contentsOf: again[1]) == Data(contentsOf: dir.file("hub/acme/model/weights.safetensors")))

        // A partial download left by another tool (or a killed run) is completed from where it stopped.
        try FileManager.default.removeItem(at: blobURL)
        try Data(try Data(contentsOf: dir.file("hub/acme/model/weights.safetensors")).prefix(123_456))
            .write(to: URL(fileURLWithPath: blobURL.path + ".incomplete"))
        _ = try await Self.fetchAll(mirror, cache: cache, source: Self.source())
        #expect(mirror.mirror.faults.requests.last?.range == "bytes=123456-")
        await mirror.stop()
    }

    /// The disk fills during a download: the error names the partial file, and after space is freed the run resumes.
    @Test(.enabled(if: Tmpfs.canMount, "needs the right to mount a tmpfs"))
    func aDiskThatFillsMidDownloadNamesTheFile() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-full")
        let mirror = try await RunningMirror(root: try Self.makeRepos(dir))
        let disk = dir.file("disk")
        try Tmpfs.mount(disk, size: "200k")
        defer { Tmpfs.unmount(disk) }
        await #expect {
            _ = try await Self.fetchAll(mirror, cache: disk, source: Self.source(files: ["weights.safetensors"]))
        } throws: { error in
            "\(error)".hasSuffix(".incomplete: no space left on device") && "\(error)".hasPrefix(disk.path + "/models--acme--model/blobs/")
        }
        await mirror.stop()
    }

    @Test func anUnreachableHubFallsBackToACompleteCache() async throws {
        let dir = try TemporaryDirectory(prefix: "hub-offline")
        let mirror = try await RunningMirror(root: try Self.makeRepos(dir))
        let cache = dir.file("cache")
        _ = try await Self.fetchAll(mirror, cache: cache, source: Self.source())
        let url = mirror.url
        await mirror.stop()
        let settings = HubSettings(endpoint: URL(string: url)!, token: nil, cache: cache)
        let client = HubClient(settings: settings)
        var downloader = Downloader(client: client)
        downloader.retryDelay = .milliseconds(1)
        let (files, offline) = try await downloader.plan(try Self.source())
        #expect(offline && files.count == 2)
        await #expect(throws: HubError.self) { _ = try await downloader.plan(try Self.source("acme/other", files: ["x"])) }
        try await client.shutdown()
    }

    @Test func settingsFollowTheHuggingFaceEnvironment() throws {
        let dir = try TemporaryDirectory(prefix: "hub-env")
        try Data("hf_from_file\n".utf8).write(to: dir.file("token"))
        let s = try HubSettings.resolve(hub: nil, environment: ["HOME": "/home/u", "HF_HOME": dir.url.path, "HF_ENDPOINT": "http://127.0.0.1:9/"])
        #expect(s.endpoint.absoluteString == "http://127.0.0.1:9" && s.token == "hf_from_file" && s.cache.path == dir.url.path + "/hub")
        let t = try HubSettings.resolve(hub: "http://mirror:8000", environment: ["HOME": "/home/u", "HF_TOKEN": "hf_env", "HF_ENDPOINT": "http://x"])
        #expect(t.endpoint.absoluteString == "http://mirror:8000" && t.token == "hf_env" && t.cache.path == "/home/u/.cache/huggingface/hub")
        #expect(throws: RecipeError.self) { try HubSettings.resolve(hub: "ftp://x", environment: [:]) }
        #expect(s.resolveURL(repo: "a/b", revision: "main", file: "sub/c d.json").absoluteString == "http://127.0.0.1:9/a/b/resolve/main/sub/c%20d.json")
    }
}
