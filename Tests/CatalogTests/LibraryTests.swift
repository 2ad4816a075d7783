import Foundation
import Testing
import TestSupport
@testable import Catalog
import Media
import SystemCall

/// The library's records, segments and vectors without a model: unit vectors chosen by the test.
@Suite struct LibraryTests {
    static let dimension = 8

    /// A unit vector along axis `axis` tilted by `tilt` towards axis `(axis + 1) % dimension`.
    static func vector(_ axis: Int, tilt: Float = 0) -> [Float] {
        var v = [Float](repeating: 0, count: dimension)
        v[axis] = 1
        v[(axis + 1) % dimension] = tilt
        let n = (1 + tilt * tilt).squareRoot()
        return v.map { $0 / n }
    }

    static func segments(_ n: Int) -> [Segment] { (0..<n).map { Segment(start: Double($0), end: Double($0) + 2) } }

    @Test func commitRelinkRemoveAndVerify() throws {
        let dir = try TemporaryDirectory()
        let library = try Library(path: dir.path, model: ("m1", Self.dimension), create: true)
        let a = try library.commit(path: "/v/a.mp4", fingerprint: Fingerprint(size: 1, hash: 1), mtime: 1, duration: 4,
                                   segments: Self.segments(3), vectors: (0..<3).flatMap { Self.vector($0) }, replacing: [])
        let b = try library.commit(path: "/v/b.mp4", fingerprint: Fingerprint(size: 2, hash: 2), mtime: 1, duration: 3,
                                   segments: Self.segments(2), vectors: (3..<5).flatMap { Self.vector($0) }, replacing: [])
        #expect(a.id != b.id)
        #expect(try library.verify().isConsistent)
        var status = try library.status()
        #expect(status.videos == 2 && status.segments == 5 && status.vectors == 5 && status.healthy)

        try library.relink(b.id, to: "/w/b.mp4", mtime: 2, replacing: [])
        #expect(try library.videos().map(\.path).sorted() == ["/v/a.mp4", "/w/b.mp4"])

        // Replacing a video drops its old segments and vectors in the same transaction.
        let a2 = try library.commit(path: "/v/a.mp4", fingerprint: Fingerprint(size: 1, hash: 9), mtime: 3, duration: 2,
                                    segments: Self.segments(1), vectors: Self.vector(6), replacing: [a.id])
        #expect(a2.id > b.id)
        status = try library.status()
        #expect(status.videos == 2 && status.segments == 3 && status.vectors == 3)
        try library.recordFailure(path: "/v/bad.mp4", fingerprint: Fingerprint(size: 5, hash: 5), mtime: 1,
                                  failure: .media("not a media file"), replacing: [])
        #expect(try library.status().failures == [.init(path: "/v/bad.mp4", cause: "not a media file")])
        try library.remove([b.id])
        let report = try library.verify()
        #expect(report.isConsistent, "\(report.problems)")
        #expect(report.segments == 1 && report.vectors == 1)
    }

    @Test func anotherModelIsAnError() throws {
        let dir = try TemporaryDirectory()
        _ = try Library(path: dir.path, model: ("m1", Self.dimension), create: true)
        #expect(throws: CatalogError.modelMismatch(library: dir.path, stored: "m1", requested: "m2")) {
            try Library(path: dir.path, model: ("m2", Self.dimension), create: true)
        }
        #expect(throws: CatalogError.emptyLibrary(dir.path + "/none")) {
            try Library(path: dir.path + "/none", model: nil, create: false)
        }
    }

    @Test(arguments: [false, true]) func momentsGrowAroundPeaksAndRankByScore(exact: Bool) throws {
        let dir = try TemporaryDirectory()
        let library = try Library(path: dir.path, model: ("m1", Self.dimension), create: true)
        // Video a: segments 2–4 point at the query (axis 0), the rest elsewhere; video b: one weaker match.
        let a: [[Float]] = [Self.vector(5), Self.vector(6), Self.vector(0, tilt: 0.2), Self.vector(0),
                            Self.vector(0, tilt: 0.3), Self.vector(5), Self.vector(6)]
        let b: [[Float]] = [Self.vector(4), Self.vector(0, tilt: 1), Self.vector(4)]
        try library.commit(path: "/v/a.mp4", fingerprint: Fingerprint(size: 1, hash: 1), mtime: 0, duration: 8,
                           segments: Self.segments(a.count), vectors: a.flatMap { $0 }, replacing: [])
        try library.commit(path: "/v/b.mp4", fingerprint: Fingerprint(size: 2, hash: 2), mtime: 0, duration: 4,
                           segments: Self.segments(b.count), vectors: b.flatMap { $0 }, replacing: [])
        let moments = try library.moments(for: Self.vector(0), MomentQuery(top: 5, exact: exact))
        let first = try #require(moments.first)
        // Segments 2–4 (windows 2–4 s … 4–6 s) cut midway between their centres and their neighbours': 2.5–5.5 s.
        #expect(first.path == "/v/a.mp4" && first.start == 2.5 && first.end == 5.5)
        #expect(abs(first.score - 1) < 1e-5)
        #expect(moments.map(\.score) == moments.map(\.score).sorted(by: >))
        #expect(moments.contains { $0.path == "/v/b.mp4" && $0.start == 1.5 && $0.end == 2.5 })
        #expect(try library.moments(for: Self.vector(0), MomentQuery(top: 5, minScore: 0.9, exact: exact)).count == 1)
        let onlyB = try library.moments(for: Self.vector(0), MomentQuery(top: 5, pathGlob: "*/b.mp4", exact: exact))
        #expect(!onlyB.isEmpty && onlyB.allSatisfy { $0.path == "/v/b.mp4" })
    }

    @Test func laterMomentsAreTrimmedClearOfBetterOnes() {
        // Segments overlap in time (window 2 s, stride 1 s), so disjoint segment ranges can share a second.
        let better = [(start: 4.0, end: 9.0)]
        func trimmed(_ span: (Double, Double)) -> [Double]? { Library.trim(span, clear: better).map { [$0.start, $0.end] } }
        #expect(trimmed((0, 5)) == [0, 4])
        #expect(trimmed((8, 12)) == [9, 12])
        #expect(trimmed((5, 8)) == nil)
        #expect(trimmed((10, 12)) == [10, 12])
    }
}

extension LibraryTests {
    @Test func aOneSegmentVideoIsFound() throws {
        let dir = try TemporaryDirectory()
        let library = try Library(path: dir.path, model: ("m1", Self.dimension), create: true)
        try library.commit(path: "/v/short.mp4", fingerprint: Fingerprint(size: 1, hash: 1), mtime: 0, duration: 1,
                           segments: [Segment(start: 0, end: 1)], vectors: Self.vector(2), replacing: [])
        let moments = try library.moments(for: Self.vector(2), MomentQuery(top: 3))
        #expect(moments.map(\.path) == ["/v/short.mp4"] && moments.first?.end == 1)
    }
}

extension LibraryTests {
    /// `top` sizes the hit count and the candidate list: any value, however large or small, is a bound, never an
    /// arithmetic overflow (`20 × top` trapped for `top` near `Int.max / 20`).
    @Test(arguments: [Int.max, Int.max / 20 + 1, 461_168_601_842_738_791, 0, -1, Int.min])
    func anyTopIsSafe(top: Int) throws {
        let dir = try TemporaryDirectory()
        let library = try Library(path: dir.path, model: ("m1", Self.dimension), create: true)
        try library.commit(path: "/v/short.mp4", fingerprint: Fingerprint(size: 1, hash: 1), mtime: 0, duration: 1,
                           segments: [Segment(start: 0, end: 1)], vectors: Self.vector(2), replacing: [])
        for exact in [false, true] {
            let moments = try library.moments(for: Self.vector(2), MomentQuery(top: top, exact: exact))
            #expect(moments.count == (top > 0 ? 1 : 0))
        }
    }
}

/// Failure records: typed, and still readable as written by a vjsearch before failures had kinds.
@Suite struct VideoFailureTests {
    @Test func aRecordWithTheOldErrorStringStillReads() throws {
        let old = #"{"id":3,"path":"/v/x.mp4","size":5,"hash":9,"mtime":1,"duration":0,"status":"failed","error":"not a media file","segments":0}"#
        let record = try JSONDecoder().decode(VideoRecord.self, from: Data(old.utf8))
        #expect(record.failure == .described("not a media file"))
        #expect(record.failure?.description == "not a media file")
        // Written back, it keeps its kind and words under the new key only.
        let again = try JSONDecoder().decode(VideoRecord.self, from: JSONEncoder().encode(record))
        #expect(again == record)
        #expect(!String(decoding: try JSONEncoder().encode(record), as: UTF8.self).contains("\"error\""))
    }

    @Test func errorsBecomeFailuresByKind() throws {
        let missing = VideoFailure(CatalogError.system(SystemCallError("open", path: "/v/x.mp4", errno: .noSuchFileOrDirectory)))
        #expect(missing == .system(call: "open", errno: Errno.noSuchFileOrDirectory.rawValue))
        #expect(missing.description == "no such file or directory")
        #expect(VideoFailure(MediaError(path: "/v/x.mp4", reason: .notMediaFile)) == .media("not a media file"))
        #expect(VideoFailure(CatalogError.tooManySegments(path: "/v/x.mp4", count: 9, limit: 8)) == .tooManySegments(count: 9, limit: 8))
        for failure: VideoFailure in [.noFrames, .embedding("x"), .notIndexable("y"), missing, .tooManySegments(count: 2, limit: 1)] {
            #expect(try JSONDecoder().decode(VideoFailure.self, from: JSONEncoder().encode(failure)) == failure)
        }
    }
}
