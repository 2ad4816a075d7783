import Foundation
import Testing
import TestSupport

/// A full disk: `index` ends with one line naming the library, never a crash, and what was stored stays sound.
/// Runs on a 3 MB tmpfs, so it needs the right to mount one (root, as `make test` runs in CI); skipped otherwise.
@Suite(.serialized) struct FullDiskTests {
    /// Fills the file system holding `directory` until a write fails.
    static func fill(_ directory: URL) {
        guard let handle = fopen(directory.appendingPathComponent("filler").path, "w") else { return }
        defer { fclose(handle) }
        let block = [UInt8](repeating: 0, count: 4096)
        while fwrite(block, 1, block.count, handle) == block.count, fflush(handle) == 0 {}
    }

    static func errorLines(_ r: CommandLineTests.Result) -> [Substring] {
        r.stderrLines.filter { !$0.hasPrefix("note:") }
    }

    @Test(.enabled(if: Tmpfs.canMount, "needs the right to mount a tmpfs"))
    func aFullDiskIsAnErrorNamingTheLibrary() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-full")
        let disk = dir.file("disk")
        try Tmpfs.mount(disk, size: "3m")
        defer { Tmpfs.unmount(disk) }
        let model = try LibraryFixtures.bundle(in: dir.file("model"), id: "tiny-full").path
        let videos = dir.file("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        try LibraryFixtures.video(videos.appendingPathComponent("a.mp4").path, seconds: 4, seed: 0)
        let library = disk.appendingPathComponent("library").path

        #expect(try CommandLineTests.run(["index", videos.path, "--library", library, "--model", model]).status == 0)
        for seed in 1...3 {
            try LibraryFixtures.video(videos.appendingPathComponent("b\(seed).mp4").path, seconds: 30, seed: seed)
        }
        Self.fill(disk)

        // An existing library: the write fails cleanly and the videos indexed before are intact.
        let full = try CommandLineTests.run(["index", videos.path, "--library", library, "--model", model], timeout: 120)
        #expect(full.status == 1)
        #expect(Self.errorLines(full) == ["error: \(library): no space left on device; nothing of the failed write was stored"],
                "\(full.stderr)")
        let verify = try CommandLineTests.run(["verify", "--library", library])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        let query = try CommandLineTests.run(["query", "ball", "--library", library, "--model", model, "--json"])
        #expect(query.status == 0 && query.stdout.contains("a.mp4"), "\(query.stderr)")

        // A new library on the full disk: refused before LMDB maps a file it cannot back.
        let fresh = disk.appendingPathComponent("fresh").path
        let refused = try CommandLineTests.run(["index", videos.path, "--library", fresh, "--model", model], timeout: 120)
        #expect(refused.status == 1)
        let line = try #require(Self.errorLines(refused).first)
        #expect(Self.errorLines(refused).count == 1 && line.hasPrefix("error: \(fresh): no space left on device"), "\(refused.stderr)")
    }
}
