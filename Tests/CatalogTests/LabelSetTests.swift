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
}
