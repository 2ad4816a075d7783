import Foundation
import Testing
import TestSupport

/// `vjsearch ask`, end to end on the built binary: answers about the synthetic reels' events with the trained
/// default model (against their manifests), the stretch of clips decoded, the output's shape, models that cannot take
/// a question, and bad input.
@Suite struct AskCommandTests {
    typealias Result = CommandLineTests.Result

    struct Choice: Decodable { var choice: String; var score: Float }
    struct Answer: Decodable {
        var path: String
        var question: String
        var start: Double
        var end: Double
        var clips: Int
        var clips_per_second: Double
        var choices: [Choice]
    }

    static func ask(_ arguments: [String], timeout: Double = 120) throws -> Result {
        try CommandLineTests.run(["ask"] + arguments, timeout: timeout)
    }

    static func answer(_ r: Result) throws -> Answer {
        try JSONDecoder().decode(Answer.self, from: Data(try #require(r.stdoutLines.first).utf8))
    }

    /// The reels' manifest questions about colour, shape and count (`Tools/synth/qa.py`, templates held out of
    /// training), each asked of its event's span with its type's closed answer set as the choices, as
    /// `Tools/eval/tasks.py` asks them. Right when the manifest's answer ranks first.
    ///
    /// Measured with vljepa-mini vj1-d2e3c948… (trained for retrieval only, never with questions): 27 of 42 right
    /// (0.64), below the bar: 15 of 18 colours (the misses are the three interactions, answered with the other
    /// object's colour), 9 of 18 shapes, 3 of 6 counts. A model trained for VQA should pass it.
    @Test(.enabled(if: QualityTests.available, "needs the trained Models/vljepa-mini and Samples/synth reels"))
    func questionsAboutTheSyntheticReelsEvents() throws {
        let model = QualityTests.model.path
        var asked: [(question: String, expected: String, got: String)] = []
        for reel in try SynthReels.reels() {
            for event in reel.events {
                for qa in event.qa ?? [] {
                    guard let choices = SynthReels.answers[qa.type] else { continue }
                    let r = try Self.ask([reel.path, qa.question, "--from", "\(event.start)", "--to", "\(event.end)",
                                          "--choices", choices.joined(separator: "|"), "--model", model, "--json"], timeout: 300)
                    #expect(r.status == 0, "\(r.stderr)")
                    let answer = try Self.answer(r)
                    #expect(answer.start <= event.start && event.end <= answer.end + 1 && answer.clips >= 2)
                    asked.append(("\(reel.video) \(event.key): \(qa.question)", qa.answer, answer.choices.first?.choice ?? "-"))
                }
            }
        }
        try #require(asked.count >= 30, "the manifests hold \(asked.count) colour, shape and count questions")
        let wrong = asked.filter { $0.expected != $0.got }
        #expect(Double(asked.count - wrong.count) >= 0.7 * Double(asked.count),
                "\(asked.count - wrong.count) of \(asked.count) right; wrong: \(wrong.map { "\($0.question) \($0.got), not \($0.expected)" })")
    }

    /// The tiny test model (1 s windows every 0.5 s) on a 6 s test pattern.
    struct Tiny {
        let workspace: LibraryWorkspace
        let video: String
        let choices = ["--choices", "red|ball|the video"]

        init(tasks: [String]? = nil) throws {
            workspace = try LibraryWorkspace(prefix: "vjsearch-ask", modelFolder: "model", modelID: "tiny-ask")
            if let tasks { _ = try LibraryFixtures.bundle(in: URL(fileURLWithPath: workspace.model), id: "tiny-ask", tasks: tasks) }
            video = workspace.videos.appendingPathComponent("pattern.mp4").path
            try LibraryFixtures.video(video, seconds: 6, seed: 1)
        }

        func ask(_ extra: [String], question: String = "the red ball?") throws -> Result {
            try AskCommandTests.ask([video, question] + choices + ["--model", workspace.model] + extra)
        }
    }

    /// Which windows answer: those containing --at, those centred inside --from/--to, else all.
    @Test(arguments: [
        (["--at", "2.2"], 1.5, 3.0, 2),  // [1.5, 2.5) and [2, 3)
        (["--at", "0"], 0, 1, 1),
        (["--from", "1.2", "--to", "2.6"], 1, 3, 3),  // centres 1.5, 2 and 2.5; not 1 or 3
        (["--from", "4.6"], 4.5, 6, 2),  // centres 5 and 5.5
        (["--to", "0.7"], 0, 1, 1),  // centre 0.5
        (["--from", "1.6", "--to", "1.9"], 1, 2, 1),  // no centre inside: the window overlapping it most (tie: the first)
        (["--at", "5.95"], 5, 6, 1),
        ([], 0, 6, 11),
    ])
    func theClipsOfTheStretch(extra: [String], start: Double, end: Double, clips: Int) throws {
        let tiny = try Tiny()
        let r = try tiny.ask(extra + ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try Self.answer(r)
        #expect(a.start == start && abs(a.end - end) < 0.05 && a.clips == clips, "\(extra): \(a.start)–\(a.end), \(a.clips) clips")
        #expect(a.path == tiny.video && a.question == "the red ball?" && a.clips_per_second > 0)
        #expect(Set(a.choices.map(\.choice)) == ["red", "ball", "the video"])
        #expect(zip(a.choices, a.choices.dropFirst()).allSatisfy { $0.score >= $1.score } && a.choices.allSatisfy { abs($0.score) <= 1.0001 })
    }

    @Test func theTableAndTheNote() throws {
        let tiny = try Tiny()
        let r = try tiny.ask(["--from", "1", "--to", "2"])
        #expect(r.status == 0)
        let row = #/^  [ -]\d\.\d{3}  (red|ball|the video)$/#
        #expect(r.stdoutLines.count == 3 && r.stdoutLines.allSatisfy { (try? row.wholeMatch(in: $0)) != nil }, "\(r.stdout)")
        let note = #/^note: 3 clips over 0:00:00\.5–0:00:02\.5, \d+\.\d clips/s$/#
        #expect(r.stderrLines.count == 1 && (try? note.wholeMatch(in: String(r.stderrLines[0]))) != nil, "\(r.stderr)")
    }

    /// A stretch outside the video names the option and the video's length; bad numbers never crash.
    @Test(arguments: [
        (["--at", "6"], "error: --at 6 s is past the end of %@, which lasts 6 s"),
        (["--at", "1e300"], "error: --at 1e+300 s is past the end of %@, which lasts 6 s"),
        (["--from", "7.5"], "error: --from 7.5 s is past the end of %@, which lasts 6 s"),
        (["--from", "6", "--to", "9"], "error: --from 6 s is past the end of %@, which lasts 6 s"),
    ])
    func aStretchPastTheEnd(extra: [String], message: String) throws {
        let tiny = try Tiny()
        let r = try tiny.ask(extra)
        #expect(r.status == 64)
        #expect(r.stderr == message.replacingOccurrences(of: "%@", with: tiny.video) + "\n")
        #expect(r.stdout.isEmpty)
    }

    @Test(arguments: [
        (["what?", "--choices", "a|b", "--at", "1", "--from", "0"], "--at and --from/--to exclude each other"),
        (["what?", "--choices", "a|b", "--at", "2", "--to", "3"], "--at and --from/--to exclude each other"),
        (["what?", "--choices", "a|b", "--at=-1"], "--at must be a number of seconds from the start of the video (0 or more)"),
        (["what?", "--choices", "a|b", "--from=-0.5"], "--from must be a number of seconds from the start of the video (0 or more)"),
        (["what?", "--choices", "a|b", "--at", "nan"], "--at must be a number of seconds"),
        (["what?", "--choices", "a|b", "--to", "inf"], "--to must be a number of seconds"),
        (["what?", "--choices", "a|b", "--from", "1e999"], "--from must be a number of seconds"),
        (["what?", "--choices", "a|b", "--from", "3", "--to", "2"], "--to 2 must be after --from 3"),
        (["what?", "--choices", "a|b", "--to", "0"], "--to 0 must be after --from 0"),
        (["", "--choices", "a|b"], "the question is empty; ask one, e.g. vjsearch ask reel.mp4 \"what colour is the ball?\" --choices"),
        (["  ", "--choices", "a|b"], "the question is empty; ask one, e.g. vjsearch ask"),
        (["what?", "--choices", "red"], "--choices needs at least two different answers separated by |, e.g. vjsearch ask reel.mp4"),
        (["what?", "--choices", "red| |"], "--choices needs at least two different answers"),
        (["what?", "--choices", "red|red"], "--choices needs at least two different answers"),
        (["what?"], "Missing expected argument '--choices <a|b|c>'"),
        (["what?", "--choices", "a|b", "--at", "x"], "The value 'x' is invalid for '--at <seconds>'"),
    ])
    func badOptionsAreUsageErrors(arguments: [String], message: String) throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-ask")
        let r = try Self.ask([dir.file("any.mp4").path] + arguments, timeout: 20)
        #expect(r.status == 64, "\(arguments): status \(r.status), \(r.stderr)")
        #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    /// The objects model has no predictor: its clip vectors cannot depend on a question.
    @Test func aModelWithoutAPredictorIsRefused() throws {
        let tiny = try Tiny()
        let objects = CommandLineTests.root.appendingPathComponent("Models/objects").path
        let r = try Self.ask([tiny.video, "what colour is the ball?", "--choices", "red|blue", "--model", objects])
        #expect(r.status == 64)
        #expect(r.stderr == "error: \(objects): model 'objects' has no predictor (its clip vectors do not depend on a text), so it cannot answer questions; use a VL-JEPA model such as vljepa-mini\n")
        #expect(r.stdout.isEmpty)
    }

    @Test func aModelNotTrainedForQuestionsIsNamedInAWarning() throws {
        let tiny = try Tiny(tasks: ["retrieval", "classification"])
        let r = try tiny.ask(["--at", "1", "--json"])
        #expect(r.status == 0)
        #expect(r.stderrLines == ["warning: \(tiny.workspace.model): model 'vljepa-tiny-bert' was not trained to answer questions (its config.json declares tasks: retrieval, classification); expect poor results"],
                "\(r.stderr)")
        let declared = try Tiny(tasks: ["vqa"])
        #expect(try declared.ask(["--at", "1", "--json"]).stderr.isEmpty)
    }

    /// Neither a video nor there: one line naming the file, status 1, before any model loads.
    @Test func aFileThatIsNoVideoIsOneLineNamingIt() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-ask")
        let text = dir.file("notes.mp4")
        try Data("not a video\n".utf8).write(to: text)
        let common = ["what?", "--choices", "a|b", "--model", dir.file("no-model").path]
        var r = try Self.ask([text.path] + common, timeout: 20)
        #expect(r.status == 1)
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: \(text.path): "), "\(r.stderr)")
        r = try Self.ask([dir.file("missing.mp4").path] + common, timeout: 20)
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(dir.file("missing.mp4").path): no such file\n")
    }

    @Test func helpTeachesByExample() throws {
        let r = try CommandLineTests.run(["ask", "--help"], timeout: 20)
        #expect(r.status == 0)
        for part in ["--choices", "--at", "--from", "--to", "Examples:", "vjsearch ask", "what colour is the ball?", "0.545  purple", "predictor"] {
            #expect(r.stdout.contains(part), "\(part)")
        }
    }
}
