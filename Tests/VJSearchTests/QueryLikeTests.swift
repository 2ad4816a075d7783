import Foundation
import Testing
import TestSupport

/// `vjsearch query --like FILE@SECONDS`: an indexed moment as the query, over a library of the three synthetic reels.
@Suite struct QueryLikeTests {
    let dir: TemporaryDirectory
    let library: String

    init() throws {
        dir = try TemporaryDirectory(prefix: "vjsearch-like")
        library = dir.file("library").path
        let r = try CommandLineTests.run(["index"] + (0...2).map(ServeCommandTests.reel) + ["--library", library, "--progress", "none"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    func moments(_ arguments: [String]) throws -> [[String: Any]] {
        let r = try CommandLineTests.run(["query"] + arguments + ["--library", library, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stdoutLines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// Reel 1's three red balls move down over 6.5–10.9 s (samples.jsonl). Its own moment at 8 s is left out; with
    /// --other-videos the best match elsewhere is reel 0's red star moving down (19.3–23.4 s): same colour, same motion.
    @Test func aMomentFindsItsLikesButNotItself() throws {
        let reel1 = ServeCommandTests.reel(1)
        let all = try moments(["--like", reel1 + "@8", "--top", "5"])
        #expect(all.count == 5)
        for m in all where m["path"] as? String == reel1 {
            let start = try #require(m["start"] as? Double), end = try #require(m["end"] as? Double)
            #expect(!(start <= 8 && 8 <= end), "the moment itself: \(start)–\(end)")
        }
        let scores = all.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >) && scores.allSatisfy { $0 < 1 && $0.isFinite })
        let others = try moments(["--like", reel1 + "@8", "--other-videos", "--top", "3"])
        #expect(!others.isEmpty && others.allSatisfy { $0["path"] as? String != reel1 })
        let best = try #require(others.first)
        #expect(best["path"] as? String == ServeCommandTests.reel(0), "\(best)")
        let start = try #require(best["start"] as? Double), end = try #require(best["end"] as? Double)
        #expect(start < 23.4 && end > 19.3, "\(start)–\(end)")
    }

    @Test(arguments: [
        (["--like", "x.mp4"], Int32(64), "--like: no @ in 'x.mp4'"),
        (["--like", "x.mp4@-3"], 64, "is not a time in seconds"),
        (["--like", "x.mp4@3", "a text"], 64, "give a text or --like, not both"),
        (["--other-videos", "a text"], 64, "--other-videos goes with --like"),
        (["--like", "/nowhere/x.mp4@3"], 1, "/nowhere/x.mp4: not in the library; index it first"),
    ])
    func misuse(arguments: [String], status: Int32, message: String) throws {
        let r = try CommandLineTests.run(["query"] + arguments + ["--library", library])
        #expect(r.status == status && r.stderr.contains(message), "\(arguments): \(r.status) \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    /// --not: reel 0's red star (moving down, 19.3–23.4 s) is what "a red object" finds first; with --not "a red star"
    /// it scores lower and other red things lead.
    @Test func notDemotesWhatItNames() throws {
        let plain = try moments(["a red object", "--top", "5"])
        let star = { (list: [[String: Any]]) in
            list.firstIndex { $0["path"] as? String == ServeCommandTests.reel(0) && ($0["end"] as? Double ?? 0) > 20 }
        }
        let before = try #require(star(plain))
        let negated = try moments(["a red object", "--top", "5", "--not", "a red star"])
        let after = star(negated)
        #expect(before == 0 && after != 0, "\(plain) → \(negated)")
        if let after {
            #expect((negated[after]["score"] as! Double) < (plain[before]["score"] as! Double))
        }
        for bad in [["a red object", "--not", " "], ["--not", "a star"], ["a red object", "--not", "x", "--not-weight", "9"]] {
            let r = try CommandLineTests.run(["query"] + bad + ["--library", library])
            #expect(r.status == 64 && r.stderr.contains("--not"), "\(bad): \(r.stderr)")
        }
    }

    @Test func aTimeOutsideTheVideoIsAUsageError() throws {
        let r = try CommandLineTests.run(["query", "--like", ServeCommandTests.reel(1) + "@999", "--library", library])
        #expect(r.status == 64 && r.stderrLines.count == 1 && r.stderr.contains("no indexed moment at 999.000 s (the video lasts 26.292 s)"),
                "\(r.stderr)")
    }
}
