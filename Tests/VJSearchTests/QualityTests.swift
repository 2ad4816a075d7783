import Foundation
import Testing
import TestSupport

/// Moment retrieval with the trained default model on held-out synthetic reels: each event's caption, queried
/// against a library of all reels, should find that reel with a moment overlapping the event at IoU ≥ 0.5.
///
/// Runs only when both exist: `Models/vljepa-mini` (the trained bundle) and `Samples/synth/*.jsonl` (the reels'
/// manifests written by `Tools/synth/generate.py`, next to their videos). Otherwise it is skipped, not failed.
@Suite struct QualityTests {
    static let model = CommandLineTests.root.appendingPathComponent("Models/vljepa-mini")
    static let synth = CommandLineTests.root.appendingPathComponent("Samples/synth")

    static var manifests: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: synth, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "jsonl" }
    }

    static var available: Bool {
        FileManager.default.fileExists(atPath: model.appendingPathComponent("config.json").path) && !manifests.isEmpty
    }

    struct Event { var video: String; var start: Double; var end: Double; var caption: String }

    static func events() throws -> [Event] {
        var out: [Event] = []
        for manifest in manifests {
            for line in try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n") {
                guard let reel = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let video = reel["video"] as? String, let events = reel["events"] as? [[String: Any]] else { continue }
                for e in events {
                    guard let start = e["start"] as? Double, let end = e["end"] as? Double,
                          let caption = (e["captions"] as? [String])?.first else { continue }
                    out.append(Event(video: synth.appendingPathComponent(video).path, start: start, end: end, caption: caption))
                }
            }
        }
        return out
    }

    @Test(.enabled(if: available, "needs the trained Models/vljepa-mini and Samples/synth reels"))
    func topMomentFindsTheEvent() throws {
        let dir = try TemporaryDirectory()
        let library = dir.file("library").path
        let indexed = try CommandLineTests.run(["index", Self.synth.path, "--library", library, "--model", Self.model.path],
                                               timeout: 1800)
        #expect(indexed.status == 0, "\(indexed.stderr)")
        let events = try Self.events()
        try #require(!events.isEmpty)
        var hits = 0
        for e in events {
            let r = try CommandLineTests.run(["query", e.caption, "--top", "1", "--json", "--library", library,
                                              "--model", Self.model.path])
            guard let line = r.stdoutLines.first,
                  let m = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let path = m["path"] as? String, let start = m["start"] as? Double, let end = m["end"] as? Double
            else { continue }
            let overlap = max(0, min(end, e.end) - max(start, e.start))
            let union = max(end, e.end) - min(start, e.start)
            if path == e.video && union > 0 && overlap / union >= 0.5 { hits += 1 }
        }
        let recall = Double(hits) / Double(events.count)
        // R@1 at IoU ≥ 0.5 over all events; the bar is the owner's to set once the trained model's eval is known.
        #expect(recall >= 0.5, "R@1 (IoU ≥ 0.5) = \(recall) over \(events.count) events")
    }
}
