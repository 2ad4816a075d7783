import Foundation
import FuzzHarnesses
import Testing

/// Replays the committed fuzz inputs (`Tools/fuzz/corpus/<harness>/` and `Tools/fuzz/crashes/<harness>/`) through
/// their harnesses, in an ordinary build: a crash fixed once stays fixed, and the seeds stay valid.
///
/// Seeds named `bad-…` are damaged on purpose and must be refused; every other seed must be accepted, so a parser
/// that starts refusing valid files (and a harness that stops reaching its parser) fails here.
/// Serialized: the media and lmdb harnesses reuse one scratch file per process.
@Suite(.serialized)
struct FuzzReplayTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/fuzz")

    /// The regular files of `Tools/fuzz/<kind>/<harness>/`, by name.
    static func inputs(_ kind: String, _ harness: FuzzHarness) throws -> [URL] {
        let folder = fuzzFolder.appendingPathComponent(kind).appendingPathComponent(harness.rawValue)
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            .filter { !$0.hasPrefix(".") && $0 != "README.md" }
            .map { folder.appendingPathComponent($0) }
    }

    @Test("seeds are accepted, bad- seeds refused", arguments: FuzzHarness.allCases)
    func seeds(_ harness: FuzzHarness) throws {
        let seeds = try Self.inputs("corpus", harness)
        #expect(seeds.contains { !$0.lastPathComponent.hasPrefix("bad-") }, "no valid seed for \(harness.rawValue)")
        for seed in seeds {
            let expected = !seed.lastPathComponent.hasPrefix("bad-")
            #expect(try harness.run(contentsOf: seed) == expected,
                    "\(harness.rawValue)/\(seed.lastPathComponent) \(expected ? "refused" : "accepted")")
        }
    }

    @Test("crash inputs return", arguments: FuzzHarness.allCases)
    func crashes(_ harness: FuzzHarness) throws {
        for input in try Self.inputs("crashes", harness) {
            try harness.run(contentsOf: input)
        }
    }
}
