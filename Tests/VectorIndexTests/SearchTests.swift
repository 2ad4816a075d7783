import Foundation
import Testing
import TestSupport
@testable import VectorIndex

@Suite struct SearchTests {
    @Test func exactSearchMatchesScalarBruteForce() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 1)
        let d = 37  // not a multiple of 16: exercises the scalar tail of the kernels
        let data = gen.random(300, d)
        for metric in Metric.allCases {
            let sub = try TemporaryDirectory()
            let index = try makeIndex(sub, vectors: data, d: d, metric: metric)
            let query = gen.random(1, d)
            func normalized(_ v: [Float]) -> [Float] {
                let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return v.map { $0 / n }
            }
            let q = metric == .cosine ? normalized(query) : query
            let expected = (0..<300).map { i -> (UInt64, Float) in
                let v = metric == .cosine ? normalized(row(data, i, d)) : row(data, i, d)
                switch metric {
                case .l2: return (UInt64(i), zip(q, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
                default: return (UInt64(i), 1 - zip(q, v).reduce(0) { $0 + $1.0 * $1.1 })
                }
            }.sorted { $0.1 < $1.1 }.prefix(5)
            let found = try index.exactSearch(query, k: 5)
            #expect(found.map(\.id) == expected.map(\.0), "metric \(metric)")
            for (f, e) in zip(found, expected) { #expect(abs(f.distance - e.1) < 1e-3 * max(1, abs(e.1))) }
        }
        _ = dir
    }

    @Test(arguments: [Metric.cosine, .innerProduct, .l2])
    func recallOnRandomData(metric: Metric) throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 2)
        let d = 32
        let index = try makeIndex(dir, vectors: gen.random(2000, d), d: d, metric: metric)
        #expect(try index.count() == 2000)
        let r = try recall(index, queries: gen.random(40, d), k: 10, ef: 64)
        #expect(r >= 0.9, "recall@10 \(r)")
        let report = try index.verify()
        #expect(report.isSound, "\(report)")
    }

    @Test func recallOnClusteredData() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 3)
        let d = 48
        let data = gen.clustered(4000, d, centres: 40)
        let index = try makeIndex(dir, vectors: data, d: d, batch: 700)
        let r = try recall(index, queries: gen.clustered(40, d, centres: 40), k: 10, ef: 64)
        #expect(r >= 0.9, "recall@10 \(r)")
        // Each stored vector finds itself first.
        for i in stride(from: 0, to: 4000, by: 397) {
            #expect(try index.search(row(data, i, d), k: 1).first?.id == UInt64(i))
        }
        #expect(try index.verify().isSound)
    }

    @Test func filteredSearchReturnsOnlyAllowedIds() throws {
        let dir = try TemporaryDirectory()
        var gen = VectorGenerator(seed: 4)
        let d = 32
        let index = try makeIndex(dir, vectors: gen.clustered(3000, d, centres: 30), d: d)
        let queries = gen.clustered(20, d, centres: 30)
        // A small set (one "video"): searched exactly; a large one: walks the graph.
        let small = Set((0..<40).map { UInt64($0 * 71 % 3000) })
        let large = Set((0..<3000).filter { $0 % 2 == 0 }.map { UInt64($0) })
        for filter in [small, large] {
            for q in 0..<20 {
                let found = try index.search(row(queries, q, d), k: 10, filter: filter)
                #expect(found.count == 10)
                #expect(found.allSatisfy { filter.contains($0.id) })
            }
            let r = try recall(index, queries: queries, k: 10, ef: 64, filter: filter)
            #expect(r >= 0.9, "filtered recall \(r) with \(filter.count) allowed")
        }
    }

    @Test func rejectsWrongDimensions() throws {
        let dir = try TemporaryDirectory()
        let index = try HNSWIndex(path: dir.path, creating: IndexSettings(dimension: 8))
        #expect(throws: IndexError.dimensionMismatch(expected: 8, found: 7)) {
            try index.insert(ids: [1], vectors: [Float](repeating: 1, count: 7))
        }
        #expect(throws: IndexError.self) { try index.search([Float](repeating: 1, count: 9), k: 1) }
        #expect(try index.search([Float](repeating: 1, count: 8), k: 3).isEmpty)
    }
}
