import ArgumentParser

/// The `vjsearch` command line.
@main
struct VJSearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vjsearch",
        abstract: "Local text-to-video moment search built on VL-JEPA.",
        discussion: ExitStatus.discussion,
        version: "0.1.0",
        subcommands: [
            IndexCommand.self, WatchCommand.self, QueryCommand.self, StatusCommand.self, RemoveCommand.self, VerifyCommand.self,
            ReindexCommand.self, Probe.self, Segments.self, ModelCommand.self, DecodeBench.self, DebugCommand.self,
        ])
}
