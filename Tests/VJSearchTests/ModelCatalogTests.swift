import Foundation
import Testing
import TestSupport

/// Models by name: `vjsearch model list`, `--model NAME`, the library's own model by default, and what the tool
/// says about a bundle's domain.
@Suite struct ModelCatalogTests {
    typealias Result = CommandLineTests.Result

    let dir: TemporaryDirectory
    let models: URL
    let videos: URL
    var library: String { dir.file("library").path }
    /// Only the test's bundle folder and an empty data folder: the user's own bundles stay out of the test.
    var environment: [String: String?] {
        ["VJSEARCH_MODELS": models.path, "XDG_DATA_HOME": dir.file("data").path, "VJSEARCH_MODEL": nil]
    }

    init() throws {
        dir = try TemporaryDirectory(prefix: "vjsearch-models")
        models = dir.file("models")
        videos = dir.file("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        _ = try LibraryFixtures.bundle(in: models.appendingPathComponent("shapes"), id: "tiny-shapes", domain: "synthetic")
        _ = try LibraryFixtures.bundle(in: models.appendingPathComponent("things"), id: "tiny-things", domain: "imagenet-objects")
        try LibraryFixtures.video(videos.appendingPathComponent("a.mp4").path, seconds: 2, seed: 0)
    }

    func vj(_ arguments: [String]) throws -> Result {
        try CommandLineTests.run(arguments, environment: environment, timeout: 120)
    }

    @Test func listShowsEveryBundleWithItsDomain() throws {
        let text = try vj(["model", "list"])
        #expect(text.status == 0, "\(text.stderr)")
        let shapes = try #require(text.stdoutLines.first { $0.hasPrefix("shapes ") })
        #expect(shapes.contains("tiny-shapes") && shapes.contains("synthetic") && shapes.contains(models.path))
        let things = try #require(text.stdoutLines.first { $0.hasPrefix("things ") })
        #expect(things.contains("tiny-things") && things.contains("imagenet-objects") && things.contains("MB"))

        let json = try vj(["model", "list", "--json"])
        let rows = try json.stdoutLines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let row = try #require(rows.first { $0["name"] as? String == "things" })
        #expect(row["model_id"] as? String == "tiny-things")
        #expect(row["domain"] as? String == "imagenet-objects")
        #expect(row["family"] as? String == "vjepa2")
        #expect(row["dimensions"] as? Int == 24)
        #expect((row["bytes"] as? Int ?? 0) > 1000)
    }

    @Test func modelNamesResolveAndUnknownNamesAreUsageErrors() throws {
        let r = try vj(["index", videos.path, "--library", library, "--model", "things", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let inspect = try vj(["model", "inspect", "things"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("domain        imagenet-objects"))

        let unknown = try vj(["index", videos.path, "--library", dir.file("other").path, "--model", "nosuch"])
        #expect(unknown.status == 64)
        #expect(unknown.stderrLines.count == 1)
        #expect(unknown.stderr.contains("nosuch") && unknown.stderr.contains("shapes") && unknown.stderr.contains("things"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("other").path))
    }

    @Test func theLibrarysOwnModelAnswersWithoutModelOption() throws {
        #expect(try vj(["index", videos.path, "--library", library, "--model", "things"]).status == 0)
        // No --model: the installed bundle with the library's model id, not the default.
        let query = try vj(["query", "ball", "--library", library, "--json"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("a.mp4"))
        let again = try vj(["index", videos.path, "--library", library, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        // Another model named explicitly is still refused.
        #expect(try vj(["query", "ball", "--library", library, "--model", "shapes"]).status == 65)
    }

    @Test func creatingALibraryWithASyntheticModelSaysSoOnce() throws {
        let first = try vj(["index", videos.path, "--library", library, "--model", "shapes"])
        #expect(first.status == 0, "\(first.stderr)")
        let notes = first.stderrLines.filter { $0.hasPrefix("note:") }
        #expect(notes.count == 1)
        #expect(notes.first?.contains("synthetic") == true && notes.first?.contains("--model objects") == true)
        let second = try vj(["index", videos.path, "--library", library, "--model", "shapes"])
        #expect(second.status == 0)
        #expect(!second.stderr.contains("note:"))

        let real = try vj(["index", videos.path, "--library", dir.file("real").path, "--model", "things"])
        #expect(real.status == 0)
        #expect(!real.stderr.contains("note:"))
    }

    @Test func statusShowsTheModelsDomain() throws {
        #expect(try vj(["index", videos.path, "--library", library, "--model", "shapes"]).status == 0)
        let text = try vj(["status", "--library", library])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdoutLines.contains { $0.hasPrefix("domain") && $0.contains("synthetic") })
        let json = try vj(["status", "--library", library, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["domain"] as? String == "synthetic")
    }
}
