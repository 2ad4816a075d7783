import Foundation
import Testing
import TestSupport

/// The real-footage bundle `Models/objects` end to end: index the real sample (Big Buck Bunny: a big rabbit on a
/// grassy hill) through the built binary and check that what is on screen outranks what is not.
@Suite struct RealFootageTests {
    static let objects = CommandLineTests.root.appendingPathComponent("Models/objects").path

    /// The best score `query` gives `text` in `library` (exact search, so the graph's recall plays no part).
    static func bestScore(_ text: String, library: String) throws -> Double {
        let r = try CommandLineTests.run(["query", text, "--json", "--exact", "--top", "1", "--library", library], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let line = try #require(r.stdoutLines.first)
        let moment = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let score = try #require(moment["score"] as? Double)
        #expect(score.isFinite && score > -1.001 && score < 1.001, "score \(score) of '\(text)'")
        return score
    }

    @Test func aRabbitBeatsACarAndAPizzaInBigBuckBunny() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-real")
        let library = dir.file("library").path
        let index = try CommandLineTests.run(["index", CommandLineTests.sample, "--model", Self.objects,
                                              "--library", library, "--json"], timeout: 600)
        #expect(index.status == 0, "\(index.stderr)")
        #expect(!index.stderr.contains("note:"), "the real-footage model must not get the synthetic-model note")

        let rabbit = try Self.bestScore("a rabbit", library: library)
        let car = try Self.bestScore("a car", library: library)
        let pizza = try Self.bestScore("a pizza", library: library)
        #expect(rabbit > car + 0.05, "a rabbit \(rabbit) vs a car \(car)")
        #expect(rabbit > pizza + 0.05, "a rabbit \(rabbit) vs a pizza \(pizza)")

        let status = try CommandLineTests.run(["status", "--library", library])
        #expect(status.stdoutLines.contains { $0.hasPrefix("domain") && $0.contains("imagenet-objects") })
    }
}
