import ArgumentParser
import Catalog
import Foundation
import Media
import Neural

extension ModelCommand {
    /// `vjsearch model embed-video`: every clip window's vector, as the index would store it (for evaluation and
    /// interop: `Tools/eval` ranks with these).
    struct EmbedVideo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "embed-video",
            abstract: "Print the vector of each clip window of a video as JSON lines.",
            discussion: """
                Each line is {"start": s, "end": s, "vector": [...]}: the clip window in seconds and its \
                L2-normalised vector (X-encoder, then the predictor with the bundle's retrieval prompt).
                --dump-input writes the first --dump-limit clips' model input as little-endian float32, \
                [clips, frames, 3, size, size], so another implementation can be checked on identical input.
                """,
            shouldDisplay: false)

        @Argument(help: "The bundle folder.") var directory: String
        @Argument(help: "The video file.") var video: String
        @Option(help: "Worker threads for decoding and the model, 1-256 (default: all cores).") var threads: Int?
        @Option(help: "Clips per model call, 1-4096.") var batch = 16
        @Option(help: "Write the model input of the first clips to this file.") var dumpInput: String?
        @Option(help: "How many clips --dump-input writes, 0-100000.") var dumpLimit = 8

        func validate() throws {
            try OptionCheck.count(threads, "--threads", in: ThreadOptions.range)
            try OptionCheck.count(batch, "--batch", in: IndexCommand.batchRange)
            try OptionCheck.count(dumpLimit, "--dump-limit", in: 0...100_000)
        }

        func run() async throws {
            do {
                let threads = ThreadOptions.apply(self.threads)
                let embedder = try Embedder(directory: URL(fileURLWithPath: directory))
                let spec = embedder.clipSpec()
                let stream = try ClipStream(file: try MediaFile(path: video), spec: spec, options: .init(threads: threads))
                let shape = [spec.frames, 3, spec.size, spec.size]
                var buffer = [Float](repeating: 0, count: stream.floatsPerClip)
                var pending: [(Clip, Tensor)] = []
                var dump = dumpInput.map { _ in [Float]() }
                let workspace = Workspace()
                func flush() throws {
                    guard !pending.isEmpty else { return }
                    let vectors = try embedder.embedClips(pending.map(\.1), workspace: workspace)
                    let dim = embedder.dimension
                    for (i, (clip, _)) in pending.enumerated() {
                        let row = vectors[(i * dim)..<((i + 1) * dim)]
                        print("{\"start\":\(clip.start),\"end\":\(clip.end),\"vector\":[\(row.map { "\($0)" }.joined(separator: ","))]}")
                    }
                    pending.removeAll(keepingCapacity: true)
                }
                var clips = 0
                while let clip = try buffer.withUnsafeMutableBufferPointer({ try stream.next(into: $0) }) {
                    if clips < dumpLimit { dump?.append(contentsOf: buffer) }
                    clips += 1
                    pending.append((clip, Tensor(shape: shape, scalars: buffer)))
                    if pending.count == batch { try flush() }
                }
                try flush()
                if let dumpInput, let dump {
                    try dump.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dumpInput)) }
                }
            } catch let error as ExitCode {
                throw error
            } catch {
                throw ModelCommand.fail(error)
            }
        }
    }

    /// `vjsearch model embed-texts`: query vectors for many texts in one process.
    struct EmbedTexts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "embed-texts",
            abstract: "Print the query vector of each line of a file (or stdin) as JSON lines.",
            discussion: "Each line is {\"text\": ..., \"vector\": [...]}, in input order.",
            shouldDisplay: false)

        @Argument(help: "The bundle folder.") var directory: String
        @Option(help: "A file with one text per line; standard input when omitted.") var file: String?
        @Option(help: "Worker threads for the model, 1-256 (default: all cores).") var threads: Int?

        func validate() throws {
            try OptionCheck.count(threads, "--threads", in: ThreadOptions.range)
        }

        func run() async throws {
            do {
                _ = ThreadOptions.apply(threads)
                let embedder = try Embedder(directory: URL(fileURLWithPath: directory), textOnly: true)
                let data = try file.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
                    ?? FileHandle.standardInput.readDataToEndOfFile()
                let texts = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                let workspace = Workspace()
                for start in stride(from: 0, to: texts.count, by: 64) {
                    let chunk = Array(texts[start..<min(start + 64, texts.count)])
                    let vectors = try embedder.embedQueries(chunk, workspace: workspace)
                    let dim = embedder.dimension
                    for (i, text) in chunk.enumerated() {
                        let row = vectors[(i * dim)..<((i + 1) * dim)]
                        let quoted = String(decoding: try JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
                        print("{\"text\":\(quoted),\"vector\":[\(row.map { "\($0)" }.joined(separator: ","))]}")
                    }
                }
            } catch let error as ExitCode {
                throw error
            } catch {
                throw ModelCommand.fail(error)
            }
        }
    }
}
