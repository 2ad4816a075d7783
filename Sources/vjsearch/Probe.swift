import ArgumentParser
import Catalog
import Media

/// `vjsearch probe FILE… [--json]`: what the headers say about each file.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show container, duration, video codec, size, rotation, frame rates and audio presence.",
        discussion: """
            Continues past files that fail.

            Examples:
              vjsearch probe talk.mp4
              vjsearch probe ~/Videos/*.mkv --json

            """ + ExitStatus.pointer)

    @Argument(help: "Media files to probe.", completion: .file())
    var files: [String]

    @Flag(help: "One JSON object per file and line.")
    var json = false

    func run() throws {
        var failed = false
        for path in files {
            do {
                let info = try MediaFile.probe(path)
                print(json ? JSONLines.encode(info) : Probe.line(info))
            } catch {
                Diagnostics.error(error.description)
                failed = true
            }
        }
        if failed { throw ExitStatus.someFailed }
    }

    static func line(_ info: MediaInfo) -> String {
        let fps = "\(seconds(info.averageFrameRate, decimals: 2)) fps (real \(seconds(info.realFrameRate, decimals: 2)))"
        return [
            info.path.escapingControlCharacters, info.container, "\(seconds(info.duration)) s", info.videoCodec,
            "\(info.width)x\(info.height)", "rotation \(info.rotation)", fps,
            info.hasAudio ? "audio" : "no audio",
        ].joined(separator: "  ")
    }
}
