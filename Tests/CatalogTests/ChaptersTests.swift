import Foundation
import Testing
import TestSupport
@testable import Catalog

/// Ward clustering with temporal connectivity (`WardChain`) and the chapters cut from it, on hand-made streams.
@Suite struct ChaptersTests {
    /// A stream of `blocks` (lengths), each block one random direction plus `noise` per clip, flat `n × d`.
    static func blocks(_ lengths: [Int], d: Int = 16, noise: Float = 0, seed: UInt64 = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Float {
            let u = Float.random(in: Float.ulpOfOne..<1, using: &rng), v = Float.random(in: 0..<1, using: &rng)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        var out: [Float] = []
        for length in lengths {
            let centre = (0..<d).map { _ in gaussian() }
            for _ in 0..<length { out += centre.map { $0 + noise * gaussian() } }
        }
        return out
    }

    /// The within-cluster sum of squares of `runs` over the unit vectors of `vectors`.
    static func withinSquares(_ vectors: [Float], d: Int, _ runs: [Range<Int>]) -> Double {
        let unit = (0..<(vectors.count / d)).map { i -> [Double] in
            let v = vectors[i * d ..< (i + 1) * d].map(Double.init)
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
        return runs.reduce(0.0) { total, run in
            var mean = [Double](repeating: 0, count: d)
            for i in run { for j in 0..<d { mean[j] += unit[i][j] / Double(run.count) } }
            return total + run.reduce(0.0) { s, i in s + (0..<d).reduce(0.0) { $0 + pow(unit[i][$1] - mean[$1], 2) } }
        }
    }

    /// The merges by the definition, without a heap: at each step, recompute every neighbouring pair's cost.
    static func naiveMerges(_ vectors: [Float], d: Int) -> [WardChain.Merge] {
        var runs = (0..<(vectors.count / d)).map { $0..<($0 + 1) }
        var out: [WardChain.Merge] = []
        while runs.count > 1 {
            var best = (index: 0, cost: Double.infinity)
            for k in 0..<(runs.count - 1) {
                let cost = withinSquares(vectors, d: d, [runs[k].lowerBound..<runs[k + 1].upperBound])
                    - withinSquares(vectors, d: d, [runs[k], runs[k + 1]])
                if cost < best.cost - 1e-12 { best = (k, cost) }
            }
            out.append(WardChain.Merge(boundary: runs[best.index + 1].lowerBound, cost: best.cost))
            runs[best.index] = runs[best.index].lowerBound..<runs[best.index + 1].upperBound
            runs.remove(at: best.index + 1)
        }
        return out
    }

    @Test func threeConstantBlocksSplitExactlyAtTheirBoundaries() {
        let v = Self.blocks([4, 3, 5])
        let chain = WardChain(vectors: v, dimension: 16)
        #expect(chain.partition(clusters: 3) == [0..<4, 4..<7, 7..<12])
        // Within a block every merge is free; the two across blocks are the last.
        #expect(chain.merges.prefix(9).allSatisfy { $0.cost < 1e-12 })
        #expect(chain.merges.suffix(2).allSatisfy { $0.cost > 0.1 })
        #expect(Set(chain.merges.suffix(2).map(\.boundary)) == [4, 7])
        #expect(chain.automaticCount() == 3)
    }

    @Test(arguments: [1, 2, 3, 5, 9])
    func mergesMatchTheDefinitionOnNoisyStreams(seed: UInt64) {
        let v = Self.blocks([3, 6, 2, 5, 4], d: 6, noise: 0.6, seed: seed)
        let chain = WardChain(vectors: v, dimension: 6)
        let naive = Self.naiveMerges(v, d: 6)
        #expect(chain.merges.map(\.boundary) == naive.map(\.boundary))
        for (a, b) in zip(chain.merges, naive) { #expect(abs(a.cost - b.cost) < 1e-9) }
    }

    @Test func eachCostIsTheGrowthOfTheWithinClusterSumOfSquares() {
        let v = Self.blocks([5, 5, 5, 5], d: 8, noise: 0.4, seed: 4)
        let chain = WardChain(vectors: v, dimension: 8)
        var total = 0.0
        for (k, m) in chain.merges.enumerated() {
            total += m.cost
            #expect(m.cost >= 0)
            let w = Self.withinSquares(v, d: 8, chain.partition(clusters: 20 - k - 1))
            #expect(abs(w - total) < 1e-9, "after \(k + 1) merges")
        }
        // The dendrogram heights never fall.
        #expect(zip(chain.heights, chain.heights.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(chain.heights.last == chain.merges.map(\.cost).max())
    }

    @Test func costsCanFallUnderTheConnectivityConstraint() {
        // a, b, a: the pair (a, b) merges first; the union's mean lies halfway to the last a, which it then
        // joins for a third of the first cost. Unconstrained Ward would merge the two a's first, for nothing.
        let angle: Float = 0.5
        let v: [Float] = [1, 0, cos(angle), sin(angle), 1, 0]
        let chain = WardChain(vectors: v, dimension: 2)
        let first = 0.5 * Double(pow(1 - cos(angle), 2) + pow(sin(angle), 2))
        #expect(chain.merges.map(\.boundary) == [1, 2])
        #expect(abs(chain.merges[0].cost - first) < 1e-6)
        #expect(abs(chain.merges[1].cost - first / 3) < 1e-6)
        #expect(chain.heights == [chain.merges[0].cost, chain.merges[0].cost])
    }

    @Test func oneClipIsOneChapter() {
        let chain = WardChain(vectors: [0.3, 0.4], dimension: 2)
        #expect(chain.merges.isEmpty)
        #expect(chain.partition(clusters: 1) == [0..<1])
        #expect(chain.partition(clusters: 5) == [0..<1])
        #expect(chain.automaticCount() == 1)
        #expect(WardChain(vectors: [], dimension: 4).partition(clusters: 3) == [])
    }

    @Test func asManyChaptersAsClipsOrMoreIsOneClipEach() {
        let v = Self.blocks([2, 2], d: 4, noise: 0.3)
        let chain = WardChain(vectors: v, dimension: 4)
        #expect(chain.partition(clusters: 4) == [0..<1, 1..<2, 2..<3, 3..<4])
        #expect(chain.partition(clusters: 100_000) == [0..<1, 1..<2, 2..<3, 3..<4])
        #expect(chain.partition(clusters: 0) == [0..<4])
    }

    @Test func aUniformStreamIsOneChapter() {
        let v = Self.blocks([12], d: 8)
        #expect(WardChain(vectors: v, dimension: 8).automaticCount() == 1)
    }

    @Test(arguments: [2, 3, 5, 8, 13])
    func automaticCountFindsTheBlocks(blocks: Int) {
        var rng = SplitMix64(seed: UInt64(blocks))
        let lengths = (0..<blocks).map { _ in Int.random(in: 3...9, using: &rng) }
        let v = Self.blocks(lengths, d: 32, noise: 0.15, seed: UInt64(blocks) + 100)
        let chain = WardChain(vectors: v, dimension: 32)
        #expect(chain.automaticCount() == blocks, "lengths \(lengths)")
        var starts = [0]
        for l in lengths.dropLast() { starts.append(starts.last! + l) }
        #expect(chain.partition(clusters: blocks).map(\.lowerBound) == starts)
    }

    @Test func chaptersMeetMidwayBetweenWindowCentresAndTakeTheNearestLabel() {
        // Clips of 2 s every 1 s; two blocks, along the first and the second axis.
        let v: [Float] = [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0]
        let segments = (0..<5).map { Segment(start: Double($0), end: Double($0) + 2) }
        let stream = EmbeddingStream(segments: segments, vectors: v, dimension: 3)
        let labels = LabelSet(texts: ["x", "y", "z"], vectors: [1, 0, 0, 0, 1, 0, 0, 0, 1], dimension: 3)
        let chapters = stream.chapters(count: nil, labels: labels)
        #expect(chapters.map(\.clips) == [0..<3, 3..<5])
        // The centres of clips 2 and 3 are 3 s and 4 s.
        #expect(chapters.map(\.start) == [0, 3.5])
        #expect(chapters.map(\.end) == [3.5, 6])
        #expect(chapters.map(\.label) == ["x", "y"])
        #expect(chapters.map(\.score) == [1, 1])
        #expect(stream.chapters(count: 1, labels: nil) == [Chapter(start: 0, end: 6, clips: 0..<5)])
    }

    @Test func aBoundaryBetweenClipsIsPlacedWhereTheWindowsMixturesPutIt() throws {
        // 2 s windows every second over 12 s; the content changes from A to B at 5.3 s, so each window's vector
        // mixes A and B by the share of it before and after 5.3 s. Midway between window centres (5.5 s, or
        // 4.5 s) is up to half a stride off; the fitted boundary lands within a grid step of the truth.
        let change = 5.3
        let segments = (0..<11).map { Segment(start: Double($0), end: Double($0) + 2) }
        let vectors = segments.flatMap { w -> [Float] in
            let b = Float(min(max((w.end - change) / (w.end - w.start), 0), 1))
            return [1 - b, b, 0]
        }
        let stream = EmbeddingStream(segments: segments, vectors: vectors, dimension: 3)
        let chapters = stream.chapters(count: 2, labels: nil)
        let second = try #require(chapters.last)
        #expect(abs(second.start - change) <= 0.05, "boundary at \(second.start)")
        #expect(abs(stream.boundaryTime(before: second.clips.lowerBound) - change) >= 0.2)
        #expect(chapters.first?.end == second.start)
    }

    @Test func aChapterIsLabelledFromItsAveragePooledEmbedding() throws {
        // The clips point at "x" and at "y" alike; only their average points at "between".
        let h = Float(0.5).squareRoot()
        let stream = EmbeddingStream(segments: [Segment(start: 0, end: 1), Segment(start: 1, end: 2)],
                                     vectors: [1, 0, 0, 1], dimension: 2)
        #expect(stream.pooled(0..<2).map { abs($0 - h) < 1e-6 } == [true, true])
        let labels = LabelSet(texts: ["x", "y", "between"], vectors: [1, 0, 0, 1, h, h], dimension: 2)
        let chapter = try #require(stream.chapters(count: 1, labels: labels).first)
        #expect(chapter.label == "between")
        #expect(abs(chapter.score! - 1) < 1e-6)
        #expect(labels.nearest(to: [1, 0])?.text == "x")
        #expect(LabelSet(texts: [], vectors: [], dimension: 2).nearest(to: [1, 0]) == nil)
    }
}
