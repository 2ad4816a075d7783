import Foundation
import Testing
import TestSupport

/// Runs the built `vjsearch` binary and checks what it prints and how it exits.
@Suite struct CommandLineTests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutLines: [Substring] { stdout.split(separator: "\n") }
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
    }

    /// The package root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let sample = root.appendingPathComponent("Samples/bigbuckbunny.mp4").path

    /// `vjsearch` next to the test bundle in the build products directory (`swift build
    /// --build-tests`, as `make test` runs it, links it).
    static func binary() throws -> String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products, products.deletingLastPathComponent()].map { $0.appendingPathComponent("vjsearch").path }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(description: "no vjsearch binary in \(candidates); run `swift build --build-tests` first")
        }
        return found
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Runs `executable arguments…` and kills it after `timeout` seconds; `environment` adds to (or, with nil
    /// values, removes from) the test's own.
    static func run(_ arguments: [String], prefix: [String] = [], environment: [String: String?] = [:],
                    timeout: Double = 60) throws -> Result {
        let process = Process()
        let command = prefix + [try binary()] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (key, value) in environment { merged[key] = value }
            process.environment = merged
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let watchdog = DispatchWorkItem { process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The exit-status table is in `vjsearch --help` only; every user command's help shows examples instead; the
    /// developer commands are left out of the listings but still run.
    @Test func helpTeachesByExampleAndListsTheExitStatusesOnce() throws {
        let root = try Self.run(["--help"])
        #expect(root.stdout.contains("Exit status: 0 all inputs succeeded"))
        for command in ["index", "watch", "query", "chapters", "classify", "ask", "status", "remove", "verify", "repair",
                        "reindex", "probe", "segments", "thumbnail", "serve", "model", "library migrate"] {
            let help = try Self.run(command.split(separator: " ").map(String.init) + ["--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Examples:"), "\(command) --help shows no example")
            #expect(!help.stdout.contains("64 usage error"), "\(command) --help repeats the exit-status table")
            #expect(help.stdout.contains("\n\nExit status"), "\(command) --help has no exit status after a blank line")
            #expect(help.stdout.replacingOccurrences(of: "\n", with: " ").contains("the others are listed in `vjsearch --help`."))
            // An example line too long for 80 columns is wrapped by the parser onto an unindented line.
            let examples = help.stdout.components(separatedBy: "Examples:\n").last?.components(separatedBy: "\n\nExit status").first ?? ""
            let wrapped = examples.split(separator: "\n").filter {
                !$0.hasPrefix("  ") && !$0.hasPrefix("prints") && !$0.hasPrefix("and on stderr")
            }
            #expect(wrapped.isEmpty, "\(command) --help wraps an example: \(wrapped)")
        }
        let model = try Self.run(["model", "--help"]).stdout
        for hidden in ["embed-video", "embed-texts", "stamp", "bench", "  embed "] {
            #expect(!model.contains(hidden), "model --help lists \(hidden)")
        }
        #expect(!root.stdout.contains("decode-bench") && !root.stdout.contains("debug"))
        #expect(try Self.run(["model", "embed-texts", "--help"]).status == 0)
    }

    @Test func ffmpegLoadsOnlyWhenVideoIsRead() throws {
        // The dynamic loader logs every library it opens (LD_DEBUG=files, to LD_DEBUG_OUTPUT.<pid>): a command
        // that reads no video must not pay for FFmpeg's ~150 libraries, and one that does must get them.
        func librariesOpened(_ arguments: [String]) throws -> String {
            let dir = try TemporaryDirectory()
            let r = try Self.run(arguments, prefix: ["/usr/bin/env", "LD_DEBUG=files", "LD_DEBUG_OUTPUT=\(dir.path)/ld"])
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            let logs = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            return try logs.map { try String(contentsOfFile: dir.path + "/" + $0, encoding: .utf8) }.joined()
        }
        let idle = try librariesOpened(["--version"])
        #expect(idle.contains("libopenblas"), "no loader log: \(idle.prefix(200))")
        #expect(!idle.contains("libavformat"))
        #expect(try librariesOpened(["probe", Self.sample]).contains("libavformat.so"))
    }

    @Test func probeAGoodFile() throws {
        let r = try Self.run(["probe", Self.sample])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        #expect(r.stdoutLines.count == 1)
        #expect(r.stdout.contains("h264  1280x720  rotation 0  25.00 fps"))
        #expect(r.stdout.contains("5.312 s") && r.stdout.contains("  audio"))
    }

    @Test func probeContinuesPastABadFile() throws {
        let dir = try TemporaryDirectory()
        let bad = dir.file("notes.mp4").path
        try Data("not a video\n".utf8).write(to: URL(fileURLWithPath: bad))
        let r = try Self.run(["probe", "--json", bad, Self.sample, dir.path])
        #expect(r.status == 1)
        #expect(r.stderrLines == ["error: \(bad): not a media file", "error: \(dir.path): not a regular file (a directory)"])
        let line = try #require(r.stdoutLines.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["width"] as? Int == 1280 && object["height"] as? Int == 720)
        #expect(object["video_codec"] as? String == "h264" && object["has_audio"] as? Bool == true)
        #expect(r.stdoutLines.count == 1)
    }

    @Test func segmentsOfTheSample() throws {
        let r = try Self.run(["segments", Self.sample, "--window", "2", "--stride", "1", "--frames", "8"])
        #expect(r.status == 0)
        #expect(r.stdoutLines.count == 5)  // 5.3 s: windows at 0, 1, 2, 3 and a tail window
        #expect(r.stdoutLines.first?.hasPrefix("clip 0  0.000-2.000 s  frames ") == true)
    }

    @Test func segmentsAsJSONWithDumpedFrames() throws {
        let dir = try TemporaryDirectory()
        let r = try Self.run(["segments", Self.sample, "--json", "--frames", "4", "--size", "64", "--dump", dir.path])
        #expect(r.status == 0)
        #expect(r.stdoutLines.count == 5)
        for line in r.stdoutLines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["frame_times"] as? [Double])?.count == 4)
            #expect(object["file"] as? String == Self.sample)
        }
        let images = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(images.count == 5 * 4)
        // FFmpeg's own PNG decoder (checking chunk CRCs) reads back a 64 × 64 RGB picture with something in it.
        let png = dir.file("clip00000-frame00.png").path
        let decoded = try Self.ffmpegRGB(png)
        #expect(decoded.count == 64 * 64 * 3)
        #expect(Set(decoded).count > 10, "a blank frame")
    }

    /// `--dump` without --size writes the model's input size (the default model's 64 px), not a fixed 224.
    @Test func dumpedFramesAreTheModelsInputSize() throws {
        let dir = try TemporaryDirectory()
        let r = try Self.run(["segments", Self.sample, "--dump", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let header = try Data(contentsOf: dir.file("clip00000-frame00.png")).prefix(24)
        #expect(header.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        #expect(Array(header[16..<24]) == [0, 0, 0, 64, 0, 0, 0, 64], "width and height")
        #expect(try Self.ffmpegRGB(dir.file("clip00000-frame00.png").path).count == 64 * 64 * 3)
    }

    /// The RGB bytes FFmpeg decodes from an image, or an error when it cannot (a bad CRC counts as one).
    static func ffmpegRGB(_ path: String) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-nostdin", "-v", "error", "-err_detect", "crccheck+explode", "-i", path, "-f", "rawvideo",
                       "-pix_fmt", "rgb24", "-"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: "ffmpeg could not decode \(path)") }
        return Array(bytes)
    }

    @Test func dumpNeverWritesThroughAPlantedLink() throws {
        let dir = try TemporaryDirectory()
        let dump = dir.file("dump")
        try FileManager.default.createDirectory(at: dump, withIntermediateDirectories: true)
        let victim = dir.file("victim.txt")
        try Data("keep me".utf8).write(to: victim)
        let planted = dump.appendingPathComponent("clip00001-frame00.png").path
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: victim.path)
        // An older dump of another name is replaced, as a re-run expects.
        try Data("old".utf8).write(to: dump.appendingPathComponent("clip00000-frame00.png"))

        let r = try Self.run(["segments", Self.sample, "--frames", "4", "--size", "64", "--dump", dump.path])
        #expect(r.status == 1)
        #expect(r.stderrLines == ["error: \(planted): exists and is not a plain file with one name (a symbolic link, a folder, a hard link); not overwritten"],
                "\(r.stderr)")
        #expect(try String(contentsOf: victim, encoding: .utf8) == "keep me")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: planted) == victim.path)
        let replaced = try Data(contentsOf: dump.appendingPathComponent("clip00000-frame00.png"))
        #expect(replaced.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    /// A name that is not UTF-8, given on the command line (not found by a scan): Swift would decode it with
    /// replacement characters and report it missing; it is named by its bytes, and the other arguments still run.
    @Test func anArgumentThatIsNotUTF8IsNamedByItsBytes() throws {
        let dir = try TemporaryDirectory()
        // Foundation passes arguments as Swift strings, so a shell makes the name from its bytes.
        let script = #"f="$(printf '%s/bad\377\001.mp4' "$1")"; cp "$2" "$f" && exec "$0" probe "$f" "$2""#
        let r = try Self.run([dir.path, Self.sample], prefix: ["/bin/sh", "-c", script])
        #expect(r.status == 1)
        #expect(r.stderrLines == ["error: \(dir.path)/bad\\xff\\x01.mp4: the name is not valid UTF-8; rename it (vjsearch reads UTF-8 names only)"],
                "\(r.stderr)")
        #expect(r.stdoutLines.count == 1 && r.stdoutLines.first?.hasPrefix(Self.sample) == true, "\(r.stdout)")
    }

    @Test func segmentsOfABadFile() throws {
        let dir = try TemporaryDirectory()
        let empty = dir.file("empty.mp4").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let r = try Self.run(["segments", empty])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderrLines == ["error: \(empty): empty file"])
    }

    @Test func truncatedFileFailsWithOneLine() throws {
        let dir = try TemporaryDirectory()
        let cut = dir.file("cut.mp4").path
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.sample))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        let r = try Self.run(["segments", cut])
        #expect(r.status == 1)
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.hasPrefix("error: \(cut): truncated or corrupt data"))
    }

    @Test func aFIFOIsRefusedWithoutHanging() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.file("pipe.mp4").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let r = try Self.run(["probe", fifo], timeout: 20)
        #expect(r.status == 1)
        #expect(r.stderrLines == ["error: \(fifo): not a regular file (a FIFO)"])
    }

    /// As root, permissions do not stop reads, so the binary runs as `nobody` via `setpriv`.
    @Test func unreadableFile() throws {
        let dir = try TemporaryDirectory()
        chmod(dir.path, 0o755)
        let locked = dir.file("locked.mp4").path
        try FileManager.default.copyItem(atPath: Self.sample, toPath: locked)
        #expect(chmod(locked, 0) == 0)
        let prefix = geteuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        let r = try Self.run(["probe", locked], prefix: prefix)
        #expect(r.status == 1)
        #expect(r.stderrLines == ["error: \(locked): permission denied"])
    }

    @Test(arguments: [["segments", "--frames", "0"], ["segments", "--window", "-1"], ["probe"], ["segments", "--size", "x"]])
    func usageErrorsExit64(arguments: [String]) throws {
        let r = try Self.run(arguments + (arguments.count > 1 ? [Self.sample] : []))
        #expect(r.status == 64)
        #expect(r.stdout.isEmpty)
    }
}
