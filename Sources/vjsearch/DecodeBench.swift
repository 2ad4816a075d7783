import ArgumentParser
import Foundation
import Media
import Neural

/// Hidden `decode-bench`: decode, sample, scale, crop and convert to float as fast as possible and
/// print the rate, for `Tools/bench/decode`.
struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode-bench", abstract: "Time the frame pipeline (for Tools/bench/decode).",
        shouldDisplay: false)

    @Argument var file: String
    @Option(help: "Samples per second, 0-1000; 0 takes every frame.") var fps: Double = 0
    @Option(help: "Decoder threads, 0-256 (0: automatic).") var threads: Int = 0
    @Option(help: "Crop size in pixels, 1-4096.") var size: Int = 224
    @Option(help: "Skip non-reference frames: auto, on or off.") var skip: String = "auto"
    @Flag(help: "Never seek.") var noSeek = false

    func validate() throws {
        if !(0...1000).contains(fps) { throw ValidationError("--fps must be between 0 and 1000") }
        try OptionCheck.count(threads, "--threads", in: 0...Neural.maxThreads)
        try OptionCheck.count(size, "--size", in: ClipSpec.sizeRange, unit: " pixels")
    }

    func run() throws {
        let skipNonReference: Bool? = switch skip { case "on": true; case "off": false; default: nil }
        do {
            let start = ContinuousClock.now
            let media = try MediaFile(path: file)
            let sampler = try FrameSampler(
                file: media, rate: fps, phase: 0, shortSide: ClipSpec.shortSide(forCrop: size), crop: size,
                options: .init(threads: threads, skipNonReference: skipNonReference, seek: !noSeek))
            var buffer = [Float](repeating: 0, count: sampler.floatsPerFrame)
            var count = 0
            var error = 0.0
            while let sample = try buffer.withUnsafeMutableBufferPointer({ try sampler.next(into: $0) }) {
                count += 1
                error += abs(sample.time - sample.target)
            }
            let elapsed = start.duration(to: .now)
            let secondsTaken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            print(String(format: "frames=%d decoded=%d seconds=%.3f fps=%.2f skip=%@ mean_abs_offset=%.4f",
                         count, sampler.framesDecoded, secondsTaken, Double(count) / secondsTaken,
                         sampler.skipsNonReference ? "on" : "off", count > 0 ? error / Double(count) : 0))
        } catch let error as MediaError {
            Diagnostics.error(error.description)
            throw ExitStatus.someFailed
        }
    }
}
