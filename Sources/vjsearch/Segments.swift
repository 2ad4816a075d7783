import ArgumentParser
import Catalog
import Foundation
import JEPA
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
            Defaults are the clip spec of the model (--model, else the default model), so --dump shows the \
            frames exactly as the model gets them.

            Examples:
              vjsearch segments talk.mp4
              vjsearch segments talk.mp4 --window 4 --stride 2 --json
              vjsearch segments talk.mp4 --dump frames/    # PNGs of the model's input

            """ + ExitStatus.pointer)

    @Argument(help: "The video file.", completion: .file())
    var file: String

    @OptionGroup var model: ModelOptions

    @OptionGroup var clip: ClipWindowOptions

    @Option(help: "Frames per clip, 1-1024 (default: the model's).")
    var frames: Int?

    @Option(help: "Crop size in pixels, 1-4096 (default: the model's input size); the short side is resized to size × 256/224 first.")
    var size: Int?

    @Flag(help: "One JSON object per clip and line.")
    var json = false

    @Option(help: ArgumentHelp("Write each clip's frames as PNG images, as the model sees them, into this folder.", valueName: "dir"))
    var dump: String?

    @Option(help: "Decoder threads, 0-256 (0: automatic).")
    var threads: Int = 0

    /// The model's clip spec (the default model's unless --model names another) with the options' overrides; a
    /// size of its own resizes the short side in the model's proportion.
    func spec() throws -> ClipSpec {
        let config = try ModelBundle(directory: try model.directory()).config.clip
        var spec = Embedder.clipSpec(config, window: clip.window, stride: clip.stride)
        if let frames { spec.frames = frames }
        if let size, size != spec.size {
            spec.resizeShortSide = max(size, Int((Double(size) * Double(config.resize) / Double(config.size)).rounded()))
            spec.size = size
        }
        return spec
    }

    func validate() throws {
        try OptionCheck.count(frames, "--frames", in: ClipSpec.framesRange)
        try OptionCheck.count(size, "--size", in: ClipSpec.sizeRange, unit: " pixels")
        try OptionCheck.count(threads, "--threads", in: 0...Neural.maxThreads)
    }

    private struct Line: Encodable {
        var file: String, index: Int, start: Double, end: Double, frameTimes: [Double]
    }

    func run() throws {
        let spec: ClipSpec
        do {
            spec = try self.spec()
        } catch {
            throw reportFailure(error)
        }
        do {
            // What the single ranges leave: a clip too large for memory (--frames 1024 with --size 4096).
            try spec.validate()
        } catch {
            throw ValidationError(error.description)
        }
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
                let name = String(format: "clip%05d-frame%02d.png", clip.index, i)
                try writePNG(frame: UnsafeBufferPointer(rebasing: all[i * per ..< (i + 1) * per]), size: spec.size,
                             mean: spec.mean, std: spec.std, to: directory + "/" + name)
            }
        }
    }
}
