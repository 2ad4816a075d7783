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
            Prints `score  start–end  path` (times as h:mm:ss.s); --format tsv prints rank, score, start, end \
            (seconds) and path separated by tabs; --format json one {"schema", "rank", "path", "video_id", \
            "start", "end", "score", "partial", "model"} object per line. Works while `index` is writing. \
            --like FILE@SECONDS takes an indexed moment as the query instead of a text ("more like this": its \
            stored segment vector; the moment itself is left out, and --other-videos leaves out its video).

            Examples:
              vjsearch query "a dog catches a frisbee"
              vjsearch query "a red star falls" --in 'Samples/*' --top 3
              vjsearch query "person opens fridge" --format tsv | cut -f3-5
              vjsearch query --like talk.mp4@754 --other-videos
              vjsearch query "a dog on a beach" --not "a ball"

            """ + ExitStatus.pointer)

    @Argument(help: "The text to search for.")
    var text: [String] = []

    @Option(help: ArgumentHelp("An indexed video's moment as the query, instead of a text.", valueName: "file@seconds"),
            completion: .file())
    var like: String?

    @Flag(help: "With --like: leave out the moments of the same video.")
    var otherVideos = false

    @Option(name: .customLong("not"), help: ArgumentHelp(
        "What the moments should not show: segments close to this text score lower.", valueName: "text"))
    var negative: String?

    @Option(help: ArgumentHelp("How --not counts: subtract or demote (for Tools/eval/negation).", visibility: .hidden))
    var notMethod: MomentQuery.Negative.Method = MomentQuery.Negative.defaultMethod

    @Option(help: ArgumentHelp("The weight of --not, 0-4 (for Tools/eval/negation).", visibility: .hidden))
    var notWeight: Float = MomentQuery.Negative.defaultWeight

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions

    @Option(help: "Moments to print at most, 1-10000.")
    var top = 10

    @Option(help: "Drop moments scoring below this cosine similarity, -1 to 1.")
    var minScore: Float?

    @Option(name: .customLong("in"), help: ArgumentHelp(
        "Only videos whose path matches this glob (fnmatch; stored paths are absolute, so a relative glob is taken from the current folder).",
        valueName: "glob"))
    var pathGlob: String?

    @Option(help: ArgumentHelp(
        "plain (`score  start–end  path`, times as h:mm:ss.s), tsv (rank, score, start and end in seconds, path; tab-separated, for cut and awk) or json (one object per moment and line).",
        valueName: "format"))
    var format: OutputFormat = .plain

    @Flag(help: "The same as --format json.")
    var json = false

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case plain, tsv, json }

    @Flag(help: "Exact (brute-force) search instead of the HNSW graph.")
    var exact = false

    var query: String { text.joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines) }

    /// `--in` as matched: a relative glob made absolute from the current folder (a glob starting with `*` is left
    /// as it is, since it already matches absolute paths).
    var absoluteGlob: String? {
        guard let pathGlob, !pathGlob.hasPrefix("/"), !pathGlob.hasPrefix("*") else { return pathGlob }
        return FileManager.default.currentDirectoryPath + "/" + (pathGlob.hasPrefix("./") ? String(pathGlob.dropFirst(2)) : pathGlob)
    }

    func validate() throws {
        if json && format != .plain && format != .json { throw ValidationError("--json and --format \(format.rawValue) contradict each other; pass one") }
        if let negative, negative.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--not is empty; say what the moments should not show, e.g. --not \"a car\"")
        }
        if !(0...4).contains(notWeight) { throw ValidationError("--not-weight must be between 0 and 4") }
        if let like {
            _ = try FileMoment(like, name: "--like")
            if !query.isEmpty { throw ValidationError("give a text or --like, not both") }
        } else {
            if otherVideos { throw ValidationError("--other-videos goes with --like") }
            if negative != nil && query.isEmpty { throw ValidationError("--not goes with a text query") }
            if query.isEmpty { throw ValidationError("the query is empty; say what to look for, e.g. vjsearch query \"a dog runs\"") }
        }
        try OptionCheck.count(top, "--top", in: 1...10_000)
        if let minScore, !(-1...1).contains(minScore) { throw ValidationError("--min-score must be between -1 and 1") }
    }

    func run() async throws {
        let libraryPath: String
        do { libraryPath = try await library.readablePath() } catch { throw reportFailure(error) }
        let glob = absoluteGlob
        let q = MomentQuery(top: top, minScore: minScore, pathGlob: glob, exact: exact)
        let text = query
        let like = try like.map { try FileMoment($0, name: "--like") }
        let likePath = like.map { LibraryOptions.absolute($0.file) }
        let otherVideos = otherVideos
        let negative = self.negative, notMethod = self.notMethod, notWeight = self.notWeight
        let format = json ? .json : format
        let moments: [Moment]
        var modelID = ""
        var globMatches: Int?
        // One query is a dozen tokens: BLAS threads would only spin beside the main one.
        Neural.setThreads(1)
        do {
            let requested = model.requested
            (moments, modelID, globMatches) = try await onThread {
                var stages = StageTimer()
                let library = try Library(path: libraryPath, model: nil, create: false, checkPages: false)
                stages.mark("open library")
                let moments: [Moment]
                if let like, let likePath {
                    // The query is a stored vector: no model to load.
                    guard let video = try library.videos().first(where: { $0.path == likePath && $0.isSearchable }) else {
                        throw QueryError.notIndexed(likePath)
                    }
                    var q = q
                    if otherVideos { q.excludedVideos = [video.id] }
                    guard let found = try library.moments(like: video.id, at: like.seconds, q) else {
                        throw QueryError.outsideVideo(likePath, seconds: like.seconds, duration: video.duration)
                    }
                    moments = found
                } else {
                    let modelDirectory = try ModelOptions.resolve(requested, libraryModelID: library.meta.modelID)
                    let embedder = try Embedder(directory: modelDirectory, textOnly: true)
                    stages.mark("load model")
                    guard embedder.modelID == library.meta.modelID else {
                        throw CatalogError.modelMismatch(library: libraryPath, stored: library.meta.modelID, requested: embedder.modelID)
                    }
                    let vector = try embedder.embedQuery(text)
                    var q = q
                    if let negative {
                        q.negative = .init(vector: try embedder.embedQuery(negative), method: notMethod, weight: notWeight)
                    }
                    stages.mark("embed text")
                    moments = try library.moments(for: vector, q)
                }
                stages.mark("search")
                stages.report()
                // Why nothing was found, when a glob was given: it may match no indexed video at all.
                let matches = moments.isEmpty ? try glob.map { try library.videoCount(matching: $0) } : nil
                return (moments, library.meta.modelID, matches)
            }
        } catch let error as QueryError {
            Diagnostics.error(error.description)
            throw error.isUsage ? ExitCode(64) : ExitStatus.someFailed
        } catch {
            throw reportFailure(error)
        }
        if moments.isEmpty && format != .json {
            if let glob, globMatches == 0 {
                Diagnostics.write("no moments found: no indexed video matches '\(glob)' (stored paths are absolute)")
            } else {
                Diagnostics.write("no moments found" + (glob.map { " in videos matching '\($0)'" } ?? ""))
            }
        }
        for (rank, m) in moments.enumerated() {
            switch format {
            case .json:
                print(JSONLines.encode(MergedJSON(m, RankAndModel(rank: rank + 1, model: modelID))))
            case .tsv:
                print(String(format: "%d\t%.4f\t%.3f\t%.3f\t%@", rank + 1, m.score, m.start, m.end,
                             m.path.escapingControlCharacters))
            case .plain:
                print(String(format: "%.4f  %@–%@  %@", m.score, timestamp(m.start), timestamp(m.end), m.path.escapingControlCharacters)
                      + (m.partial ? "  (partly indexed)" : ""))
            }
        }
    }

    /// Why a --like query cannot run.
    enum QueryError: Error, CustomStringConvertible {
        case notIndexed(String)
        case outsideVideo(String, seconds: Double, duration: Double)

        var description: String {
            switch self {
            case .notIndexed(let path): "\(path): not in the library; index it first (vjsearch index \(path))"
            case .outsideVideo(let path, let s, let d):
                "\(path): no indexed moment at \(String(format: "%.3f", s)) s (the video lasts \(String(format: "%.3f", d)) s)"
            }
        }

        var isUsage: Bool { if case .outsideVideo = self { true } else { false } }
    }

    /// What a `--format json` line adds to the moment: its rank (from 1) and the model that scored it.
    struct RankAndModel: Encodable {
        var rank: Int
        var model: String
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

extension MomentQuery.Negative.Method: ExpressibleByArgument {}
