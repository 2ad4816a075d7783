import ArgumentParser
import Foundation
import Media
import Neural

/// `vjsearch segments FILE`: the clip windows the model would see, with their frame times.
struct Segments: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the clip windows of a video with their frame timestamps.",
        discussion: """
            Frames are sampled every window/frames seconds; each window covers `frames` samples, \
            windows start every `stride` seconds (rounded to a whole sample step), and a last \
            window covers the tail. A damaged file lists the clips before the damage, then fails. \
            Defaults are the default model's clip spec.

            """ + ExitStatus.discussion)

    @Argument(help: "The video file.")
    var file: String

    @Option(help: "Window length in seconds, 0.05-3600.")
    var window: Double = ClipSpec.default.window

    @Option(help: "Seconds between window starts, 0.05-3600.")
    var stride: Double = ClipSpec.default.stride

    @Option(help: "Frames per clip, 1-1024.")
    var frames: Int = ClipSpec.default.frames

    @Option(help: "Crop size in pixels, 1-4096; the short side is resized to size × 256/224 first.")
    var size: Int = ClipSpec.default.size

    @Flag(help: "One JSON object per clip and line.")
    var json = false

    @Option(help: "Write each clip's frames as PPM images into this directory.")
    var dump: String?

    @Option(help: "Decoder threads, 0-256 (0: automatic).")
    var threads: Int = 0

    var spec: ClipSpec {
        ClipSpec(window: window, stride: stride, frames: frames, size: size)
    }

    func validate() throws {
        try OptionCheck.seconds(window, "--window")
        try OptionCheck.seconds(stride, "--stride")
        try OptionCheck.count(frames, "--frames", in: ClipSpec.framesRange)
        try OptionCheck.count(size, "--size", in: ClipSpec.sizeRange, unit: " pixels")
        try OptionCheck.count(threads, "--threads", in: 0...Neural.maxThreads)
        // What the single ranges leave: a clip too large for memory (--frames 1024 with --size 4096).
        do { try spec.validate() } catch { throw ValidationError(error.description) }
    }

    private struct Line: Encodable {
        var file: String, index: Int, start: Double, end: Double, frameTimes: [Double]
    }

    func run() throws {
        let spec = self.spec
        if let dump {
            do {
                try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true)
            } catch {
                Diagnostics.error("\(dump): cannot create directory")
                throw ExitStatus.someFailed
            }
        }
        do {
            let media = try MediaFile(path: file)
            let clips = try ClipStream(file: media, spec: spec, options: .init(threads: threads))
            var buffer = [Float](repeating: 0, count: clips.floatsPerClip)
            while let clip = try buffer.withUnsafeMutableBufferPointer({ try clips.next(into: $0) }) {
                if json {
                    print(JSONLines.encode(Line(file: file, index: clip.index, start: clip.start, end: clip.end,
                                                frameTimes: clip.frameTimes)))
                } else {
                    let times = clip.frameTimes.map { seconds($0) }.joined(separator: " ")
                    print("clip \(clip.index)  \(seconds(clip.start))-\(seconds(clip.end)) s  frames \(times)")
                }
                if let dump { try write(clip, buffer, to: dump, spec: spec) }
            }
            if clips.sampler.decodeErrors > 0 {
                Diagnostics.warning("\(file): \(clips.sampler.decodeErrors) damaged packets or frames skipped")
            }
        } catch let error as MediaError {
            Diagnostics.error(error.description)
            throw ExitStatus.someFailed
        }
    }

    private func write(_ clip: Clip, _ buffer: [Float], to directory: String, spec: ClipSpec) throws {
        let per = 3 * spec.size * spec.size
        try buffer.withUnsafeBufferPointer { all in
            for i in 0..<spec.frames {
                let name = String(format: "clip%05d-frame%02d.ppm", clip.index, i)
                try writePPM(frame: UnsafeBufferPointer(rebasing: all[i * per ..< (i + 1) * per]), size: spec.size,
                             mean: spec.mean, std: spec.std, to: directory + "/" + name)
            }
        }
    }
}
