import ArgumentParser
import Foundation
import HubMirror

/// `vjsearch-hub-mirror ROOT --port PORT`: serves a folder of repositories with the hub's URL scheme (see
/// HubMirror), for trying `vjsearch model install … --hub http://127.0.0.1:PORT` without the internet.
@main
struct MirrorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vjsearch-hub-mirror",
        abstract: "Serve a folder of hub repositories (ROOT/OWNER/NAME/FILE) on 127.0.0.1 with the hub's URL scheme.",
        discussion: """
            Example:
              vjsearch-hub-mirror Tests/ConvertTests/Fixtures/hub --port 8765
              vjsearch model install open-vljepa --hub http://127.0.0.1:8765
            """)

    @Argument(help: "The folder of repositories.") var root: String
    @Option(help: "The port (0: any free one, printed).") var port = 8765
    @Option(help: "Gate a repository (OWNER/NAME): it then wants --token.") var gate: [String] = []
    @Option(help: "The token gated repositories accept.") var token = "hf_mirror"

    func run() async throws {
        let mirror = try HubMirror(root: URL(fileURLWithPath: root), gated: Dictionary(uniqueKeysWithValues: gate.map { ($0, token) }))
        try await mirror.run(port: port) { port in
            FileHandle.standardOutput.write(Data("serving \(mirror.repositoryNames.joined(separator: ", ")) on http://127.0.0.1:\(port)\n".utf8))
        }
    }
}
