import ArgumentParser
import Catalog
import Foundation
import JEPA

/// `vjsearch classify FILE… --labels a,b,c`: label texts ranked against each video, and against each of its moments.
struct ClassifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Rank label texts against whole videos, or against each of their moments.",
        discussion: """
            VL-JEPA's open-vocabulary classification (arXiv 2512.10942 §4.3): each label is embedded by the \
            Y-encoder (embeddings cached under ~/.cache/vjsearch/labels, as for chapters), and ranked by cosine \
            to the video's embedding, the average of its clip vectors (the predictor's outputs for the retrieval \
            prompt, as `index` stores them). A file indexed in the library is classified from its stored \
            vectors in milliseconds; any other is decoded and embedded now.

            With --moments, each moment is ranked too: the moments are the chapters `vjsearch chapters --auto` \
            cuts (Ward's method over the clip vectors, in time order).

            Prints per file a header, then `  score  label` lines, best first, and with --moments each moment's \
            `  start–end` (h:mm:ss.s) and its `    score  label` lines; with --json one object per file and line: \
            {"path", "start", "end", "clips", "labels": [{"label", "score"}], "moments": [{"start", "end", \
            "labels"}]} (seconds; moments null without --moments).

            Examples:
              vjsearch classify Samples/synth/samples_000000.mp4 --top 3 --labels \\
                "four white balls move to the right,a white star moves up,\\
                a red star moves down,a yellow square moves up"
            prints (vljepa-mini, the reel indexed):
              Samples/synth/samples_000000.mp4  0:00:00.0–0:00:23.3  23 clips
                 0.613  four white balls move to the right
                 0.355  a red star moves down
                 0.267  a white star moves up

              vjsearch classify Samples/synth/samples_000000.mp4 --moments --top 1 \\
                --labels-file captions.txt    # the reel's six events and two others
            prints:
              Samples/synth/samples_000000.mp4  0:00:00.0–0:00:23.3  23 clips
                 0.613  four white balls move to the right
                0:00:00.0–0:00:06.2
                   0.865  four white balls move to the right
                0:00:06.2–0:00:09.8
                   0.935  a white star moves up
                … and four more moments, each labelled with its event

              vjsearch classify ~/videos/*.mp4 --labels "a dog,a cat,a car" --json \\
                --model objects --library ~/videos/.vjsearch

            """ + ExitStatus.pointer)

    @Argument(help: "The video files.", completion: .file())
    var files: [String]

    @OptionGroup var labels: LabelOptions

    @Flag(help: "Also rank the labels against each moment (the chapters of `vjsearch chapters --auto`).")
    var moments = false

    @Option(help: "Labels to print per video and moment, 1-100000 (all of them when there are fewer).")
    var top = 5

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions

    @Flag(help: "One JSON object per file and line.")
    var json = false

    static let topRange = 1...100_000
    static let example = #"vjsearch classify reel.mp4 --labels "a red ball bounces,a blue star rotates""#

    func validate() throws {
        try OptionCheck.count(top, "--top", in: Self.topRange)
        if !labels.given {
            throw ValidationError("give the texts to rank with --labels or --labels-file, e.g. \(Self.example)")
        }
    }

    func run() async throws {
        guard let texts = try labels.texts() else { return }
        let libraryPath: String
        do { libraryPath = try await library.readablePath() } catch { throw reportFailure(error) }
        let request = Request(library: libraryPath, model: model.requested, labels: texts, top: top, moments: moments)
        let (files, json) = (files, json)
        let failure: ExitCode? = try await onThread {
            let streams: VideoStreams
            do {
                streams = try VideoStreams(library: request.library, model: request.model)
            } catch {
                return reportFailure(error)
            }
            var failure: ExitCode?
            var warned = Set<URL>()
            for file in files {
                do {
                    let (result, model) = try request.classify(LibraryOptions.absolute(file), streams: streams)
                    if warned.insert(model).inserted { warnUnlessTrained(model, for: .classification, doing: "for classification") }
                    print(json ? JSONLines.encode(result) : result.table(file: file))
                } catch {
                    failure = reportFailure(error)
                }
            }
            return failure
        }
        if let failure { throw failure }
    }

    /// What one run does, off the cooperative pool.
    struct Request: Sendable {
        var library: String
        /// `--model` or `$VJSEARCH_MODEL`.
        var model: String?
        var labels: [String]
        var top: Int
        var moments: Bool

        /// The answer for the video file at `path` (absolute), and the bundle of the model that gave it.
        func classify(_ path: String, streams: VideoStreams) throws -> (Classified, model: URL) {
            var stages = StageTimer()
            let (stream, directory) = try streams.stream(path: path, needsModel: true, stages: &stages)
            guard let directory, let labelSet = try streams.labels(labels, model: directory, stages: &stages) else {
                preconditionFailure("a stream that needs its model comes with it, and the labels are not empty")
            }
            let video = stream.ranked(labelSet, top: top)
            stages.mark("rank")
            let moments = moments ? stream.moments(labelSet, top: top) : nil
            if moments != nil { stages.mark("moments") }
            stages.report()
            return (Classified(path: path, start: stream.segments[0].start, end: stream.segments[stream.segments.count - 1].end,
                              clips: stream.segments.count, labels: video, moments: moments), directory)
        }
    }

    /// One file's answer.
    struct Classified: Encodable {
        var path: String
        var start: Double, end: Double
        var clips: Int
        var labels: [ScoredText]
        var moments: [LabelledMoment]?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(path, forKey: .path)
            try c.encode(start, forKey: .start)
            try c.encode(end, forKey: .end)
            try c.encode(clips, forKey: .clips)
            try c.encode(labels.map(Label.init), forKey: .labels)
            try c.encode(moments?.map(Moment.init), forKey: .moments)  // null, not absent, without --moments
        }

        enum Key: String, CodingKey { case path, start, end, clips, labels, moments }

        struct Label: Encodable {
            var label: String, score: Float
            init(_ s: ScoredText) { (label, score) = (s.text, s.score) }
        }

        struct Moment: Encodable {
            var start: Double, end: Double, labels: [Label]
            init(_ m: LabelledMoment) { (start, end, labels) = (m.chapter.start, m.chapter.end, m.labels.map(Label.init)) }
        }

        /// The header, the video's labels, then each moment and its labels.
        func table(file: String) -> String {
            func rows(_ labels: [ScoredText], indent: String) -> [String] {
                labels.map { indent + String(format: "%6.3f  ", $0.score) + $0.text.escapingControlCharacters }
            }
            var lines = ["\(file.escapingControlCharacters)  \(timestamp(start))–\(timestamp(end))  \(clips) clips"]
            lines += rows(labels, indent: "  ")
            for m in moments ?? [] {
                lines.append("  \(timestamp(m.chapter.start))–\(timestamp(m.chapter.end))")
                lines += rows(m.labels, indent: "    ")
            }
            return lines.joined(separator: "\n")
        }
    }
}
