import Foundation
import Testing
import TestSupport

/// `vjsearch chapters`, end to end on the built binary: real answers on a synthetic reel with the trained default
/// model (boundaries and labels against the reel's manifest), the same chapters from stored and decoded vectors,
/// the bundle's vocabulary as the default labels, and bad input.
@Suite struct ChaptersCommandTests {
    typealias Result = CommandLineTests.Result

    struct Line: Decodable, Equatable {
        var start: Double
        var end: Double
        var label: String?
        var score: Float?
    }

    /// Runs `vjsearch chapters …` with label embeddings cached in `cache` (never the user's own cache).
    static func chapters(_ arguments: [String], cache: TemporaryDirectory, timing: Bool = false, timeout: Double = 120) throws -> Result {
        try CommandLineTests.run(["chapters"] + arguments,
                                 environment: ["XDG_CACHE_HOME": cache.path, "VJSEARCH_TIMING": timing ? "1" : nil],
                                 timeout: timeout)
    }

    static func lines(_ r: Result) throws -> [Line] {
        try r.stdoutLines.map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
    }

    /// Boundary F1: predicted and true boundaries matched one to one, greedily nearest first, when within
    /// `tolerance` seconds; precision over the predicted ones, recall over the true ones.
    static func boundaryF1(_ predicted: [Double], _ truth: [Double], tolerance: Double = 0.5) -> Double {
        var pairs: [(distance: Double, p: Int, t: Int)] = []
        for (i, p) in predicted.enumerated() {
            for (j, t) in truth.enumerated() where abs(p - t) <= tolerance { pairs.append((abs(p - t), i, j)) }
        }
        var usedP = Set<Int>(), usedT = Set<Int>()
        for pair in pairs.sorted(by: { $0.distance < $1.distance }) where !usedP.contains(pair.p) && !usedT.contains(pair.t) {
            usedP.insert(pair.p)
            usedT.insert(pair.t)
        }
        guard !predicted.isEmpty, !truth.isEmpty, !usedP.isEmpty else { return 0 }
        let precision = Double(usedP.count) / Double(predicted.count), recall = Double(usedT.count) / Double(truth.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// samples_000000.mp4 (six events, 23.4 s) with `--count 6`: indexed (stored vectors) and not (decoded now),
    /// labelled among the first captions of all the reels' events (18 texts, of which 12 belong to other reels).
    ///
    /// Measured with vljepa-mini (vj1-ba0c36d3…, `vjsearch chapters --auto`): boundaries 6.2, 9.8, 12.4, 15.7 and
    /// 19.4 s against the manifest's 1.0, 5.75, 10.04, 12.75, 15.75, 19.33 s: each change between events within
    /// 0.5 s (boundaries are fitted below the 1 s stride, `EmbeddingStream.boundary`); the background second before
    /// the first event is no chapter of its own.
    @Test(.enabled(if: QualityTests.available, "needs the trained Models/vljepa-mini and Samples/synth reels"))
    func aSyntheticReelFromStoredAndDecodedVectors() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-chapters")
        let cache = try TemporaryDirectory(prefix: "vjsearch-chapters-cache")
        let reel = QualityTests.synth.appendingPathComponent("samples_000000.mp4").path
        let model = QualityTests.model.path
        let reels = try SynthReels.reels()
        let reel0 = try #require(reels.first { $0.video == "samples_000000.mp4" })
        let (duration, events) = (reel0.duration, reel0.events)
        let all = reels.flatMap(\.events)
        let labels = dir.file("labels.txt")
        try Data(all.map { $0.captions[0] + "\n" }.joined().utf8).write(to: labels)
        let keyOf = Dictionary(all.map { ($0.captions[0], $0.key) }, uniquingKeysWith: { a, _ in a })

        let library = dir.file("library").path
        let indexed = try CommandLineTests.run(["index", reel, "--library", library, "--model", model], timeout: 1200)
        #expect(indexed.status == 0, "\(indexed.stderr)")
        let arguments = [reel, "--count", "\(events.count)", "--labels-file", labels.path, "--model", model, "--json"]
        let stored = try Self.chapters(arguments + ["--library", library], cache: cache, timing: true)
        #expect(stored.status == 0, "\(stored.stderr)")
        #expect(stored.stderr.contains("timing: stored vectors") && !stored.stderr.contains("decode and embed"), "\(stored.stderr)")
        let decoded = try Self.chapters(arguments + ["--library", dir.file("no-library").path], cache: cache, timing: true, timeout: 1200)
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(decoded.stderr.contains("decode and embed"), "\(decoded.stderr)")

        let a = try Self.lines(stored), b = try Self.lines(decoded)
        try #require(a.count == events.count, "\(stored.stdout)")
        // Both paths: the same chapters, labels and (within rounding) scores.
        #expect(a.map(\.start) == b.map(\.start) && a.map(\.end) == b.map(\.end) && a.map(\.label) == b.map(\.label))
        for (x, y) in zip(a, b) { #expect(abs((x.score ?? 0) - (y.score ?? 9)) < 1e-3) }
        #expect(a.first?.start == 0 && abs((a.last?.end ?? 0) - duration) < 1.5)
        #expect(zip(a, a.dropFirst()).allSatisfy { $0.end == $1.start && $0.start < $0.end })

        // Boundaries: every event edge inside the video (the first event starts after a second of background).
        let truth = Set(events.flatMap { [$0.start, $0.end] }).filter { $0 > 0.01 && $0 < duration - 0.01 }.sorted()
        let f1 = Self.boundaryF1(a.dropFirst().map(\.start), truth)
        let uniform = Self.boundaryF1((1..<events.count).map { duration * Double($0) / Double(events.count) }, truth)
        let bar = 0.5
        #expect(f1 >= bar, "boundary F1 \(f1): \(a.dropFirst().map(\.start)) against \(truth)")
        #expect(uniform < bar, "the bar \(bar) does not tell these chapters from uniform ones (F1 \(uniform))")

        // Labels: each chapter's is the caption of the event it overlaps most.
        let right = a.filter { c in
            let event = events.max { min($0.end, c.end) - max($0.start, c.start) < min($1.end, c.end) - max($1.start, c.start) }
            return c.label.flatMap { keyOf[$0] } == event?.key
        }
        #expect(right.count * 2 > a.count, "\(right.count) of \(a.count) labels name their event: \(a.map { $0.label ?? "-" })")
    }

    /// The tiny test model on a test-pattern video: the same chapters from the library and from a fresh decode
    /// (also of a copy under another name, found by fingerprint), labelled from the bundle's vocabulary.txt.
    @Test func storedAndDecodedAgreeAndTheVocabularyLabels() throws {
        let workspace = try LibraryWorkspace(prefix: "vjsearch-chapters", modelFolder: "model", modelID: "tiny-chapters")
        let cache = try TemporaryDirectory(prefix: "vjsearch-chapters-cache")
        let vocabulary = ["the red ball", "a video", "describe"]
        try Data(vocabulary.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: workspace.model + "/vocabulary.txt"))
        let video = workspace.videos.appendingPathComponent("pattern.mp4").path
        try LibraryFixtures.video(video, seconds: 6, seed: 1)
        let indexed = try CommandLineTests.run(["index", video, "--library", workspace.library, "--model", workspace.model])
        #expect(indexed.status == 0, "\(indexed.stderr)")
        let common = ["--model", workspace.model, "--count", "3", "--json"]
        let stored = try Self.chapters([video, "--library", workspace.library] + common, cache: cache, timing: true)
        #expect(stored.status == 0 && !stored.stderr.contains("decode and embed"), "\(stored.stderr)")
        let decoded = try Self.chapters([video, "--library", workspace.dir.file("none").path] + common, cache: cache, timing: true)
        #expect(decoded.status == 0 && decoded.stderr.contains("decode and embed"), "\(decoded.stderr)")
        let copy = workspace.dir.file("copy.mp4").path
        try FileManager.default.copyItem(atPath: video, toPath: copy)
        let moved = try Self.chapters([copy, "--library", workspace.library] + common, cache: cache, timing: true)
        #expect(moved.status == 0 && !moved.stderr.contains("decode and embed"), "\(moved.stderr)")

        let a = try Self.lines(stored), b = try Self.lines(decoded)
        #expect(a.count == 3)
        #expect(a.map(\.start) == b.map(\.start) && a.map(\.label) == b.map(\.label))
        #expect(try Self.lines(moved) == a)
        #expect(a.allSatisfy { $0.label.map(vocabulary.contains) == true && ($0.score ?? 2) <= 1.0001 })
        // The vocabulary's embeddings were cached on the first run.
        let cached = try FileManager.default.contentsOfDirectory(atPath: cache.path + "/vjsearch/labels")
        #expect(cached.count == 1 && cached[0].hasSuffix(".labels"), "\(cached)")

        // The table: one line per chapter.
        let table = try Self.chapters([video, "--library", workspace.library, "--model", workspace.model, "--count", "2"], cache: cache)
        #expect(table.status == 0)
        #expect(table.stdoutLines.count == 2)
        let pattern = #/^  \d:\d\d:\d\d\.\d–\d:\d\d:\d\d\.\d  .+  \(score -?\d\.\d\d\)$/#
        #expect(table.stdoutLines.allSatisfy { (try? pattern.wholeMatch(in: $0)) != nil }, "\(table.stdout)")

        // Without a vocabulary and without labels: times only, label and score null in JSON.
        try FileManager.default.removeItem(atPath: workspace.model + "/vocabulary.txt")
        let bare = try Self.chapters([video, "--library", workspace.library] + common, cache: cache)
        #expect(try Self.lines(bare).allSatisfy { $0.label == nil && $0.score == nil })
        #expect(bare.stdoutLines.first?.contains(#""label":null"#) == true)
        // --auto chooses the count itself, at most one chapter per clip.
        let auto = try Self.chapters([video, "--library", workspace.library, "--model", workspace.model, "--auto", "--json"], cache: cache)
        let automatic = try Self.lines(auto)
        #expect(auto.status == 0 && (1...13).contains(automatic.count), "\(auto.stdout)")
    }

    @Test(arguments: [
        (["--count", "0"], "--count must be between 1 and 100000"),
        (["--count=-3"], "--count must be between 1 and 100000"),
        (["--count", "100001"], "--count must be between 1 and 100000"),
        (["--count", "4", "--auto"], "--count and --auto exclude each other"),
        (["--labels", ""], "--labels is empty; give texts separated by commas, e.g. --labels"),
        (["--labels", " , ,"], "--labels is empty; give texts separated by commas, e.g. --labels"),
        (["--labels", "a", "--labels-file", "x.txt"], "--labels and --labels-file exclude each other"),
    ])
    func badOptionsAreUsageErrors(extra: [String], message: String) throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-chapters")
        let r = try Self.chapters([dir.file("any.mp4").path, "--library", dir.file("library").path] + extra, cache: dir, timeout: 20)
        #expect(r.status == 64, "\(extra): status \(r.status), \(r.stderr)")
        #expect(r.stderr.contains(message), "\(extra): \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func anEmptyOrMissingLabelsFileIsAUsageError() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-chapters")
        let empty = dir.file("empty.txt")
        try Data("\n  \n".utf8).write(to: empty)
        var r = try Self.chapters([dir.file("any.mp4").path, "--labels-file", empty.path], cache: dir, timeout: 20)
        #expect(r.status == 64)
        #expect(r.stderr == "error: \(empty.path): holds no label texts; write one per line, e.g. \"a red star falls\"\n")
        r = try Self.chapters([dir.file("any.mp4").path, "--labels-file", dir.file("none.txt").path], cache: dir, timeout: 20)
        #expect(r.status == 64)
        #expect(r.stderr == "error: \(dir.file("none.txt").path): cannot be read\n")
        // A FIFO is refused, not waited on.
        let fifo = dir.file("fifo.txt")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        r = try Self.chapters([dir.file("any.mp4").path, "--labels-file", fifo.path], cache: dir, timeout: 20)
        #expect(r.status == 64)
        #expect(r.stderr == "error: \(fifo.path): is not a regular file\n")
    }

    /// A file that is neither indexed nor decodable: one line naming it and the cause, status 1, before any model
    /// loads (the model here does not exist).
    @Test func aFileThatIsNoVideoIsOneLineNamingIt() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-chapters")
        let text = dir.file("notes.mp4")
        try Data("not a video\n".utf8).write(to: text)
        let common = ["--library", dir.file("library").path, "--model", dir.file("no-model").path]
        var r = try Self.chapters([text.path] + common, cache: dir, timeout: 20)
        #expect(r.status == 1)
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: \(text.path): "), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        r = try Self.chapters([dir.file("missing.mp4").path] + common, cache: dir, timeout: 20)
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(dir.file("missing.mp4").path): no such file\n", "\(r.stderr)")
    }

    @Test func helpTeachesByExample() throws {
        let r = try CommandLineTests.run(["chapters", "--help"], timeout: 20)
        #expect(r.status == 0)
        for part in ["--count", "--auto", "--labels-file", "Examples:", "vjsearch chapters", "Ward", "farthest below"] {
            #expect(r.stdout.contains(part), "\(part)")
        }
    }
}
