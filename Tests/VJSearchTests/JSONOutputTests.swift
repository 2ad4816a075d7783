import Foundation
import Testing
import TestSupport

/// Every command with `--json` (or `--format json`), run for real on a synthetic reel with the default model: each
/// line is one JSON object with `"schema": 1`, and every key, at any depth, is snake_case.
@Suite struct JSONOutputTests {
    @Test func everyJSONCommandSpeaksOneStyle() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-json")
        let library = dir.file("library").path
        let reel = QualityTests.synth.appendingPathComponent("samples_000000.mp4").path
        let env: [String: String?] = ["XDG_CACHE_HOME": dir.path]
        let commands: [[String]] = [
            ["index", reel, "--library", library, "--json"],
            ["status", "--library", library, "--json"],
            ["query", "a red star falls", "--library", library, "--json", "--top", "2"],
            ["query", "a red star falls", "--library", library, "--format", "json", "--top", "2"],
            ["chapters", reel, "--library", library, "--count", "3", "--json"],
            ["classify", reel, "--labels", "a red star falls,a blue ring moves to the left", "--library", library, "--json"],
            ["classify", reel, "--labels", "a red star falls,a blue ring", "--library", library, "--moments", "--json"],
            ["ask", reel, "what colour is the star?", "--choices", "red|blue", "--from", "19", "--to", "23", "--json"],
            ["probe", reel, "--json"],
            ["segments", reel, "--json"],
            ["model", "list", "--json"],
            ["model", "inspect", "vljepa-mini", "--json"],
        ]
        for command in commands {
            let r = try CommandLineTests.run(command, environment: env, timeout: 300)
            #expect(r.status == 0, "\(command): \(r.stderr)")
            #expect(!r.stdoutLines.isEmpty, "\(command) printed nothing")
            for line in r.stdoutLines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                                          "\(command): not an object: \(line)")
                #expect(object["schema"] as? Int == 1, "\(command): \(line)")
                let bad = Self.keys(object).filter { !Self.isSnakeCase($0) }
                #expect(bad.isEmpty, "\(command): keys not snake_case: \(bad)")
            }
        }
    }

    /// Every key of `value`'s objects, at any depth (`model inspect`'s per-part parameter counts are keyed by part
    /// names, which are snake_case too).
    static func keys(_ value: Any) -> [String] {
        if let object = value as? [String: Any] { return object.keys + object.values.flatMap(keys) }
        if let array = value as? [Any] { return array.flatMap(keys) }
        return []
    }

    static func isSnakeCase(_ key: String) -> Bool {
        !key.isEmpty && key.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
