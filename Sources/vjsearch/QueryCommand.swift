import ArgumentParser
import Catalog
import Foundation
import Neural

/// `vjsearch query TEXT`: ranked moments.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Find the moments that match a text.",
        discussion: """
            The text is embedded with the model's text encoder; the nearest segments are grouped by video, \
            each candidate video's segments are rescored exactly, and neighbouring segments that score \
            close to a peak merge into one moment. Moments are ranked by their best segment's cosine score. \
            Prints `score  start–end  path` (times as h:mm:ss.s), or with --json one \
            {"path", "start", "end", "score"} object per line (seconds). Works while `index` is writing.

            """ + ExitStatus.discussion)

    @Argument(help: "The text to search for.")
    var text: [String]

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions

    @Option(help: "Moments to print at most, 1-10000.")
    var top = 10

    @Option(help: "Drop moments scoring below this cosine similarity, -1 to 1.")
    var minScore: Float?

    @Option(name: .customLong("in"), help: ArgumentHelp("Only videos whose path matches this glob (fnmatch).", valueName: "glob"))
    var pathGlob: String?

    @Flag(help: "One JSON object per moment and line.")
    var json = false

    @Flag(help: "Exact (brute-force) search instead of the HNSW graph.")
    var exact = false

    var query: String { text.joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines) }

    func validate() throws {
        if query.isEmpty { throw ValidationError("the query is empty; say what to look for, e.g. vjsearch query \"a dog runs\"") }
        try OptionCheck.count(top, "--top", in: 1...10_000)
        if let minScore, !(-1...1).contains(minScore) { throw ValidationError("--min-score must be between -1 and 1") }
    }

    func run() async throws {
        let libraryPath = library.path
        let q = MomentQuery(top: top, minScore: minScore, pathGlob: pathGlob, exact: exact)
        let text = query
        let moments: [Moment]
        // One query is a dozen tokens: BLAS threads would only spin beside the main one.
        Neural.setThreads(1)
        do {
            let requested = model.requested
            moments = try await onThread {
                var stages = StageTimer()
                let library = try Library(path: libraryPath, model: nil, create: false, checkPages: false)
                stages.mark("open library")
                let modelDirectory = try ModelOptions.resolve(requested, libraryModelID: library.meta.modelID)
                let embedder = try Embedder(directory: modelDirectory, textOnly: true)
                stages.mark("load model")
                guard embedder.modelID == library.meta.modelID else {
                    throw CatalogError.modelMismatch(library: libraryPath, stored: library.meta.modelID, requested: embedder.modelID)
                }
                let vector = try embedder.embedQuery(text)
                stages.mark("embed text")
                let moments = try library.moments(for: vector, q)
                stages.mark("search")
                stages.report()
                return moments
            }
        } catch {
            throw reportFailure(error)
        }
        if moments.isEmpty && !json {
            Diagnostics.write("no moments found" + (pathGlob.map { " in videos matching '\($0)'" } ?? ""))
        }
        for m in moments {
            if json {
                print(JSONLines.encode(m))
            } else {
                print(String(format: "%.4f  %@–%@  %@", m.score, timestamp(m.start), timestamp(m.end), m.path.escapingControlCharacters))
            }
        }
    }
}

/// Wall time per stage, printed to stderr when `VJSEARCH_TIMING` is set (for `Tools/bench/query`).
struct StageTimer {
    let enabled = ProcessInfo.processInfo.environment["VJSEARCH_TIMING"] != nil
    var last = ContinuousClock.now
    var stages: [(String, Duration)] = []

    mutating func mark(_ name: String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        stages.append((name, now - last))
        last = now
    }

    func report() {
        guard enabled else { return }
        Diagnostics.write("timing: " + stages.map { String(format: "%@ %.1f ms", $0.0, Double($0.1.components.attoseconds) * 1e-15 + Double($0.1.components.seconds) * 1e3) }.joined(separator: ", "))
    }
}
