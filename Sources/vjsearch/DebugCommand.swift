import ArgumentParser
import Catalog
import Foundation
import JEPA
import VectorIndex

/// `vjsearch debug …`: internal tools for benchmarks and tests (hidden).
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Internal tools for benchmarks and tests.", shouldDisplay: false,
        subcommands: [FillLibrary.self, DumpStream.self])

    /// Fills a library with fake videos whose segments carry random unit vectors (for `Tools/bench/query`).
    struct FillLibrary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fill-library", abstract: "Add fake videos with random unit vectors to a library.")

        @OptionGroup var library: LibraryOptions
        @OptionGroup var model: ModelOptions

        @Option(help: "Fake videos to add.") var videos = 100
        @Option(help: "Segments per fake video (one per second).") var segments = 1000
        @Option(help: "Random seed.") var seed: UInt64 = 1
        @Option(help: "Vector storage of a new library (f32 or int8).") var vectors: VectorStorage?

        func run() async throws {
            let libraryPath = library.path
            let (count, perVideo, seed, storage) = (videos, segments, seed, vectors)
            do {
                let directory = try model.directory()
                try await onThread {
                    let bundle = try ModelBundle(directory: directory)
                    let lock = try LibraryLock(library: libraryPath, wait: true)
                    defer { withExtendedLifetime(lock) {} }
                    let library = try Library(path: libraryPath, model: ModelIdentity(id: bundle.modelID, dimension: bundle.config.sharedDim),
                                              create: true, storage: storage)
                    var rng = SplitMix(seed: seed)
                    let d = bundle.config.sharedDim
                    for v in 0..<count {
                        var vectors = [Float](repeating: 0, count: perVideo * d)
                        // Random directions around a per-video centre, so videos form clusters as real ones do.
                        let centre = (0..<d).map { _ in rng.gaussian() }
                        for s in 0..<perVideo {
                            var norm: Float = 0
                            for j in 0..<d {
                                let x = centre[j] + 0.7 * rng.gaussian()
                                vectors[s * d + j] = x
                                norm += x * x
                            }
                            let inv = 1 / norm.squareRoot()
                            for j in 0..<d { vectors[s * d + j] *= inv }
                        }
                        let segments = (0..<perVideo).map { Segment(start: Double($0), end: Double($0) + 2) }
                        try library.commit(path: String(format: "/fake/video-%06d-%llu.mp4", v, seed),
                                           fingerprint: Fingerprint(size: UInt64(v), hash: seed), mtime: 0,
                                           duration: Double(perVideo + 1), segments: segments, vectors: vectors, replacing: [])
                        if isatty(2) != 0 { FileHandle.standardError.write(Data("\r\(v + 1)/\(count) videos".utf8)) }
                    }
                    if isatty(2) != 0 { FileHandle.standardError.write(Data("\n".utf8)) }
                }
            } catch {
                throw reportFailure(error)
            }
            print("added \(count) videos of \(perVideo) segments")
        }
    }
}

/// Writes the stored clip stream of one indexed video as files a script can read (for `Tools/bench/chapters`):
/// `PREFIX.fvecs` (one vector per clip, in time order) and `PREFIX.segments` (one `start end` line per clip, seconds).
extension DebugCommand {
    struct DumpStream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dump-stream", abstract: "Write an indexed video's clip vectors and windows to files.")

        @Argument(help: "The indexed video file.") var file: String
        @OptionGroup var library: LibraryOptions
        @Option(help: "Path prefix of the files written.") var out: String

        func run() async throws {
            let (path, libraryPath, out) = (LibraryOptions.absolute(file), library.path, out)
            do {
                let count = try await onThread { () -> Int in
                    let library = try Library(path: libraryPath, model: nil, create: false)
                    guard let stream = try library.storedStream(path: path) else {
                        throw ValidationError("\(path): not in the library \(libraryPath)")
                    }
                    var vectors = Data()
                    let d = stream.dimension
                    for i in stream.segments.indices {
                        withUnsafeBytes(of: Int32(d).littleEndian) { vectors.append(contentsOf: $0) }
                        stream.vectors[i * d ..< (i + 1) * d].withUnsafeBytes { vectors.append(contentsOf: $0) }
                    }
                    try vectors.write(to: URL(fileURLWithPath: out + ".fvecs"))
                    let lines = stream.segments.map { "\($0.start) \($0.end)\n" }.joined()
                    try Data(lines.utf8).write(to: URL(fileURLWithPath: out + ".segments"))
                    return stream.segments.count
                }
                print("wrote \(count) clips to \(out).fvecs and \(out).segments")
            } catch {
                throw reportFailure(error)
            }
        }
    }
}

/// A small, seedable generator (SplitMix64) with a Box–Muller normal.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func gaussian() -> Float {
        let u = Float.random(in: Float.ulpOfOne..<1, using: &self), v = Float.random(in: 0..<1, using: &self)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
