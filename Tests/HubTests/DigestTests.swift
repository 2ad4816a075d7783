import Foundation
import Hub
import JEPA
import Testing
import TestSupport

/// The hashes that check downloads, against coreutils' `sha256sum` and git's own blob ids.
@Suite struct DigestTests {
    static func command(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: text, as: UTF8.self).prefix { !$0.isWhitespace })
    }

    @Test(arguments: [0, 1, 55, 56, 63, 64, 65, 1000, 300_001])
    func digestsMatchTheReferenceTools(size: Int) throws {
        let dir = try TemporaryDirectory(prefix: "digest")
        var rng = SplitMix64(seed: UInt64(size))
        let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let file = dir.file("f")
        try Data(bytes).write(to: file)
        let sha256 = try Self.command(["sha256sum", file.path])
        let blob = try Self.command(["git", "hash-object", file.path])
        for (expected, etag) in [(sha256, sha256), (blob, blob)] {
            let digest = try #require(ExpectedDigest(etag: etag))
            var running = RunningDigest(digest, size: Int64(size))
            // In uneven pieces, as a download arrives.
            var offset = 0, piece = 1
            while offset < size {
                let end = min(size, offset + piece)
                bytes[offset..<end].withUnsafeBytes { running.update($0) }
                offset = end
                piece = piece * 3 + 7
            }
            #expect(running.finish() == expected)
        }
    }
}
