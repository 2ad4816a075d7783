import Foundation
import Testing
import TestSupport
@testable import Media

/// `Thumbnail.jpeg`: a baseline JPEG of the frame on screen at t, upright, at the width asked for with the display
/// aspect ratio; times outside the video and bad files are `MediaError`s.
@Suite struct ThumbnailTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Samples")
    /// 1280×720, 25 fps, 5.3 s, with audio.
    static let landscape = samples.appendingPathComponent("bigbuckbunny.mp4").path
    /// 320×180 coded, shown turned 90° (180×320).
    static let portrait = samples.appendingPathComponent("bigbuckbunny-portrait.mp4").path
    /// 128×128 synthetic reel; its events are in samples.jsonl.
    static let reel = samples.appendingPathComponent("synth/samples_000000.mp4").path

    // MARK: - Helpers

    static func expectJPEG(_ jpeg: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(JPEG.isWhole(jpeg), "not FF D8 … FF D9: \(jpeg.prefix(4)) … \(jpeg.suffix(2))", sourceLocation: sourceLocation)
    }

    /// `jpeg` decoded by FFmpeg, as packed RGB24 (or grey), after writing it as `name` into the fixture folder.
    static func decode(_ jpeg: [UInt8], as name: String, rgb: Bool = true) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        let path = try Fixtures.write(name) { try Data(jpeg).write(to: URL(fileURLWithPath: $0)) }
        return try Fixtures.ffmpegFrame(path, rgb: rgb)
    }

    /// The frame `FrameSampler` shows at `time` (the same frame as the thumbnail's): its centre square, upright, at
    /// `side` × `side`, as planar RGB in 0…255.
    static func sampled(_ path: String, at time: Double, side: Int) throws -> [Float] {
        let sampler = try FrameSampler(file: try MediaFile(path: path), rate: 1, phase: time, shortSide: side, crop: side,
                                       mean: [0, 0, 0], std: [1, 1, 1], options: .init(skipNonReference: false))
        var buffer = [Float](repeating: 0, count: sampler.floatsPerFrame)
        let sample = try buffer.withUnsafeMutableBufferPointer { try sampler.next(into: $0) }
        #expect(sample != nil)
        return buffer.map { $0 * 255 }
    }

    /// The square of `image` (packed RGB24) at (`x0`, `y0`) with sides `side`, averaged over blocks into `n` × `n`
    /// planar RGB (`side` a multiple of `n`).
    static func blocks(_ image: (width: Int, height: Int, pixels: [UInt8]), x0: Int, y0: Int, side: Int, n: Int) -> [Float] {
        precondition(side % n == 0 && x0 + side <= image.width && y0 + side <= image.height)
        let b = side / n
        var out = [Float](repeating: 0, count: 3 * n * n)
        for y in 0..<side {
            for x in 0..<side {
                let p = 3 * ((y0 + y) * image.width + x0 + x)
                for c in 0..<3 { out[c * n * n + (y / b) * n + x / b] += Float(image.pixels[p + c]) }
            }
        }
        return out.map { $0 / Float(b * b) }
    }

    static func meanAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count && !a.isEmpty)
        return zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(a.count)
    }

    /// The reason `body` failed, or nil.
    static func failure(_ body: () throws(MediaError) -> [UInt8]) -> MediaError.Reason? {
        do {
            _ = try body()
            return nil
        } catch {
            #expect(!error.description.contains("\n"))
            return error.reason
        }
    }

    static func isTimeOutOfRange(_ reason: MediaError.Reason?) -> Bool {
        if case .timeOutOfRange = reason { return true }
        return false
    }

    /// How closely a thumbnail's centre square matches the sampler's frame at its own time, and at another time.
    static func match(_ path: String, at time: Double, other: Double, width: Int, square: (x0: Int, y0: Int, side: Int),
                      n: Int, name: String) throws -> (own: Float, other: Float, size: (width: Int, height: Int)) {
        let jpeg = try Thumbnail.jpeg(path: path, at: time, width: width)
        expectJPEG(jpeg)
        let image = try decode(jpeg, as: name)
        let ours = blocks(image, x0: square.x0, y0: square.y0, side: square.side, n: n)
        return (meanAbsoluteDifference(ours, try sampled(path, at: time, side: n)),
                meanAbsoluteDifference(ours, try sampled(path, at: other, side: n)), (image.width, image.height))
    }

    // MARK: - Size, format and picture

    @Test func landscapeIsA320By180BaselineJPEGOfTheFrame() throws {
        let jpeg = try Thumbnail.jpeg(path: Self.landscape, at: 2.5)
        Self.expectJPEG(jpeg)
        let sof = try #require(JPEG.startOfFrame(jpeg))
        #expect(sof.marker == 0xC0 && sof.width == 320 && sof.height == 180)
        // The centre 180×180 is the sampler's centre square of the same frame (JPEG and scaler differences aside).
        let m = try Self.match(Self.landscape, at: 2.5, other: 0.2, width: 320, square: (70, 0, 180), n: 36,
                               name: "thumb-landscape.jpg")
        #expect(m.size.width == 320 && m.size.height == 180)
        #expect(m.own < 6, "mean difference \(m.own) from the sampled frame")
        #expect(m.own * 3 < m.other, "matches 0.2 s (\(m.other)) about as well as 2.5 s (\(m.own))")
    }

    @Test func portraitIsTallerThanWideAndUpright() throws {
        let jpeg = try Thumbnail.jpeg(path: Self.portrait, at: 1.5)
        let sof = try #require(JPEG.startOfFrame(jpeg))
        // 180×320 shown, scaled to 320 wide: 568.9, rounded down to even.
        #expect(sof.width == 320 && sof.height == 568)
        // The sampler turns its centre square upright: the thumbnail's centre square must be the same picture.
        let m = try Self.match(Self.portrait, at: 1.5, other: 0.1, width: 320, square: (0, 124, 320), n: 64,
                               name: "thumb-portrait.jpg")
        #expect(m.own < 6, "mean difference \(m.own) from the sampled frame")
        #expect(m.own * 3 < m.other, "matches 0.1 s (\(m.other)) about as well as 1.5 s (\(m.own))")
    }

    /// The first frame at the video's own display size is FFmpeg's auto-rotated first frame, pixel for pixel within
    /// JPEG loss: the turn is the right way round.
    @Test func firstFrameAtDisplaySizeIsFFmpegs() throws {
        let reference = try Fixtures.ffmpegFrame(Self.portrait)
        #expect(reference.width == 180 && reference.height == 320)
        let ours = try Self.decode(try Thumbnail.jpeg(path: Self.portrait, at: 0, width: 180, quality: 2),
                                   as: "thumb-portrait-first.jpg", rgb: false)
        #expect(ours.width == reference.width && ours.height == reference.height)
        let difference = Self.meanAbsoluteDifference(ours.pixels.map(Float.init), reference.pixels.map(Float.init))
        #expect(difference < 4, "mean luma difference \(difference)")
    }

    @Test(arguments: [0, 90, 180, 270])
    func rotationTagsAreHonoured(rotateTag: Int) throws {
        let path = try Fixtures.halves(rotate: rotateTag)
        let reference = try Fixtures.ffmpegFrame(path)
        let jpeg = try Thumbnail.jpeg(path: path, at: 0.5, width: reference.width)
        let sof = try #require(JPEG.startOfFrame(jpeg))
        #expect(sof.width == reference.width && sof.height == reference.height)
        let ours = try Self.decode(jpeg, as: "thumb-halves-\(rotateTag).jpg", rgb: false)
        let expected = RotationTests.darkSide(width: reference.width, height: reference.height) {
            Double(reference.pixels[$1 * reference.width + $0])
        }
        let got = RotationTests.darkSide(width: ours.width, height: ours.height) { Double(ours.pixels[$1 * ours.width + $0]) }
        #expect(got == expected, "rotate \(rotateTag): dark \(got), FFmpeg dark \(expected)")
    }

    /// Frame n of the grey-index video shows luma index n mod 50: the thumbnail at t is frame ⌊25 t⌋, also at a
    /// frame's own time, on a keyframe (7 s), seconds after one (seeking) and just before the end.
    @Test(arguments: [0.0, 0.02, 0.04, 0.5, 3.99, 7.0, 7.3, 12.06, 19.97])
    func theFrameOnScreenAtT(time: Double) throws {
        let jpeg = try Thumbnail.jpeg(path: try Fixtures.keyframeEverySecond(), at: time, width: 64, quality: 2)
        let image = try Self.decode(jpeg, as: "thumb-gop25-\(time).jpg", rgb: false)
        let centre = image.pixels[(image.height / 2) * image.width + image.width / 2]
        let frame = Int((time * 25).rounded(.down))
        let shown = greyIndex(Float(centre) / 255)
        #expect(mod50Distance(shown, frame % 50) == 0, "at \(time) s: frame \(frame) expected, shows \(shown)")
    }

    /// Two times of a synthetic reel with different events (four white balls moving right at 3 s, a purple ball
    /// shrinking at 17.5 s) give different pictures, each the sampler's frame at its own time.
    @Test func differentEventsGiveDifferentPictures() throws {
        let a = try Self.match(Self.reel, at: 3, other: 17.5, width: 320, square: (0, 0, 320), n: 64, name: "thumb-reel-3.jpg")
        let b = try Self.match(Self.reel, at: 17.5, other: 3, width: 320, square: (0, 0, 320), n: 64, name: "thumb-reel-17.5.jpg")
        for m in [a, b] { #expect(m.size.width == 320 && m.size.height == 320) }
        for (m, t) in [(a, 3.0), (b, 17.5)] {
            #expect(m.own < 6, "at \(t) s: mean difference \(m.own) from the sampled frame")
            #expect(m.own * 2 < m.other, "at \(t) s: the other event's frame matches as well (\(m.other) vs \(m.own))")
        }
    }

    @Test func oddWidthsAndTheSmallestWork() throws {
        let odd = try Thumbnail.jpeg(path: Self.landscape, at: 1, width: 321)
        #expect(JPEG.startOfFrame(odd).map { [$0.width, $0.height] } == [321, 180])
        #expect(try Self.decode(odd, as: "thumb-odd.jpg").width == 321)
        let smallest = try Thumbnail.jpeg(path: Self.landscape, at: 1, width: Thumbnail.widthRange.lowerBound)
        Self.expectJPEG(smallest)
        #expect(JPEG.startOfFrame(smallest).map { [$0.width, $0.height] } == [16, 8])  // 9 rounded down to even
    }

    @Test func lowerQualityIsSmaller() throws {
        let best = try Thumbnail.jpeg(path: Self.landscape, at: 2, quality: Thumbnail.qualityRange.lowerBound)
        let smallest = try Thumbnail.jpeg(path: Self.landscape, at: 2, quality: Thumbnail.qualityRange.upperBound)
        Self.expectJPEG(smallest)
        #expect(smallest.count < best.count)
    }

    @Test func sizeFollowsTheDisplayAspectRatio() {
        func size(_ w: Int, _ h: Int, sar: Double? = nil, rotation: Int = 0, width: Int = 320) -> [Int] {
            let s = Thumbnail.outputSize(width: w, height: h, sampleAspect: sar, rotation: rotation, outputWidth: width)
            return [s.width, s.height]
        }
        #expect(size(1920, 1080) == [320, 180])
        #expect(size(1920, 1080, rotation: 270) == [320, 568])
        #expect(size(1920, 1080, rotation: 180) == [320, 180])
        // PAL DVD 16:9: 720×576 with 64:45 samples is 1024×576 shown.
        #expect(size(720, 576, sar: 64.0 / 45) == [320, 180])
        #expect(size(720, 576, sar: 64.0 / 45, rotation: 90) == [320, 568])  // 568.9 rounded down to even
        // Extreme shapes stay within 2…maxHeight.
        #expect(size(100_000, 16) == [320, 2])
        #expect(size(16, 100_000, width: 4096) == [4096, Thumbnail.maxHeight])
    }

    // MARK: - Errors

    @Test(arguments: [-1, -0.001, Double.nan, -Double.infinity, Double.infinity, 1e300, 1e9])
    func timesOutsideTheVideo(time: Double) throws {
        let reason = Self.failure { () throws(MediaError) in try Thumbnail.jpeg(path: Self.landscape, at: time) }
        #expect(Self.isTimeOutOfRange(reason), "\(time): \(String(describing: reason))")
        #expect(reason?.description.hasPrefix("no frame at") == true)
    }

    @Test func theEndIsPastTheVideo() throws {
        let duration = try #require(try MediaFile.probe(Self.landscape).duration)
        let reason = Self.failure { () throws(MediaError) in try Thumbnail.jpeg(path: Self.landscape, at: duration) }
        #expect(reason == .timeOutOfRange(duration, end: duration))
        #expect(reason?.description.contains("the video ends at") == true)
        // The last frame is still there just before the end.
        Self.expectJPEG(try Thumbnail.jpeg(path: Self.landscape, at: duration - 0.05))
    }

    /// Audio for 3 s, video for 1 s: the container lasts 3 s, so the end of the last frame (1 s) decides.
    @Test func pastTheLastFrameBeforeTheContainerEnds() throws {
        let path = try Fixtures.make("thumb-short-video.mp4", [
            "-f", "lavfi", "-i", Fixtures.greySource(rate: 25, seconds: 1), "-f", "lavfi", "-i", "sine=d=3",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        #expect(try #require(try MediaFile.probe(path).duration) > 2)
        let reason = Self.failure { () throws(MediaError) in try Thumbnail.jpeg(path: path, at: 2) }
        guard case .timeOutOfRange(let time, let end)? = reason else {
            Issue.record("expected timeOutOfRange, got \(String(describing: reason))")
            return
        }
        #expect(time == 2)
        #expect(try abs(#require(end) - 1) < 1e-6)
        Self.expectJPEG(try Thumbnail.jpeg(path: path, at: 0.98))
    }

    @Test(arguments: [Thumbnail.widthRange.lowerBound - 1, Thumbnail.widthRange.upperBound + 1, 0, -1, Int.max, Int.min])
    func widthsOutOfRange(width: Int) {
        let reason = Self.failure { () throws(MediaError) in try Thumbnail.jpeg(path: Self.landscape, at: 1, width: width) }
        #expect(reason == .invalidRequest("thumbnail width \(width) is outside 16-4096 pixels"))
    }

    @Test(arguments: [Thumbnail.qualityRange.lowerBound - 1, Thumbnail.qualityRange.upperBound + 1])
    func qualitiesOutOfRange(quality: Int) {
        let reason = Self.failure { () throws(MediaError) in try Thumbnail.jpeg(path: Self.landscape, at: 1, quality: quality) }
        guard case .invalidRequest? = reason else {
            Issue.record("quality \(quality): \(String(describing: reason))")
            return
        }
    }

    enum BadFile: String, CaseIterable, CustomTestStringConvertible {
        case truncatedMovieHeader, truncatedData, textNamedMP4, empty, missing, audioOnly, stillImage

        var testDescription: String { rawValue }

        func path() throws -> String {
            switch self {
            case .truncatedMovieHeader: try Fixtures.truncated(try Fixtures.mp4(faststart: false), percent: 90)
            case .truncatedData: try Fixtures.truncated(try Fixtures.mp4(faststart: true), percent: 50)
            case .textNamedMP4: try Fixtures.write("thumb-notes.mp4") {
                try String(repeating: "not a video, just some notes\n", count: 200).write(toFile: $0, atomically: false, encoding: .utf8)
            }
            case .empty: try Fixtures.write("thumb-empty.mp4") { _ = FileManager.default.createFile(atPath: $0, contents: Data()) }
            case .missing: Fixtures.directory + "/no-such-video.mp4"
            case .audioOnly: try Fixtures.audioOnly()
            case .stillImage: try Fixtures.stillPNG()
            }
        }

        func expected(_ reason: MediaError.Reason?) -> Bool {
            switch (self, reason) {
            case (.truncatedMovieHeader, .truncatedOrCorrupt?), (.truncatedData, .truncatedOrCorrupt?): true
            case (.textNamedMP4, .notMediaFile?), (.empty, .empty?), (.missing, .notFound?), (.stillImage, .stillImage?): true
            case (.audioOnly, .noVideoStream(hasAudio: true)?): true
            default: false
            }
        }
    }

    @Test(arguments: BadFile.allCases)
    func badFilesFailLikeTheRestOfMedia(file: BadFile) throws {
        let path = try file.path()
        var thrown: MediaError?
        do {
            _ = try Thumbnail.jpeg(path: path, at: 0.5)
        } catch {
            thrown = error
        }
        let error = try #require(thrown)
        #expect(error.path == path)
        #expect(file.expected(error.reason), "\(file): \(error)")
        #expect(!error.description.contains("\n"))
    }

    // MARK: - Writing

    @Test func writingReplacesAPlainFileButNeverFollowsALink() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-thumb")
        let jpeg = try Thumbnail.jpeg(path: Self.landscape, at: 1)
        let plain = dir.file("plain.jpg").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: plain))
        try writeImage(jpeg, to: plain)
        #expect(try Data(contentsOf: URL(fileURLWithPath: plain)) == Data(jpeg))

        let victim = dir.file("victim.txt").path
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        let link = dir.file("link.jpg").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        let reason = Self.failure { () throws(MediaError) in try writeImage(jpeg, to: link); return [] }
        #expect(reason == .refusedToOverwrite)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
    }
}
