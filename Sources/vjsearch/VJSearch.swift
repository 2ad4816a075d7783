import ArgumentParser
import Foundation
import Neural

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
            RepairCommand.self, ReindexCommand.self, Probe.self, Segments.self, ModelCommand.self, DecodeBench.self, DebugCommand.self,
        ])

    static func main() async {
        restartWithFasterBLASIfNeeded()
        await main(nil)
    }

    /// On a CPU that OpenBLAS does not recognise, it runs its generic kernels, and every encoder runs at a third of its
    /// speed. The kernel set can be chosen only before OpenBLAS loads, so the process sets `OPENBLAS_CORETYPE` and
    /// executes itself again, with the same arguments, environment, pid and open files. Only the commands that
    /// embed video do this: a second start costs about 20 ms, more than a query's few small products gain. A
    /// variable the user set is left alone; when `exec` fails, vjsearch goes on with the generic kernels.
    static func restartWithFasterBLASIfNeeded() {
        let embedsVideo: Set = ["index", "watch", "reindex", "model"]
        guard CommandLine.arguments.count > 1, embedsVideo.contains(CommandLine.arguments[1]),
              getenv("OPENBLAS_CORETYPE") == nil, let core = Neural.betterBLASCore else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")  // exec failed: nothing changed
    }
}
