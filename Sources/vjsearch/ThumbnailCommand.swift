import ArgumentParser
import Foundation
import Media

/// `vjsearch thumbnail FILE@SECONDS [-o out.jpg] [--width 320]`: the frame shown at a time, as a JPEG.
struct ThumbnailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thumbnail",
        abstract: "Write the frame a video shows at a time as a JPEG image.",
        discussion: """
            FILE@SECONDS names the video and the time in seconds from its start (as `segments` and \
            `query --json` print times); the last @ separates them, so file names may contain @. The \
            frame is the one a player shows then, upright, scaled to --width pixels with the video's \
            aspect ratio. Without -o the image goes to <file's name without extension>@<seconds>.jpg in \
            the current folder; the path written is printed. A plain file already at the output path is replaced; a symbolic link \
            or a file with other hard links there is refused, never written through. A time past the \
            end of the video is a usage error, as for `ask --at`.

            Examples:
              vjsearch thumbnail talk.mp4@12.5          # writes talk@12.5.jpg
              vjsearch thumbnail talk.mp4@754 -o cover.jpg --width 640

            """ + ExitStatus.pointer)

    @Argument(help: ArgumentHelp("The video and the time in seconds, e.g. talk.mp4@12.5.", valueName: "file@seconds"),
              completion: .file())
    var moment: String

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "The JPEG file to write (default: <file's name>@<seconds>.jpg here).", valueName: "file"), completion: .file())
    var output: String?

    @Option(help: "Width in pixels, 16-4096; the height follows the aspect ratio.")
    var width: Int = 320

    func validate() throws {
        _ = try FileMoment(moment)
        try OptionCheck.count(width, "--width", in: Thumbnail.widthRange, unit: " pixels")
        if output?.isEmpty == true { throw ValidationError("-o/--output: the file name is empty") }
    }

    func run() throws {
        let moment = try FileMoment(self.moment)
        let path = output ?? moment.defaultOutput
        do {
            let jpeg = try Thumbnail.jpeg(path: moment.file, at: moment.seconds, width: width, threads: 0)
            try writeImage(jpeg, to: path)
            print(path.escapingControlCharacters)
        } catch {
            // The do block throws MediaError only (typed); `catch let error as MediaError` crashes Swift 6.3.1's SIL.
            if case .timeOutOfRange = error.reason { throw reportFailure(UsageError(error.description)) }
            throw reportFailure(error)
        }
    }
}

/// A FILE@SECONDS argument (`thumbnail`, `query --like`) split at its last `@` into the file and the time, as
/// typed and as a number; `name` is how errors call the argument.
struct FileMoment: Equatable {
    var file: String
    var secondsText: String
    var seconds: Double

    init(_ argument: String, name: String = "file@seconds") throws {
        guard let at = argument.lastIndex(of: "@") else {
            throw ValidationError("\(name): no @ in '\(argument)'; write the time after the file, e.g. talk.mp4@12.5")
        }
        file = String(argument[..<at])
        secondsText = String(argument[argument.index(after: at)...])
        guard !file.isEmpty else { throw ValidationError("\(name): no file before the @ in '\(argument)'") }
        guard let value = Double(secondsText), value.isFinite, value >= 0 else {
            throw ValidationError("\(name): '\(secondsText)' is not a time in seconds (0 or more), e.g. talk.mp4@12.5")
        }
        seconds = value
    }

    /// `<name without extension>@<seconds as typed>.jpg`, in the current folder.
    var defaultOutput: String {
        let name = (file as NSString).lastPathComponent
        return (name as NSString).deletingPathExtension + "@" + secondsText + ".jpg"
    }
}
