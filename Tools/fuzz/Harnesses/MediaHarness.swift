import Foundation
import Media

/// `media`: the bytes written to a file (FFmpeg opens paths), opened with `MediaFile` and cut into a few clips
/// with `ClipStream`, the calls `Ingestor` and `vjsearch segments` make.
///
/// The clip spec is small (two 16 × 16 frames a second) and decoding stops after four clips, so each input
/// costs milliseconds; one decoder thread keeps a run deterministic.
/// - Returns: whether the file opened and gave at least one clip.
@discardableResult
public func fuzzMedia(_ input: UnsafeRawBufferPointer) -> Bool {
    let path = Scratch.write(input, to: "input.mp4")
    do {
        let file = try MediaFile(path: path)
        let stream = try ClipStream(file: file, spec: mediaSpec, options: FrameSampler.Options(threads: 1))
        var buffer = [Float](repeating: 0, count: stream.floatsPerClip)
        var clips = 0
        while clips < 4, let clip = try buffer.withUnsafeMutableBufferPointer({ b throws(MediaError) in try stream.next(into: b) }) {
            precondition(clip.frameTimes.count == mediaSpec.frames, "clip of \(clip.frameTimes.count) frames")
            precondition(clip.start.isFinite && clip.end.isFinite, "clip times not finite")
            clips += 1
        }
        _ = stream.sampler.endTime
        _ = file.info.duration
        return clips > 0
    } catch {
        return false
    }
}

let mediaSpec = ClipSpec(window: 1, stride: 1, frames: 2, size: 16)
