import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// `vjsearch serve` as a user runs it: the built binary on a free port over a library of a sample reel, talked to
/// over HTTP; a token off loopback; requests answered while `vjsearch index` writes; SIGTERM ends it with status 0.
@Suite(.serialized) struct ServeCommandTests {
    let dir: TemporaryDirectory
    let library: String

    init() throws {
        dir = try TemporaryDirectory(prefix: "vjsearch-serve")
        library = dir.file("library").path
        let r = try CommandLineTests.run(["index", Self.reel(1),
                                          "--library", library, "--progress", "none"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// The running server and where it listens (read from its `serving … url=` log line).
    final class Server: @unchecked Sendable {
        let process = Process()
        /// The server's stderr so far, filled as it arrives, and whether it has ended; `arrived` is signalled after
        /// each piece and at the end, `ended` at the end.
        private let output = Mutex((text: "", closed: false))
        private let arrived = DispatchSemaphore(value: 0)
        private let ended = DispatchSemaphore(value: 0)
        var url = ""

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: try CommandLineTests.binary())
            process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            let pipe = Pipe()
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
            pipe.fileHandleForReading.readabilityHandler = { [weak self, arrived, ended] handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    self?.output.withLock { $0.closed = true }
                    ended.signal()
                } else {
                    self?.output.withLock { $0.text += String(decoding: data, as: UTF8.self) }
                }
                arrived.signal()
            }
            try process.run()
            // Waits on each piece of output (or its end) until the complete `serving … url=` line is there.
            let deadline = DispatchTime.now() + 60
            while arrived.wait(timeout: deadline) == .success {
                let lines = log.split(separator: "\n", omittingEmptySubsequences: false).dropLast()  // whole lines only
                if let line = lines.first(where: { $0.contains(" serving ") }), let range = line.range(of: "url=") {
                    url = String(line[range.upperBound...].split(separator: " ")[0]).replacingOccurrences(of: "\"", with: "")
                    return
                }
                if output.withLock({ $0.closed }) { break }  // it ended without serving
            }
            throw ServeError(description: "serve did not start: \(log)")
        }

        var log: String { output.withLock { $0.text } }

        /// Waits on each piece of output until the log contains `text`; false when it ends or `timeout` passes first.
        func waitForLog(containing text: String, timeout: Double) -> Bool {
            let deadline = DispatchTime.now() + timeout
            while !log.contains(text) {
                if output.withLock({ $0.closed }) || arrived.wait(timeout: deadline) == .timedOut { return log.contains(text) }
            }
            return true
        }

        /// A test that failed before `stop()` leaves no server behind.
        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }

        /// Base URL without the token query.
        var base: String { url.trimmingSuffix("/") }

        /// SIGTERM, then the exit status once the process and its output have ended.
        func stop() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            _ = ended.wait(timeout: .now() + 10)
            return process.terminationStatus
        }
    }

    static func reel(_ n: Int) -> String {
        CommandLineTests.root.appendingPathComponent("Samples/synth/samples_00000\(n).mp4").path
    }

    struct ServeError: Error, CustomStringConvertible { let description: String }

    /// GET `url`: status and body.
    static func get(_ url: String, headers: [String: String] = [:]) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!)
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, data)
    }

    @Test func servesSearchesAndStopsOnSIGTERM() async throws {
        let server = try Server(["--library", library])
        #expect(server.url.hasPrefix("http://127.0.0.1:") && !server.log.contains("token"))
        let (status, body) = try await Self.get(server.base + "/api/search?q=three+red+balls+move+down&top=1")
        #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
        let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        let top = try #require((object["moments"] as? [[String: Any]])?.first)
        // The event lasts 6.5–10.9 s (Samples/synth/samples.jsonl).
        let start = try #require(top["start"] as? Double)
        #expect((top["path"] as? String)?.hasSuffix("samples_000001.mp4") == true && abs(start - 6.5) < 1)
        // One log line per request, with its time.
        #expect(server.log.contains("request method=GET ms=") || server.log.contains("path=/api/search"), "\(server.log)")
        // A 100 kB query never reaches the API: the HTTP parser refuses it with 400.
        let long = String(repeating: "a", count: 100_000)
        let (tooLong, _) = try await Self.get(server.base + "/api/search?q=" + long)
        #expect(tooLong == 400 || tooLong == 413 || tooLong == 431, "\(tooLong)")
        #expect(server.stop() == 0, "\(server.log)")
    }

    @Test func offLoopbackATokenIsMadeAndRequired() async throws {
        let server = try Server(["--library", library, "--listen", "0.0.0.0:0"], environment: ["VJSEARCH_TOKEN": ""])
        let line = try #require(server.log.split(separator: "\n").first { $0.hasPrefix("token: ") })
        let token = String(line.dropFirst(7).prefix { $0 != " " })
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit), "\(line)")
        #expect(!server.log.split(separator: "\n").contains { $0.contains(" info ") && $0.contains(token) }, "the token is in the log")
        let base = server.base.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
        #expect(try await Self.get(base + "/api/status").0 == 401)
        #expect(try await Self.get(base + "/api/status", headers: ["Authorization": "Bearer \(token)x"]).0 == 401)
        #expect(try await Self.get(base + "/api/status", headers: ["Authorization": "Bearer \(token)"]).0 == 200)
        #expect(server.stop() == 0)
        // --token and $VJSEARCH_TOKEN are taken as given.
        let given = try Server(["--library", library, "--listen", "0.0.0.0:0"], environment: ["VJSEARCH_TOKEN": "from-the-environment-0123"])
        #expect(given.log.contains("token: from-the-environment-0123 "))
        #expect(given.stop() == 0)
    }

    /// `index` writes two more videos while searches run: every request is answered, and the new videos are
    /// found once committed, without restarting the server.
    @Test func requestsAreAnsweredWhileIndexWrites() async throws {
        let server = try Server(["--library", library])
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: try CommandLineTests.binary())
        writer.arguments = ["index", Self.reel(0),
                            Self.reel(2), "--library", library, "--progress", "none"]
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        var answered = 0, failed: [Int] = []
        while writer.isRunning || answered < 10 {
            let (status, _) = try await Self.get(server.base + "/api/search?q=a+red+star+falls&top=5")
            if status == 200 { answered += 1 } else { failed.append(status) }
        }
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0 && failed.isEmpty, "\(failed)")
        let (_, body) = try await Self.get(server.base + "/api/search?q=a+red+star+falls&top=1")
        let top = try #require(((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["moments"] as? [[String: Any]])?.first)
        #expect((top["path"] as? String)?.hasSuffix("samples_000000.mp4") == true, "\(top)")
        #expect(server.stop() == 0)
    }

    @Test(arguments: [["--listen", "nowhere"], ["--listen", "127.0.0.1:70000"], ["--workers", "0"], ["--token", "short"]])
    func badOptionsAreUsageErrors(arguments: [String]) throws {
        let r = try CommandLineTests.run(["serve", "--library", library] + arguments)
        #expect(r.status == 64, "\(arguments): \(r.stderr)")
    }

    @Test func aPortInUseIsOneLine() throws {
        let first = try Server(["--library", library])
        let port = first.base.split(separator: ":").last.map(String.init) ?? ""
        let r = try CommandLineTests.run(["serve", "--library", library, "--listen", "127.0.0.1:\(port)"])
        #expect(r.status == 1 && r.stderr.contains("127.0.0.1:\(port)") && r.stderr.contains("error:"), "\(r.stderr)")
        #expect(first.stop() == 0)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
