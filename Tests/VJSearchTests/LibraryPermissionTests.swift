import Foundation
import Testing
import TestSupport

/// A library reveals what someone watches and searches for: only its owner can read it, unless `--shared`.
@Suite struct LibraryPermissionTests: UsesLibraryWorkspace {
    let workspace: LibraryWorkspace

    init() throws {
        workspace = try LibraryWorkspace(prefix: "vjsearch-permissions", modelFolder: "model", modelID: "tiny-perm")
        try LibraryFixtures.video(videos.appendingPathComponent("a.mp4").path, seconds: 2)
    }

    func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o777
    }

    func modes(_ library: String) throws -> [String: Int] {
        var out = ["": try mode(library)]
        for name in try FileManager.default.contentsOfDirectory(atPath: library) {
            out[name] = try mode(library + "/" + name)
        }
        return out
    }

    @Test func aNewLibraryIsTheOwnersOnly() throws {
        let r = try CommandLineTests.run(["index", videos.path, "--library", library, "--model", model])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try modes(library)
        #expect(found[""] == 0o700)
        #expect(found["data.mdb"] == 0o600 && found["lock.mdb"] == 0o600)
        #expect(found.filter { $0.key != "" }.allSatisfy { $0.value == 0o600 }, "\(found.mapValues { String($0, radix: 8) })")
    }

    @Test func sharedLibrariesAreReadableAndStaySoWhenReindexed() throws {
        let r = try CommandLineTests.run(["index", videos.path, "--library", library, "--model", model, "--shared"])
        #expect(r.status == 0, "\(r.stderr)")
        var found = try modes(library)
        #expect(found[""] == 0o755 && found["data.mdb"] == 0o644, "\(found.mapValues { String($0, radix: 8) })")

        let other = try LibraryFixtures.bundle(in: dir.file("model-b"), id: "tiny-perm-b").path
        let re = try CommandLineTests.run(["reindex", "--library", library, "--model", other], timeout: 120)
        #expect(re.status == 0, "\(re.stderr)")
        found = try modes(library)
        #expect(found[""] == 0o755 && found["data.mdb"] == 0o644, "\(found.mapValues { String($0, radix: 8) })")
    }

    @Test func anotherUserWhoCannotWriteTheLibraryIsToldWhichOne() throws {
        let r = try CommandLineTests.run(["index", videos.path, "--library", library, "--model", model, "--shared"])
        #expect(r.status == 0, "\(r.stderr)")
        // Another user: as root, the query runs as `nobody`; otherwise the owner takes away its own write bits.
        var prefix: [String] = []
        if getuid() == 0 {
            prefix = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        } else {
            for name in try FileManager.default.contentsOfDirectory(atPath: library) { chmod(library + "/" + name, 0o444) }
            chmod(library, 0o555)
        }
        defer { chmod(library, 0o755) }
        let q = try CommandLineTests.run(["query", "red", "--library", library, "--model", model], prefix: prefix)
        #expect(q.status == 1)
        #expect(q.stderrLines == ["error: \(library): permission denied"], "\(q.stderr)")
    }
}
