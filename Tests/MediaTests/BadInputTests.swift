import Foundation
import Testing
import TestSupport
@testable import Media

/// Files that are not good videos: each gives one `MediaError` naming the file and the cause,
/// never a crash or a hang.
@Suite struct BadInputTests {
    /// Opens `path` and streams all its clips; returns the reason it failed, or `nil`.
    static func failure(_ path: String) -> MediaError.Reason? {
        do {
            let stream = try ClipStream(file: try MediaFile(path: path),
                                        spec: ClipSpec(window: 2, stride: 1, frames: 8, size: 28, resizeShortSide: 32))
            var buffer = [Float](repeating: 0, count: stream.floatsPerClip)
            while try buffer.withUnsafeMutableBufferPointer({ try stream.next(into: $0) }) != nil {}
            return nil
        } catch let error as MediaError {
            #expect(error.path == path)
            #expect(!error.description.contains("\n"))
            return error.reason
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    static func isTruncated(_ reason: MediaError.Reason?) -> Bool {
        if case .truncatedOrCorrupt = reason { return true }
        return false
    }

    @Test func emptyFile() throws {
        let path = try Fixtures.write("empty.mp4") { _ = FileManager.default.createFile(atPath: $0, contents: Data()) }
        #expect(Self.failure(path) == .empty)
    }

    @Test(arguments: [10, 50, 90], [false, true])
    func truncated(percent: Int, faststart: Bool) throws {
        let path = try Fixtures.truncated(try Fixtures.mp4(faststart: faststart), percent: percent)
        let reason = Self.failure(path)
        #expect(Self.isTruncated(reason), "\(percent)% faststart \(faststart): \(String(describing: reason))")
    }

    @Test func missingMovieHeaderSaysSo() throws {
        let path = try Fixtures.truncated(try Fixtures.mp4(faststart: false), percent: 10)
        let reason = Self.failure(path)
        #expect(reason?.description.contains("moov") == true, "\(String(describing: reason))")
    }

    @Test func theIntactFilesDecode() throws {
        #expect(Self.failure(try Fixtures.mp4(faststart: false)) == nil)
        #expect(Self.failure(try Fixtures.mp4(faststart: true)) == nil)
    }

    @Test func randomBytesNamedMP4() throws {
        let path = try Fixtures.write("random.mp4") { path in
            var generator = SplitMix64(seed: 42)
            let bytes = (0..<200_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        }
        #expect(Self.failure(path) == .notMediaFile)
    }

    @Test(arguments: ["notes.txt", "notes.mp4"])
    func textFile(name: String) throws {
        let path = try Fixtures.write(name) { path in
            let text = String(repeating: "Meeting notes: the fridge opens at 10:00.\n", count: 200)
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        }
        #expect(Self.failure(path) == .notMediaFile)
    }

    @Test func audioOnly() throws {
        #expect(Self.failure(try Fixtures.audioOnly()) == .noVideoStream(hasAudio: true))
    }

    @Test func coverArtIsNotAVideo() throws {
        #expect(Self.failure(try Fixtures.audioWithCoverArt()) == .noVideoStream(hasAudio: true))
    }

    @Test func audioBesideVideoIsReported() throws {
        let info = try MediaFile.probe(try Fixtures.withAudio())
        #expect(info.hasAudio)
        #expect(try !MediaFile.probe(try Fixtures.constantRate()).hasAudio)
    }

    @Test func stillImage() throws {
        #expect(Self.failure(try Fixtures.stillPNG()) == .stillImage)
    }

    @Test func directory() throws {
        #expect(Self.failure(Fixtures.directory) == .notRegularFile(kind: "a directory"))
    }

    @Test func missingFileAndDanglingLink() throws {
        #expect(Self.failure(Fixtures.directory + "/no-such-file.mp4") == .notFound)
        let link = try Fixtures.write("dangling.mp4") { path in
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: Fixtures.directory + "/gone.mp4")
        }
        #expect(Self.failure(link) == .notFound)
    }

    /// A FIFO with no writer would block `open` forever; it is refused before opening.
    @Test func fifoDoesNotHang() throws {
        let path = try Fixtures.write("fifo.mp4") { path in
            #expect(mkfifo(path, 0o644) == 0)
        }
        #expect(Self.failure(path) == .notRegularFile(kind: "a FIFO"))
    }

    /// Root reads any file, so this checks the permission path only where it can be hit; the
    /// end-to-end tests drop to an unprivileged user to cover it when running as root.
    @Test func unreadableFile() throws {
        let source = try Fixtures.constantRate()
        let path = try Fixtures.write("unreadable.mp4") { path in
            try FileManager.default.copyItem(atPath: source, toPath: path)
            chmod(path, 0)
        }
        if geteuid() == 0 {
            #expect(Self.failure(path) == nil)  // root: DAC does not apply
        } else {
            #expect(Self.failure(path) == .permissionDenied)
        }
    }

    /// A decoder that will not open (a raw-video AVI whose bitmap header asks for 7 bits a pixel) is an unsupported
    /// codec, not a crash: the decoder's context was freed twice (Tools/fuzz/crashes/media).
    @Test func decoderThatWillNotOpen() throws {
        let path = try Fixtures.write("bad-pixel-format.avi") { path in
            let raw = try Fixtures.make("raw-bgr24.avi", ["-f", "lavfi", "-i", "color=c=gray:s=32x16:r=6:d=1",
                                                          "-c:v", "rawvideo", "-pix_fmt", "bgr24"])
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
            // biBitCount of the BITMAPINFOHEADER in the first `strf` chunk: after the tag, the size and 14 bytes.
            let strf = try #require(bytes.firstRange(of: Array("strf".utf8))).lowerBound
            bytes[strf + 22] = 7
            bytes[strf + 23] = 0
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        }
        let reason = Self.failure(path)
        guard case .unsupportedCodec = reason else {
            Issue.record("expected an unsupported codec, got \(String(describing: reason))")
            return
        }
    }

    @Test func libavErrorsAreDescribedByLibav() {
        #expect(AVError.endOfFile.description == "End of file")
        #expect(AVError.invalidData.description == "Invalid data found when processing input")
        #expect(throws: AVError.tryAgain) { try AVError.check(AVError.tryAgain.code) }
        #expect((try? AVError.check(3)) == 3)
    }
}

