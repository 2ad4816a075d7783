import Foundation
import TestSupport
import Testing
@testable import Media

/// Test videos made with the `ffmpeg` command line, once per test process, in one temporary folder.
///
/// Index-encoding videos show frame n of the source as a flat grey of luma `16 + 4 * (n mod 50)`,
/// so a sampled frame tells which source frame it came from.
enum Fixtures {
    private static let lock = NSRecursiveLock()
    nonisolated(unsafe) private static var made: [String: String] = [:]
    static let directory: String = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vjsearch-media-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Fixtures.directory) }
        return url.path
    }()

    /// Path of fixture `name`, generating it with `ffmpeg arguments… <path>` the first time.
    static func make(_ name: String, _ arguments: [String]) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let path = made[name] { return path }
        let path = directory + "/" + name
        try run("ffmpeg", ["-nostdin", "-v", "error", "-y"] + arguments + [path])
        made[name] = path
        return path
    }

    /// Path of a fixture written by `body` into the fixture folder (once per process).
    static func write(_ name: String, _ body: (String) throws -> Void) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let path = made[name] { return path }
        let path = directory + "/" + name
        try body(path)
        made[name] = path
        return path
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        try Tool.run(tool, arguments)
    }


    static func greySource(rate: Int, seconds: Double, size: String = "64x48") -> String {
        "color=c=black:s=\(size):r=\(rate):d=\(seconds),geq=lum='16+4*mod(N\\,50)':cb=128:cr=128"
    }

    /// 25 fps, 4 s, libx264 defaults (B-frames), MP4.
    static func constantRate() throws -> String {
        try make("cfr.mp4", ["-f", "lavfi", "-i", greySource(rate: 25, seconds: 4), "-c:v", "libx264", "-crf", "12",
                             "-pix_fmt", "yuv420p"])
    }

    /// Variable rate: a 50 fps source of which frames n with n mod 25 < 5, and 100 ≤ n ≤ 130, are
    /// kept with their original times n / 50.
    static func variableRate() throws -> String {
        try make("vfr.mkv", ["-f", "lavfi", "-i", greySource(rate: 50, seconds: 4) + ",select='lt(mod(n\\,25)\\,5)+between(n\\,100\\,130)'",
                             "-fps_mode", "vfr", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p"])
    }
    static func variableRateKept(_ n: Int) -> Bool { n % 25 < 5 || (100...130).contains(n) }

    /// MPEG-TS whose timestamps start at 10 s (plus the muxer's delay), 25 fps.
    static func offsetStart() throws -> String {
        try make("offset.ts", ["-f", "lavfi", "-i", greySource(rate: 25, seconds: 4), "-c:v", "libx264", "-crf", "12",
                               "-pix_fmt", "yuv420p", "-output_ts_offset", "10"])
    }

    /// Raw H.264 elementary stream: no container timestamps at all.
    static func rawStream() throws -> String {
        try make("raw.h264", ["-f", "lavfi", "-i", greySource(rate: 25, seconds: 4), "-c:v", "libx264", "-crf", "12",
                              "-pix_fmt", "yuv420p"])
    }

    /// Left half black, right half white, 64×48, with the `rotate` tag set to `degrees` (FFmpeg 5.1
    /// turns the tag into a display matrix when stream-copying).
    static func halves(rotate degrees: Int) throws -> String {
        let base = try make("halves.mp4", [
            "-f", "lavfi", "-i", "color=c=white:s=64x48:r=10:d=1,drawbox=x=0:y=0:w=32:h=48:c=black:t=fill",
            "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        if degrees == 0 { return base }
        return try make("halves-\(degrees).mp4", ["-i", base, "-c", "copy", "-metadata:s:v:0", "rotate=\(degrees)"])
    }

    /// The first frame of `path` as FFmpeg shows it (auto-rotated), as a grey image, or with `rgb` as packed RGB24
    /// (3 bytes a pixel).
    static func ffmpegFrame(_ path: String, rgb: Bool = false) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        let out = directory + "/" + (path as NSString).lastPathComponent + (rgb ? ".ppm" : ".pgm")
        try run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", path, "-frames:v", "1", "-pix_fmt", rgb ? "rgb24" : "gray", out])
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        // "P5\n<w> <h>\n255\n" (P6 for RGB) then w*h bytes (w*h*3).
        var fields: [String] = [], current = "", i = 0
        while fields.count < 4 {
            let c = Character(UnicodeScalar(data[i])); i += 1
            if c.isWhitespace { if !current.isEmpty { fields.append(current); current = "" } } else { current.append(c) }
        }
        let w = Int(fields[1])!, h = Int(fields[2])!
        return (w, h, Array(data[i..<(i + w * h * (rgb ? 3 : 1))]))
    }

    /// `seconds` of 25 fps grey-index video with an AAC audio track.
    static func withAudio(seconds: Double = 1) throws -> String {
        try make("audio-video-\(seconds).mp4", [
            "-f", "lavfi", "-i", greySource(rate: 25, seconds: seconds), "-f", "lavfi", "-i", "sine=d=\(seconds)",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
    }

    /// A video of exactly `frames` frames at 25 fps.
    static func short(frames: Int) throws -> String {
        try make("short-\(frames).mp4", ["-f", "lavfi", "-i", greySource(rate: 25, seconds: 10), "-frames:v", "\(frames)",
                                         "-c:v", "libx264", "-pix_fmt", "yuv420p"])
    }

    /// Ten minutes of 64×64 video at 5 fps (3000 frames).
    static func long() throws -> String {
        try make("long.mp4", ["-f", "lavfi", "-i", "testsrc2=s=64x64:r=5:d=600", "-c:v", "libx264", "-preset", "ultrafast",
                              "-pix_fmt", "yuv420p"])
    }

    /// 25 fps, keyframe every 25 frames, 20 s: for seeking.
    static func keyframeEverySecond() throws -> String {
        try make("gop25.mp4", ["-f", "lavfi", "-i", greySource(rate: 25, seconds: 20), "-c:v", "libx264", "-crf", "12",
                               "-g", "25", "-keyint_min", "25", "-pix_fmt", "yuv420p"])
    }

    static func animatedGIF() throws -> String {
        try make("anim.gif", ["-f", "lavfi", "-i", "testsrc=s=64x48:r=5:d=2"])
    }

    static func stillPNG() throws -> String {
        try make("still.png", ["-f", "lavfi", "-i", "testsrc=s=64x48:d=1", "-frames:v", "1"])
    }

    static func audioOnly() throws -> String {
        try make("audio.m4a", ["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac"])
    }

    /// AAC audio with a PNG cover picture (an attached-picture video stream).
    static func audioWithCoverArt() throws -> String {
        let cover = try stillPNG()
        return try make("cover.m4a", ["-f", "lavfi", "-i", "sine=d=1", "-i", cover, "-map", "0", "-map", "1",
                                      "-c:a", "aac", "-c:v", "png", "-disposition:v:0", "attached_pic"])
    }

    /// MP4 with the movie header at the end (ffmpeg's default) or at the front (`faststart`).
    static func mp4(faststart: Bool) throws -> String {
        try make(faststart ? "faststart.mp4" : "moov-at-end.mp4", [
            "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-g", "25"] + (faststart ? ["-movflags", "+faststart"] : []))
    }

    /// The first `percent`% of the bytes of `source`.
    static func truncated(_ source: String, percent: Int) throws -> String {
        let name = "cut\(percent)-" + (source as NSString).lastPathComponent
        return try write(name) { path in
            let data = try Data(contentsOf: URL(fileURLWithPath: source))
            try data.prefix(data.count * percent / 100).write(to: URL(fileURLWithPath: path))
        }
    }
}

/// Luma level of the grey-index videos back to `n mod 50` from a normalised red value
/// (mean 0, std 1: value = R / 255 of the full-range RGB the scaler writes).
func greyIndex(_ value: Float) -> Int {
    let luma = Double(value) * 219 + 16
    return Int(((luma - 16) / 4).rounded())
}

/// Circular distance between two indices mod 50.
func mod50Distance(_ a: Int, _ b: Int) -> Int {
    let d = ((a - b) % 50 + 50) % 50
    return min(d, 50 - d)
}

/// Samples `path` at `rate` with a small crop, mean 0 and std 1; returns each sample and the mean
/// red value of its frame centre.
func sampleGrey(_ path: String, rate: Double, phase: Double = 0, options: FrameSampler.Options = .init(skipNonReference: false))
    throws -> (samples: [SampledFrame], grey: [Int], sampler: FrameSampler)
{
    let file = try MediaFile(path: path)
    let sampler = try FrameSampler(file: file, rate: rate, phase: phase, shortSide: 32, crop: 28,
                                   mean: [0, 0, 0], std: [1, 1, 1], options: options)
    var buffer = [Float](repeating: 0, count: sampler.floatsPerFrame)
    var samples: [SampledFrame] = []
    var grey: [Int] = []
    while let s = try buffer.withUnsafeMutableBufferPointer({ try sampler.next(into: $0) }) {
        samples.append(s)
        grey.append(greyIndex(buffer[14 * 28 + 14]))
    }
    return (samples, grey, sampler)
}
