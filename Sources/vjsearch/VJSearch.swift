import ArgumentParser
import Catalog
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
            IndexCommand.self, WatchCommand.self, QueryCommand.self, ChaptersCommand.self, ClassifyCommand.self, AskCommand.self,
            ServeCommand.self, StatusCommand.self, LibraryCommand.self, RemoveCommand.self, VerifyCommand.self, RepairCommand.self, ReindexCommand.self, Probe.self,
            Segments.self, ThumbnailCommand.self, ModelCommand.self, DecodeBench.self, DebugCommand.self,
        ])

    static func main() async {
        restartWithFasterBLASIfNeeded()
        let undecodable = undecodableArguments()
        guard !undecodable.isEmpty else { return await main(nil) }
        // Swift decodes arguments as UTF-8, repairing what is not: such a name would reach the file system changed
        // and be "not found". Each is reported by its bytes, and the command runs on the others, then fails.
        for name in undecodable.values.sorted() {
            Diagnostics.error("\(name): the name is not valid UTF-8; rename it (vjsearch reads UTF-8 names only)")
        }
        let rest = CommandLine.arguments.indices.dropFirst().filter { undecodable[$0] == nil }.map { CommandLine.arguments[$0] }
        do {
            var command = try parseAsRoot(rest)
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode where code != .success {
            exit(withError: code)
        } catch is ExitCode {
        } catch {
            // With the bad names gone, a usage error is theirs (nothing left to act on): no second message.
            if (try? parseAsRoot(rest)) != nil { exit(withError: error) }
        }
        exit(withError: ExitStatus.someFailed)
    }

    /// The arguments whose bytes are not UTF-8, by index, each shown with its undecodable bytes as `\xHH`.
    static func undecodableArguments() -> [Int: String] {
        var out: [Int: String] = [:]
        for i in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i] else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
            guard String(validating: bytes, as: UTF8.self) == nil else { continue }
            var shown = ""
            var rest = bytes[...]
            while !rest.isEmpty {
                // The longest valid prefix, then one byte escaped.
                var end = rest.endIndex
                while end > rest.startIndex, String(validating: rest[rest.startIndex..<end], as: UTF8.self) == nil { end -= 1 }
                shown += String(decoding: rest[rest.startIndex..<end], as: UTF8.self).escapingControlCharacters
                if end < rest.endIndex {
                    shown += String.hexEscape(UInt32(rest[end]))
                    end += 1
                }
                rest = rest[end...]
            }
            out[i] = shown
        }
        return out
    }

    /// On a CPU that OpenBLAS does not recognise, it runs its generic kernels, and every encoder runs at a third of its
    /// speed. The kernel set can be chosen only before OpenBLAS loads, so the process sets `OPENBLAS_CORETYPE` and
    /// executes itself again, with the same arguments, environment, pid and open files. Only the commands that
    /// embed video do this: a second start costs about 20 ms, more than a query's few small products gain. A
    /// variable the user set is left alone; when `exec` fails, vjsearch goes on with the generic kernels.
    static func restartWithFasterBLASIfNeeded() {
        let embedsVideo: Set = ["index", "watch", "reindex", "model", "ask"]
        guard CommandLine.arguments.count > 1, embedsVideo.contains(CommandLine.arguments[1]),
              getenv("OPENBLAS_CORETYPE") == nil, let core = Neural.betterBLASCore else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")  // exec failed: nothing changed
    }
}
