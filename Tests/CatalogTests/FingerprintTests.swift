import Foundation
import SystemCall
import Testing
import TestSupport
@testable import Catalog

@Suite struct FingerprintTests {
    func write(_ bytes: [UInt8], to url: URL) throws { try Data(bytes).write(to: url) }

    func pattern(_ n: Int, seed: UInt8 = 0) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) } }

    @Test func sameContentSameFingerprintWhereverItLives() throws {
        let dir = try TemporaryDirectory()
        let bytes = pattern(1_000_000)
        try write(bytes, to: dir.file("a.mp4"))
        try write(bytes, to: dir.file("b.mp4"))
        let a = try Fingerprint(path: dir.file("a.mp4").path)
        let b = try Fingerprint(path: dir.file("b.mp4").path)
        #expect(a == b)
        #expect(a.size == 1_000_000)
    }

    @Test(arguments: [0, 100, 250_000, 500_000, 999_999])
    func changingASampledByteChangesIt(offset: Int) throws {
        let dir = try TemporaryDirectory()
        var bytes = pattern(1_000_000)
        try write(bytes, to: dir.file("a.mp4"))
        let before = try Fingerprint(path: dir.file("a.mp4").path)
        bytes[offset] ^= 0xFF
        try write(bytes, to: dir.file("a.mp4"))
        #expect(try Fingerprint(path: dir.file("a.mp4").path) != before)
    }

    @Test func sizeChangeChangesIt() throws {
        let dir = try TemporaryDirectory()
        try write(pattern(10), to: dir.file("a"))
        let small = try Fingerprint(path: dir.file("a").path)
        try write(pattern(11), to: dir.file("a"))
        #expect(try Fingerprint(path: dir.file("a").path) != small)
    }

    @Test func hashIsStableAcrossRuns() throws {
        // FNV-1a 64 of the empty input is its offset basis; of "a" it is a published test vector.
        var h = FNV1a()
        #expect(h.value == 0xcbf2_9ce4_8422_2325)
        Array("a".utf8).withUnsafeBytes { h.mix($0) }
        #expect(h.value == 0xaf63_dc4c_8601_ec8c)
    }

    @Test func missingFileNamesPathAndCause() throws {
        let error = #expect(throws: CatalogError.system(SystemCallError("open", path: "/nonexistent/x.mp4", errno: .noSuchFileOrDirectory))) {
            try Fingerprint(path: "/nonexistent/x.mp4")
        }
        #expect(error?.description == "/nonexistent/x.mp4: no such file or directory")
    }
}
