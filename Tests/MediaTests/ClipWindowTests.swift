import Foundation
import Testing
@testable import Media

/// Clip windows: coverage, frame counts, short and long videos.
@Suite struct ClipWindowTests {
    static let small = ClipSpec(window: 2, stride: 1, frames: 8, size: 28, resizeShortSide: 32)

    /// All clips of `path`; frames exactly on the grid unless `options` skip non-reference frames.
    static func clips(_ path: String, spec: ClipSpec = small, options: FrameSampler.Options = .init(skipNonReference: false))
        throws -> (clips: [Clip], stream: ClipStream)
    {
        let stream = try ClipStream(file: try MediaFile(path: path), spec: spec, options: options)
        var buffer = [Float](repeating: .nan, count: stream.floatsPerClip)
        var clips: [Clip] = []
        while let clip = try buffer.withUnsafeMutableBufferPointer({ try stream.next(into: $0) }) {
            #expect(!buffer.contains { $0.isNaN })
            clips.append(clip)
        }
        return (clips, stream)
    }

    /// Checks the invariants every clip list has, and that the windows cover `0 ..< end`.
    static func checkCoverage(_ clips: [Clip], spec: ClipSpec, end: Double) {
        #expect(clips.first?.start == 0)
        for (i, clip) in clips.enumerated() {
            #expect(clip.index == i)
            #expect(clip.frameTimes.count == spec.frames)
            #expect(clip.frameTimes == clip.frameTimes.sorted())
            #expect(clip.end - clip.start <= spec.window + 1e-9)
            // Each frame is on screen inside its window (it may have appeared up to one frame earlier).
            #expect(clip.frameTimes.allSatisfy { $0 >= clip.start - 0.05 && $0 < clip.end })
            if i > 0 { #expect(clip.start - clips[i - 1].start <= spec.stride + 1e-9) }
        }
        #expect((clips.last?.end ?? 0) >= end - spec.step / 2)
    }

    @Test func windowsOfAFourSecondVideo() throws {
        let (clips, _) = try Self.clips(try Fixtures.constantRate())
        #expect(clips.map(\.start) == [0, 1, 2])
        #expect(clips.map(\.end) == [2, 3, 4])
        #expect(clips[0].frameTimes == [0.12, 0.36, 0.6, 0.84, 1.12, 1.36, 1.6, 1.84])
        Self.checkCoverage(clips, spec: Self.small, end: 4)
        // Default options skip B-frames at 4 of 25 fps: a frame may come up to 3 frames early.
        let fast = try Self.clips(try Fixtures.constantRate(), options: .init())
        #expect(fast.stream.sampler.skipsNonReference)
        #expect(fast.clips.map(\.start) == [0, 1, 2])
        for (a, b) in zip(fast.clips.flatMap(\.frameTimes), clips.flatMap(\.frameTimes)) {
            #expect(a <= b && b - a < 4.0 / 25)
        }
        // Overlapping windows share samples.
        #expect(Array(clips[0].frameTimes[4...]) == Array(clips[1].frameTimes[..<4]))
    }

    @Test func theTailIsCovered() throws {
        let (clips, stream) = try Self.clips(try Fixtures.short(frames: 112))  // 4.48 s
        #expect(abs(stream.sampler.endTime - 4.48) < 1e-6)
        #expect(clips.map(\.start) == [0, 1, 2, 2.5])
        #expect(abs(clips[3].end - 4.48) < 1e-6)
        Self.checkCoverage(clips, spec: Self.small, end: 4.48)
    }

    /// The clips (with their pixels) of `path` that a stream `from` a time emits, and the frames it decoded.
    static func clips(_ path: String, from: Double, spec: ClipSpec = small) throws -> (clips: [Clip], pixels: [[Float]], decoded: Int) {
        let stream = try ClipStream(file: try MediaFile(path: path), spec: spec, options: .init(skipNonReference: false), from: from)
        var buffer = [Float](repeating: .nan, count: stream.floatsPerClip)
        var clips: [Clip] = [], pixels: [[Float]] = []
        while let clip = try buffer.withUnsafeMutableBufferPointer({ try stream.next(into: $0) }) {
            clips.append(clip)
            pixels.append(buffer)
        }
        return (clips, pixels, stream.sampler.framesDecoded)
    }

    /// A stream from a time: exactly the whole stream's windows that end after it (same indices, frame times and
    /// pixels, the tail included), decoded from a keyframe shortly before them.
    @Test(arguments: [0, 0.5, 2, 2.01, 9.5, 17.2, 18.9, 19.9])
    func aStreamFromATimeHasTheWholeStreamsWindowsThatEndAfterIt(from: Double) throws {
        let path = try Fixtures.keyframeEverySecond()  // 20 s at 25 fps, a keyframe every second
        let spec = ClipSpec(window: 2, stride: 1, frames: 8, size: 28, resizeShortSide: 32)
        let whole = try Self.clips(path, from: 0, spec: spec)
        let part = try Self.clips(path, from: from, spec: spec)
        let expected = whole.clips.indices.filter { whole.clips[$0].end > from }
        #expect(part.clips == expected.map { whole.clips[$0] })
        #expect(part.pixels == expected.map { whole.pixels[$0] })
        // Skipped: all but a window, a stride, the seek margin and two keyframe gaps before `from`.
        let skipped = Int(max(0, from - 5.5) * 25)
        #expect(part.decoded <= whole.decoded - skipped, "decoded \(part.decoded) of \(whole.decoded) frames")
    }

    @Test func aStreamFromPastTheEndIsEmpty() throws {
        let spec = ClipSpec(window: 2, stride: 1, frames: 8, size: 28, resizeShortSide: 32)
        for from in [20.0, 21, 1e6, 1e300] {
            #expect(try Self.clips(try Fixtures.keyframeEverySecond(), from: from, spec: spec).clips.isEmpty, "\(from)")
        }
        // A tail window past the last regular one (4.48 s: windows at 0, 1, 2 and a tail at 2.5).
        #expect(try Self.clips(try Fixtures.short(frames: 112), from: 4.1).clips.map(\.start) == [2.5])
        #expect(try Self.clips(try Fixtures.short(frames: 12), from: 0.3).clips.map(\.start) == [0])  // one short clip
    }

    @Test func shorterThanOneWindowGivesOneClipWithRepeats() throws {
        let (clips, _) = try Self.clips(try Fixtures.short(frames: 12))  // 0.48 s
        #expect(clips.count == 1)
        let clip = try #require(clips.first)
        #expect(clip.start == 0 && abs(clip.end - 0.48) < 1e-6)
        #expect(clip.frameTimes == [0.12, 0.12, 0.12, 0.12, 0.36, 0.36, 0.36, 0.36])
    }

    @Test func aSingleFrameVideoGivesOneClip() throws {
        let (clips, _) = try Self.clips(try Fixtures.short(frames: 1))
        #expect(clips.count == 1)
        #expect(clips.first?.frameTimes == Array(repeating: 0, count: 8))
    }

    @Test func strideLongerThanWindowLeavesGapsButCoversTheTail() throws {
        let spec = ClipSpec(window: 1, stride: 1.5, frames: 4, size: 28, resizeShortSide: 32)
        let (clips, stream) = try Self.clips(try Fixtures.constantRate(), spec: spec)
        #expect(stream.strideSteps == 6)
        #expect(clips.map(\.start) == [0, 1.5, 3])
        #expect(clips.allSatisfy { $0.frameTimes.count == 4 })
    }

    @Test func animatedGIFIsAVideo() throws {
        let path = try Fixtures.animatedGIF()
        let info = try MediaFile.probe(path)
        #expect(info.videoCodec == "gif")
        let (clips, _) = try Self.clips(path)
        #expect(clips.map(\.start) == [0])
        #expect(clips.first?.frameTimes == [0, 0.2, 0.6, 0.8, 1, 1.2, 1.6, 1.8])
    }

    /// Ten minutes of clips in flat memory. The resident-memory check runs in a process of its own (an exit
    /// test): in the test process, suites running beside it (loading models, indexing) move the figure by tens
    /// of megabytes.
    @Test func tenMinutesInFlatMemory() async throws {
        let spec = ClipSpec(window: 2, stride: 1, frames: 8, size: 112)
        let stream = try ClipStream(file: try MediaFile(path: try Fixtures.long()), spec: spec)
        #expect(stream.bufferedFrameCapacity == 8)
        await #expect(processExitsWith: .success) {
            let spec = ClipSpec(window: 2, stride: 1, frames: 8, size: 112)
            let stream = try ClipStream(file: try MediaFile(path: try Fixtures.long()), spec: spec)
            var buffer = [Float](repeating: 0, count: stream.floatsPerClip)
            var count = 0
            var baseline = 0
            var last: Clip?
            while let clip = try buffer.withUnsafeMutableBufferPointer({ try stream.next(into: $0) }) {
                count += 1
                last = clip
                if count == 20 { baseline = residentBytes() }
            }
            let growth = residentBytes() - baseline
            // Windows start every second from 0 to 598 s. Keeping every sampled frame would hold 2,400 × 150 KB
            // ≈ 360 MB.
            guard count == 599, last?.end == 600, growth < 16 << 20 else {
                print("clips \(count), last end \(last?.end ?? -1), resident memory grew by \(growth >> 20) MB")
                exit(1)
            }
        }
    }

    @Test func invalidSpecsAreRejected() {
        #expect(throws: ClipSpecError.self) { try ClipSpec(window: 0).validate() }
        #expect(throws: ClipSpecError.self) { try ClipSpec(frames: 0).validate() }
        #expect(throws: ClipSpecError.self) { try ClipSpec(stride: -1).validate() }
        #expect(throws: ClipSpecError.self) { try ClipSpec(mean: [0.5]).validate() }
        #expect(ClipSpec.default.resizeShortSide == 256)
        // Values that overflowed, trapped or sampled without end before they had ranges.
        for spec in [ClipSpec(window: 1e300), ClipSpec(stride: 1e300), ClipSpec(window: 1e-9), ClipSpec(stride: 1e-9),
                     ClipSpec(window: .nan), ClipSpec(stride: .infinity), ClipSpec(frames: 100_000_000),
                     ClipSpec(size: 1 << 62), ClipSpec(size: 4097), ClipSpec(frames: 1024, size: 4096),
                     ClipSpec(size: 224, resizeShortSide: 100_000), ClipSpec(window: 0.05, frames: 1024)] {
            #expect(throws: ClipSpecError.self, "\(spec.window) \(spec.stride) \(spec.frames) \(spec.size)") {
                try spec.validate()
            }
        }
        #expect(ClipSpec.shortSide(forCrop: 1 << 62) == Int.max)
        #expect(throws: Never.self) { try ClipSpec(window: 2, stride: 3600, frames: 1024, size: 112).validate() }
        #expect(throws: Never.self) { try ClipSpec(window: 0.05, stride: 0.05, frames: 50, size: 224).validate() }
        #expect(throws: Never.self) { try ClipSpec(window: 3600, stride: 0.05, frames: 1, size: 4096).validate() }
        #expect(ClipSpec.default.floatsPerClip == 8 * 3 * 224 * 224)
    }

    @Test func specRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(ClipSpec.default)
        #expect(try JSONDecoder().decode(ClipSpec.self, from: data) == ClipSpec.default)
    }
}

/// Resident set size of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}
