import ArgumentParser
import Catalog
import Foundation
import JEPA
import Media
import Neural

/// `vjsearch chapters FILE`: a video cut into chapters of like clips, each labelled with its nearest text.
struct ChaptersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chapters",
        abstract: "Cut a video into chapters of like clips, and label them.",
        discussion: """
            The video's clip vectors (read from the library when the file is indexed there, otherwise \
            decoded and embedded now) are clustered in time order by Ward's method, merging only \
            neighbouring stretches, the selective-decoding segmentation of VL-JEPA (arXiv 2512.10942 §4.6). \
            Each chapter is labelled with the text nearest (cosine) to the average of its clip vectors: \
            one of --labels or --labels-file, else of the model's vocabulary.txt when its bundle has one, \
            else none.

            With --auto (the default) the number of chapters is the knee of the merge costs: with k \
            chapters, W(k) is the squared distance of the clip vectors to their chapter means; k is the \
            point of the curve W(k)/W(1) against (k-1)/(clips-1) farthest below the straight line from \
            k = 1 to k = clips, where more chapters stop explaining much.

            Prints `  start–end  label  (score s)` per chapter (times as h:mm:ss.s), or with --json one \
            {"start", "end", "label", "score"} object per line (seconds; label and score null without \
            labels). A chapter ends where the next begins, midway between the centres of the clip windows \
            on either side.

            Examples:
              vjsearch chapters Samples/synth/samples_000000.mp4
              vjsearch chapters talk.mp4 --count 12 --json
              vjsearch chapters reel.mp4 --labels "a red star falls,a blue ring grows"
              vjsearch chapters reel.mp4 --labels-file captions.txt --library ~/lib

            """ + ExitStatus.pointer)

    @Argument(help: "The video file.", completion: .file())
    var file: String

    @Option(help: "Cut exactly this many chapters (at most one per clip), 1-100000.")
    var count: Int?

    @Flag(help: "Choose the number of chapters from the merge costs (the default).")
    var auto = false

    @OptionGroup var labels: LabelOptions
    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions

    @Flag(help: "One JSON object per chapter and line.")
    var json = false

    static let countRange = 1...100_000

    func validate() throws {
        try OptionCheck.count(count, "--count", in: Self.countRange)
        if count != nil && auto {
            throw ValidationError("--count and --auto exclude each other; give one, e.g. --count 8")
        }
    }

    private struct Line: Encodable {
        var start: Double, end: Double, label: String?, score: Float?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(start, forKey: .start)
            try c.encode(end, forKey: .end)
            try c.encode(label, forKey: .label)  // null, not absent, without labels
            try c.encode(score, forKey: .score)
        }

        enum CodingKeys: String, CodingKey { case start, end, label, score }
    }

    func run() async throws {
        let texts = try labels.texts()
        let path = LibraryOptions.absolute(file)
        let libraryPath: String
        do { libraryPath = try await library.readablePath() } catch { throw reportFailure(error) }
        let request = Request(path: path, library: libraryPath, model: model.requested, count: count, labels: texts)
        let chapters: [Chapter]
        do {
            chapters = try await onThread { try request.chapters() }
        } catch {
            throw reportFailure(error)
        }
        for c in chapters {
            if json {
                print(JSONLines.encode(Line(start: c.start, end: c.end, label: c.label, score: c.score)))
            } else {
                var line = "  \(timestamp(c.start))–\(timestamp(c.end))"
                if let label = c.label, let score = c.score {
                    line += "  \(label.escapingControlCharacters)  " + String(format: "(score %.2f)", score)
                }
                print(line)
            }
        }
    }

    /// What one run does, off the cooperative pool.
    struct Request: Sendable {
        var path: String
        var library: String
        /// `--model` or `$VJSEARCH_MODEL`.
        var model: String?
        var count: Int?
        /// `--labels` or `--labels-file`; nil for the bundle's vocabulary.
        var labels: [String]?

        func chapters() throws -> [Chapter] {
            var stages = StageTimer()
            let streams = try VideoStreams(library: library, model: model)
            let (stream, directory) = try streams.stream(path: path, needsModel: labels != nil, stages: &stages)
            let labelSet = try directory.flatMap { try streams.labels(labels, model: $0, stages: &stages) }
            let runs = stream.runs(count: count)
            stages.mark("cluster")
            let chapters = stream.chapters(runs, labels: labelSet)
            stages.mark("label")
            stages.report()
            return chapters
        }
    }
}
