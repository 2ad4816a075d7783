import Foundation
import Testing
import TestSupport
@testable import Catalog

/// `LabelSet`'s cache file: read back only when it holds exactly the texts, model and dimension asked for.
@Suite struct LabelSetTests {
    let texts = ["a red ball", "a blue ring", "ünïcode"]
    let vectors: [Float] = [1, 0, 0, 0.6, 0.8, 0, 0, 0, 1]

    @Test func theCacheReadsBackWhatWasWritten() throws {
        let dir = try TemporaryDirectory()
        let file = LabelSet.cacheFile(in: dir.url, texts: texts, modelID: "vj1-x")
        try LabelSet(texts: texts, vectors: vectors, dimension: 3).write(file, modelID: "vj1-x")
        let read = try #require(LabelSet.read(file, texts: texts, modelID: "vj1-x", dimension: 3))
        #expect(read.texts == texts && read.vectors == vectors)
    }

    @Test func anythingElseIsAMiss() throws {
        let dir = try TemporaryDirectory()
        let file = LabelSet.cacheFile(in: dir.url, texts: texts, modelID: "vj1-x")
        #expect(LabelSet.read(file, texts: texts, modelID: "vj1-x", dimension: 3) == nil)  // absent
        try LabelSet(texts: texts, vectors: vectors, dimension: 3).write(file, modelID: "vj1-x")
        #expect(LabelSet.read(file, texts: texts, modelID: "vj1-y", dimension: 3) == nil)
        #expect(LabelSet.read(file, texts: Array(texts.reversed()), modelID: "vj1-x", dimension: 3) == nil)
        #expect(LabelSet.read(file, texts: texts, modelID: "vj1-x", dimension: 4) == nil)
        #expect(LabelSet.cacheFile(in: dir.url, texts: texts, modelID: "vj1-y") != file)
        #expect(LabelSet.cacheFile(in: dir.url, texts: ["a red ball"], modelID: "vj1-x") != file)
        // Truncated, and a vector that is not unit length (damage).
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 1).write(to: file)
        #expect(LabelSet.read(file, texts: texts, modelID: "vj1-x", dimension: 3) == nil)
        var damaged = bytes
        damaged[damaged.count - 2] ^= 0x40
        try damaged.write(to: file)
        #expect(LabelSet.read(file, texts: texts, modelID: "vj1-x", dimension: 3) == nil)
        try Data("VJLABEL1".utf8).write(to: file)
        #expect(LabelSet.read(file, texts: texts, modelID: "vj1-x", dimension: 3) == nil)
    }

    @Test func aModelIDCannotLeaveTheCacheFolder() throws {
        let dir = try TemporaryDirectory()
        let file = LabelSet.cacheFile(in: dir.url, texts: texts, modelID: "../../etc/x")
        #expect(file.deletingLastPathComponent().path == dir.url.path)
    }

    @Test func rowsAtOnceGiveWhatOneAtATimeGives() {
        var rng = SplitMix64(seed: 11)
        func unit(_ d: Int) -> [Float] {
            let v = (0..<d).map { _ in Float.random(in: -1...1, using: &rng) }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
        let d = 37, texts = (0..<150).map { "t\($0)" }
        let set = LabelSet(texts: texts, vectors: texts.flatMap { _ in unit(d) }, dimension: d)
        let queries = (0..<130).map { _ in unit(d) }
        let rows = set.nearest(toRows: queries.flatMap { $0 })
        #expect(rows.count == queries.count)
        for (q, r) in zip(queries, rows) {
            let one = set.nearest(to: q)!
            #expect(one.text == r.text && abs(one.score - r.score) < 1e-5)
        }
        #expect(LabelSet(texts: ["only"], vectors: unit(d), dimension: d).nearest(toRows: queries[0]).map(\.text) == ["only"])
    }

    /// The `top` texts per row are the first `top` of all texts sorted by score (stable: ties keep their order).
    @Test(arguments: [1, 3, 7, 150, 1000])
    func rankedIsTheTopOfTheSortedScores(top: Int) {
        var rng = SplitMix64(seed: 5)
        let d = 8, texts = (0..<150).map { "t\($0)" }
        // Coarse values, so that many scores tie.
        let vectors = texts.flatMap { _ in (0..<d).map { _ in Float(Int.random(in: -2...2, using: &rng)) } }
        let set = LabelSet(texts: texts, vectors: vectors, dimension: d)
        let queries = (0..<70).flatMap { _ in (0..<d).map { _ in Float(Int.random(in: -1...1, using: &rng)) } }
        let ranked = set.ranked(toRows: queries, top: top)
        #expect(ranked.count == 70)
        for (r, row) in ranked.enumerated() {
            let q = Array(queries[r * d ..< (r + 1) * d])
            let scores = texts.indices.map { t in zip(q, vectors[t * d ..< (t + 1) * d]).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            let sorted = texts.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            #expect(row == sorted.prefix(min(top, texts.count)).map { ScoredText(text: texts[$0], score: scores[$0]) }, "row \(r)")
        }
        #expect(LabelSet(texts: [], vectors: [], dimension: d).ranked(toRows: queries, top: top).allSatisfy { $0.isEmpty })
    }

    /// A video's labels rank against all its clips pooled; its moments' against each chapter's.
    @Test func aStreamRanksLabelsForTheVideoAndEachMoment() {
        // Five clips along x, then three along y; the labels x, y and their diagonal.
        let v: [Float] = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1]
        let stream = EmbeddingStream(segments: (0..<8).map { Segment(start: Double($0), end: Double($0) + 2) }, vectors: v, dimension: 2)
        let h = Float(0.5).squareRoot()
        let labels = LabelSet(texts: ["x", "y", "xy"], vectors: [1, 0, 0, 1, h, h], dimension: 2)
        let video = stream.ranked(labels, top: 2)
        #expect(video.map(\.text) == ["xy", "x"])
        let pooled = [Float(5), 3].map { $0 / Float(34).squareRoot() }
        #expect(abs(video[0].score - (pooled[0] + pooled[1]) * h) < 1e-6 && abs(video[1].score - pooled[0]) < 1e-6)
        let moments = stream.moments(labels, top: 1)
        #expect(moments.map(\.chapter.clips) == [0..<5, 5..<8])
        #expect(moments.map { $0.labels.map(\.text) } == [["x"], ["y"]])
        #expect(moments.map(\.chapter.start) == [0, 5.5])
        #expect(stream.ranked(labels, top: 10).count == 3)
    }
}
