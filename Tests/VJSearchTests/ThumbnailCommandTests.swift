import Foundation
import Testing
import TestSupport

/// `vjsearch thumbnail FILE@SECONDS`: writes the JPEG, names it after the file and the time without -o, refuses
/// symbolic links at the output, and maps misuse to status 64 and failing files to status 1.
@Suite struct ThumbnailCommandTests {
    typealias Result = CommandLineTests.Result

    /// `vjsearch thumbnail arguments…` run in `folder` (GNU env's -C), so that the default output lands there.
    static func thumbnail(_ arguments: [String], in folder: TemporaryDirectory) throws -> Result {
        try CommandLineTests.run(["thumbnail"] + arguments, prefix: ["/usr/bin/env", "-C", folder.path], timeout: 30)
    }

    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

    @Test func writesFileAtSecondsDotJPGHereByDefault() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-thumbnail")
        let r = try Self.thumbnail([CommandLineTests.sample + "@2.5"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "bigbuckbunny@2.5.jpg\n")
        #expect(r.stderr.isEmpty)
        let jpeg = try Self.bytes(dir.file("bigbuckbunny@2.5.jpg"))
        #expect(JPEG.isWhole(jpeg))
        let sof = try #require(JPEG.startOfFrame(jpeg))
        #expect(sof.marker == 0xC0 && sof.width == 320 && sof.height == 180)
    }

    @Test func outputAndWidth() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-thumbnail")
        // The last @ separates the time: a file name may contain @.
        let named = dir.file("clip@home.mp4")
        try FileManager.default.copyItem(atPath: CommandLineTests.sample, toPath: named.path)
        let out = dir.file("cover.jpg")
        let r = try Self.thumbnail([named.path + "@4", "-o", out.path, "--width", "640"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == out.path + "\n")
        let sof = try #require(JPEG.startOfFrame(try Self.bytes(out)))
        #expect(sof.width == 640 && sof.height == 360)
    }

    @Test func replacesAPlainFileButRefusesASymbolicLink() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-thumbnail")
        let plain = dir.file("old.jpg")
        try Data("old".utf8).write(to: plain)
        let replaced = try Self.thumbnail([CommandLineTests.sample + "@1", "-o", plain.path], in: dir)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(JPEG.isWhole(try Self.bytes(plain)))

        // A link planted at the default name and at an -o path, pointing to a file of the user's.
        let victim = dir.file("notes.txt")
        try Data("keep me".utf8).write(to: victim)
        for (arguments, link) in [([CommandLineTests.sample + "@1"], "bigbuckbunny@1.jpg"),
                                  ([CommandLineTests.sample + "@1", "-o", "out.jpg"], "out.jpg")] {
            try FileManager.default.createSymbolicLink(atPath: dir.file(link).path, withDestinationPath: victim.path)
            let r = try Self.thumbnail(arguments, in: dir)
            #expect(r.status == 1, "\(arguments): \(r.stderr)")
            #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: \(link): exists and is not a plain file"), "\(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(try String(contentsOf: victim, encoding: .utf8) == "keep me")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.file(link).path) == victim.path)
        }
    }

    @Test(arguments: [
        (["talk.mp4"], "file@seconds: no @ in 'talk.mp4'"),
        (["@3"], "file@seconds: no file before the @"),
        (["talk.mp4@"], "file@seconds: '' is not a time in seconds"),
        (["talk.mp4@1:30"], "file@seconds: '1:30' is not a time in seconds"),
        (["talk.mp4@-1"], "file@seconds: '-1' is not a time in seconds"),
        (["talk.mp4@nan"], "file@seconds: 'nan' is not a time in seconds"),
        (["talk.mp4@inf"], "file@seconds: 'inf' is not a time in seconds"),
        (["talk.mp4@1", "--width", "15"], "--width must be between 16 and 4096 pixels"),
        (["talk.mp4@1", "--width", "4097"], "--width must be between 16 and 4096 pixels"),
        (["talk.mp4@1", "--width=-9223372036854775808"], "--width must be between 16 and 4096 pixels"),
        (["talk.mp4@1", "-o", ""], "-o/--output: the file name is empty"),
    ])
    func misuseIsStatus64(arguments: [String], message: String) throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-thumbnail")
        let r = try Self.thumbnail(arguments, in: dir)
        #expect(r.status == 64, "\(arguments): status \(r.status), \(r.stderr)")
        #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// As for `ask --at`: a time the video does not reach is wrong for that input only, a usage error naming the end.
    @Test func aTimePastTheEndIsStatus64() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-thumbnail")
        let r = try Self.thumbnail([CommandLineTests.sample + "@99"], in: dir)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.hasPrefix("error: \(CommandLineTests.sample): no frame at 99.0 s: the video ends at "), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func failingFilesAreStatus1() throws {
        let dir = try TemporaryDirectory(prefix: "vjsearch-thumbnail")
        let text = dir.file("notes.mp4")
        try String(repeating: "Meeting notes, not a video.\n", count: 100).write(to: text, atomically: false, encoding: .utf8)
        let cases = [(text.path, "not a media file"), (dir.file("missing.mp4").path, "no such file")]
        for (path, cause) in cases {
            let r = try Self.thumbnail([path + "@1"], in: dir)
            #expect(r.status == 1, "\(path): \(r.stderr)")
            #expect(r.stderr == "error: \(path): \(cause)\n")
            #expect(r.stdout.isEmpty)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["notes.mp4"])
    }

    /// The help teaches by example like every user command's; no example line wraps at 80 columns.
    @Test func helpShowsExamples() throws {
        let help = try CommandLineTests.run(["thumbnail", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Examples:"))
        #expect(help.stdout.replacingOccurrences(of: "\n", with: " ").contains("the others are listed in `vjsearch --help`."))
        let examples = help.stdout.components(separatedBy: "Examples:\n").last?.components(separatedBy: "\n\nExit status").first ?? ""
        let lines = examples.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("  ") && $0.count <= 80 }, "\(lines)")
    }
}
