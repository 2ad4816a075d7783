import ArgumentParser
import Catalog
import Foundation
import JEPA
import Media

/// `vjsearch ask FILE "question" --choices "a|b|c"`: VL-JEPA's discriminative visual question answering over a
/// stretch of a video.
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Answer a question about a stretch of a video by ranking candidate answers.",
        discussion: """
            VL-JEPA's discriminative VQA (arXiv 2512.10942 §4.4): the clip windows that overlap the stretch are \
            decoded and run through the X-encoder and the predictor with the question as the predictor's query \
            (in place of the retrieval prompt `index` uses); the predicted embeddings are averaged, and each \
            choice, embedded by the Y-encoder, is ranked by cosine to that average. Only those windows are \
            decoded: the decoder starts at a keyframe shortly before them.

            The stretch: --at T takes the windows containing T; --from S --to E the windows centred inside S–E \
            (either bound may be left out; the window overlapping it most when none is); neither, the whole video. Times are seconds from the start, before the end \
            of the video.

            Prints the choices best first, `  score  choice`, and on stderr the clips used, their span and the \
            speed; with --json one object: {"path", "question", "start", "end", "clips", "clips_per_second", \
            "choices": [{"choice", "score"}]} (start and end: the span of the clips used, seconds).

            Only a model with a predictor can take a question (vljepa-mini, not objects); any other is refused \
            with status 64. A bundle whose config.json declares its tasks without "vqa" gets a warning.

            Examples:
              vjsearch ask Samples/synth/samples_000000.mp4 "what colour is the ball?" \\
                --from 15.75 --to 19.3 \\
                --choices "red|green|blue|yellow|purple|orange|white"
            prints (vljepa-mini; the event is a purple ball shrinking):
                 0.545  purple
                 0.188  red
                 0.102  blue
                 0.027  white
                 …
            and on stderr `note: 4 clips over 0:00:15.0–0:00:20.0, 23.2 clips/s`.

              vjsearch ask Samples/synth/samples_000000.mp4 "how many balls are there?" \\
                --at 3 --choices "two|three|four"
            prints (four white balls move to the right from 1 s to 5.75 s):
                 0.263  four
                 0.195  three
                -0.052  two

              vjsearch ask reel.mp4 "which way does it move?" --at 12.5 --json \\
                --choices "up|down|left|right"

            """ + ExitStatus.pointer)

    @Argument(help: "The video file.", completion: .file())
    var file: String

    @Argument(help: "The question, e.g. \"what colour is the ball?\".")
    var question: String

    @Option(help: ArgumentHelp("The candidate answers, separated by |; at least two.", valueName: "a|b|c"))
    var choices: String

    @Option(help: ArgumentHelp("Answer about the clip windows containing this time (seconds).", valueName: "seconds"))
    var at: Double?

    @Option(help: ArgumentHelp("Answer about the stretch from this time (seconds; default the start).", valueName: "seconds"))
    var from: Double?

    @Option(help: ArgumentHelp("Answer about the stretch up to this time (seconds; default the end).", valueName: "seconds"))
    var to: Double?

    @OptionGroup var model: ModelOptions

    @Flag(help: "One JSON object.")
    var json = false

    static let example = #"vjsearch ask reel.mp4 "what colour is the ball?" --choices "red|green|blue""#

    /// `--choices` split at `|`, trimmed, blanks and repeats dropped.
    var choiceTexts: [String] {
        var seen = Set<String>()
        return choices.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    func validate() throws {
        if question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("the question is empty; ask one, e.g. \(Self.example)")
        }
        if choiceTexts.count < 2 {
            throw ValidationError("--choices needs at least two different answers separated by |, e.g. \(Self.example)")
        }
        if at != nil && (from != nil || to != nil) {
            throw ValidationError("--at and --from/--to exclude each other; give a time or a stretch, e.g. --at 12 or --from 10 --to 14")
        }
        for (option, value) in [("--at", at), ("--from", from), ("--to", to)] {
            guard let value, !(value.isFinite && value >= 0) else { continue }
            throw ValidationError("\(option) must be a number of seconds from the start of the video (0 or more), e.g. \(option) 12")
        }
        if let to, to <= from ?? 0 {
            throw ValidationError("--to \(OptionCheck.number(to)) must be after --from \(OptionCheck.number(from ?? 0)), e.g. --from 10 --to 14")
        }
    }

    func run() async throws {
        let request = Request(path: LibraryOptions.absolute(file), question: question, choices: choiceTexts,
                              at: at, from: from, to: to, model: model.requested)
        let answer: Answer
        do {
            answer = try await onThread { try request.answer() }
        } catch {
            throw reportFailure(error)
        }
        if json {
            print(JSONLines.encode(answer))
        } else {
            for c in answer.ranked { print(String(format: "%8.3f  ", c.score) + c.text.escapingControlCharacters) }
            Diagnostics.write("note: \(answer.clips) clips over \(timestamp(answer.start))–\(timestamp(answer.end)), "
                              + String(format: "%.1f clips/s", answer.clipsPerSecond))
        }
    }

    /// What one run does, off the cooperative pool.
    struct Request: Sendable {
        var path: String
        var question: String
        var choices: [String]
        var at: Double?, from: Double?, to: Double?
        /// `--model` or `$VJSEARCH_MODEL`.
        var model: String?

        func answer() throws -> Answer {
            var stages = StageTimer()
            let media = try MediaFile(path: path)  // a file that is no video fails before the model loads
            let span = try self.span(duration: media.info.duration)
            let directory = try ModelOptions.resolve(model, libraryModelID: nil)
            warnUnlessTrained(directory, for: .vqa, doing: "to answer questions")
            _ = ThreadOptions.apply(nil)
            let embedder = try Embedder(directory: directory)
            let prompt = try embedder.promptTokens(question)
            if embedder.tokenizer.encode(question).count > prompt.count {
                Diagnostics.warning("the question is cut to the model's \(prompt.count) prompt tokens")
            }
            stages.mark("load model")
            let started = ContinuousClock.now
            let stream = try embedder.stream(file: media, span: span, prompt: prompt, progress: EmbeddingProgress.start())
            EmbeddingProgress.clear()
            let elapsed = ContinuousClock.now - started
            stages.mark("decode and embed")
            let answers = try LabelSet.embedding(choices, modelID: embedder.modelID, dimension: embedder.dimension, cache: nil) { embedder }
            let used = Self.pooledClips(stream.segments, span: span)
            let ranked = answers.ranked(toRows: stream.pooled(used), top: choices.count)[0]
            stages.mark("rank")
            stages.report()
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            return Answer(path: path, question: question, start: stream.segments[used.lowerBound].start,
                          end: stream.segments[used.upperBound - 1].end, clips: used.count,
                          clipsPerSecond: Double(stream.segments.count) / max(seconds, 1e-9), ranked: ranked)
        }

        /// The clips whose predictions are averaged, among the decoded `segments` (those overlapping `span`): for a
        /// stretch, the windows centred inside it, so that a window that mostly shows what comes before or after
        /// does not dilute the answer (the one overlapping it most when no centre falls inside); for a time (`--at`)
        /// or the whole video, all of them.
        static func pooledClips(_ segments: [Segment], span: ClosedRange<Double>?) -> Range<Int> {
            guard let span, span.lowerBound < span.upperBound else { return segments.indices }
            let inside = segments.indices.filter { span.contains(segments[$0].centre) }
            if let first = inside.first, let last = inside.last { return first..<(last + 1) }
            let overlap = { (i: Int) in min(segments[i].end, span.upperBound) - max(segments[i].start, span.lowerBound) }
            let best = segments.indices.reduce(0) { overlap($1) > overlap($0) ? $1 : $0 }  // ties: the first
            return best..<(best + 1)
        }

        /// The stretch asked for (nil: the whole video), checked against the container's `duration` when it has one.
        func span(duration: Double?) throws -> ClosedRange<Double>? {
            let start = at ?? from ?? 0
            if let duration, start >= duration {
                let option = at != nil ? "--at" : "--from"
                throw UsageError("\(option) \(OptionCheck.number(start)) s is past the end of \(path), which lasts \(OptionCheck.number(duration)) s")
            }
            if let at { return at...at }
            return from == nil && to == nil ? nil : start...(to ?? .infinity)
        }
    }

    struct Answer: Encodable {
        var path: String
        var question: String
        var start: Double, end: Double
        var clips: Int
        var clipsPerSecond: Double
        var ranked: [ScoredText]

        enum CodingKeys: String, CodingKey {
            case path, question, start, end, clips, choices
            case clipsPerSecond = "clips_per_second"
        }

        struct Choice: Encodable { var choice: String, score: Float }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(question, forKey: .question)
            try c.encode(start, forKey: .start)
            try c.encode(end, forKey: .end)
            try c.encode(clips, forKey: .clips)
            try c.encode(clipsPerSecond, forKey: .clipsPerSecond)
            try c.encode(ranked.map { Choice(choice: $0.text, score: $0.score) }, forKey: .choices)
        }
    }
}
