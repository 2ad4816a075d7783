import Foundation
import Testing
import TestSupport
@testable import Catalog

@Suite struct VideoFinderTests {
    let mp4Head: [UInt8] = [0, 0, 0, 0x18] + Array("ftypisom".utf8) + [UInt8](repeating: 0, count: 200)

    func touch(_ dir: TemporaryDirectory, _ rel: String, _ bytes: [UInt8] = Array("x".utf8)) throws {
        let url = dir.file(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func names(_ r: (candidates: [VideoFinder.Candidate], problems: [VideoFinder.Problem]), in dir: TemporaryDirectory) -> [String] {
        r.candidates.map { String($0.path.dropFirst(dir.url.standardizedFileURL.path.count + 1)) }
    }

    @Test func findsVideosRecursivelyAndSkipsJunk() throws {
        let dir = try TemporaryDirectory()
        try touch(dir, "a.mp4")
        try touch(dir, "sub/deeper/b.MKV")
        try touch(dir, "notes.txt")
        try touch(dir, "._a.mp4")
        try touch(dir, ".DS_Store")
        try touch(dir, ".hidden/c.mp4")
        try touch(dir, "@eaDir/a.mp4/SYNOVIDEO.mp4")
        try touch(dir, "System Volume Information/d.mp4")
        let r = VideoFinder().scan([dir.path])
        #expect(names(r, in: dir) == ["a.mp4", "sub/deeper/b.MKV"])
        #expect(r.problems.isEmpty)
    }

    /// A link to `/` (or a parent) would walk the whole machine, `/proc` included: it is reported, not followed.
    /// A link to a folder elsewhere (another disk) is followed.
    @Test func linksToTheWholeMachineAreNotFollowed() throws {
        let dir = try TemporaryDirectory()
        let elsewhere = try TemporaryDirectory()
        try touch(dir, "videos/a.mp4")
        try touch(elsewhere, "b.mp4")
        try FileManager.default.createSymbolicLink(atPath: dir.file("videos/root").path, withDestinationPath: "/")
        try FileManager.default.createSymbolicLink(atPath: dir.file("videos/up").path, withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: dir.file("videos/proc").path, withDestinationPath: "/proc/self")
        try FileManager.default.createSymbolicLink(atPath: dir.file("videos/nas").path, withDestinationPath: elsewhere.path)
        let r = VideoFinder().scan([dir.file("videos").path])
        #expect(names(r, in: dir) == ["videos/a.mp4", "videos/nas/b.mp4"])
        #expect(Set(r.problems.map { ($0.path as NSString).lastPathComponent }) == ["root", "up", "proc"])
        #expect(r.problems.allSatisfy { $0.cause.contains("not followed") })
    }

    @Test func oddEntriesAreReportedNotSkippedInSilence() throws {
        let dir = try TemporaryDirectory()
        try touch(dir, "a.mp4")
        #expect(mkfifo(dir.file("pipe.mp4").path, 0o600) == 0)
        #expect(mkfifo(dir.file("pipe.txt").path, 0o600) == 0)  // not a video name: not ours to report
        // A name with the byte 0xFF, which is not valid UTF-8, created from its raw bytes.
        let raw = (Array((dir.path + "/bad").utf8) + [0xFF] + Array("name.mp4".utf8)).map { CChar(bitPattern: $0) } + [0]
        let fd = open(raw, O_CREAT | O_WRONLY, 0o600)
        #expect(fd >= 0)
        close(fd)
        let r = VideoFinder().scan([dir.path])
        #expect(names(r, in: dir) == ["a.mp4"])
        #expect(r.problems.count == 2, "\(r.problems)")
        #expect(r.problems.contains { $0.path.hasSuffix("pipe.mp4") && $0.cause.contains("not a regular file") })
        #expect(r.problems.contains { $0.cause.contains("not valid UTF-8") })
    }

    @Test func recognisesVideoByContentWithoutExtension() throws {
        let dir = try TemporaryDirectory()
        try touch(dir, "clip.bin", mp4Head)
        try touch(dir, "Gtext.dat", Array("G is for grapes".utf8))
        #expect(names(VideoFinder().scan([dir.path]), in: dir) == ["clip.bin"])
    }

    @Test func symlinkLoopsEnd() throws {
        let dir = try TemporaryDirectory()
        try touch(dir, "a/v.mp4")
        try FileManager.default.createSymbolicLink(atPath: dir.file("a/loop").path, withDestinationPath: dir.file("a").path)
        try FileManager.default.createSymbolicLink(atPath: dir.file("up").path, withDestinationPath: dir.path)
        let r = VideoFinder().scan([dir.path])
        #expect(r.candidates.count == 1)
    }

    @Test func fileRootIsACandidateAndMissingRootIsAProblem() throws {
        let dir = try TemporaryDirectory()
        try touch(dir, "readme.txt")
        let r = VideoFinder().scan([dir.file("readme.txt").path, dir.file("gone").path])
        #expect(r.candidates.map(\.path) == [dir.file("readme.txt").standardizedFileURL.path])
        #expect(r.problems.count == 1)
        #expect(r.problems.first?.cause == "No such file or directory")
    }

    @Test(arguments: [
        ([0, 0, 0, 0x20] + Array("ftypmp42".utf8), ContainerSignature.isoMedia),
        ([0x1A, 0x45, 0xDF, 0xA3, 0x01], .matroska),
        (Array("RIFF".utf8) + [0, 0, 0, 0] + Array("AVI ".utf8), .avi),
        (Array("OggS".utf8) + [0], .ogg),
    ] as [([UInt8], ContainerSignature)])
    func signatures(bytes: [UInt8], expected: ContainerSignature) {
        #expect(ContainerSignature.match(bytes) == expected)
    }

    @Test func textIsNoContainer() {
        #expect(ContainerSignature.match(Array("hello world, this is text".utf8)) == nil)
    }
}
