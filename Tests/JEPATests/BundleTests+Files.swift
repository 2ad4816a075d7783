import Foundation
import Neural
import Testing
import TestSupport
@testable import JEPA

/// Runs `body` on a thread of its own and returns what it threw; if it is still running after `seconds` (blocked
/// opening the FIFO at `fifo`), records an issue and opens the FIFO for writing, which releases the reader.
func errorThrown(within seconds: Double = 30, releasing fifo: URL, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: @escaping @Sendable () throws -> Void) -> (any Error)? {
    final class Outcome: @unchecked Sendable {
        var error: (any Error)?
        let done = DispatchSemaphore(value: 0)
    }
    let outcome = Outcome()
    Thread {
        do { try body() } catch { outcome.error = error }
        outcome.done.signal()
    }.start()
    guard outcome.done.wait(timeout: .now() + seconds) == .success else {
        Issue.record("still blocked after \(seconds) s, waiting for a writer to \(fifo.lastPathComponent)", sourceLocation: sourceLocation)
        let fd = open(fifo.path, O_WRONLY | O_NONBLOCK)
        if fd >= 0 { close(fd) }
        return nil
    }
    return outcome.error
}

extension BundleTests {
    /// Replaces `name` in `dir` with a FIFO that nothing writes to.
    func fifo(_ dir: TemporaryDirectory, _ name: String) throws -> URL {
        let url = dir.file(name)
        try? FileManager.default.removeItem(at: url)
        try #require(mkfifo(url.path, 0o600) == 0)
        return url
    }

    @Test func fifoWeightsFailAtOnce() throws {
        let (dir, _) = try editedBundle { _ in }
        let weights = try fifo(dir, "model.safetensors")
        let directory = dir.url
        // Unstamped, the model id hashes the weights; stamped, `load` maps them.
        let hashed = errorThrown(releasing: weights) { _ = try ModelBundle(directory: directory) }
        #expect(hashed as? NeuralError == .notRegularFile(path: weights.path))
        try editConfig(dir) { object in object["model_id"] = "vj1-stamped" }
        let mapped = errorThrown(releasing: weights) { _ = try ModelBundle(directory: directory).load() }
        #expect(mapped as? NeuralError == .notRegularFile(path: weights.path))
        let text = errorThrown(releasing: weights) { _ = try ModelBundle(directory: directory).loadTextEncoder() }
        #expect(text.map { "\($0)" } == "\(weights.path): is not a regular file")
    }

    @Test func fifoConfigFailsAtOnce() throws {
        let (dir, _) = try editedBundle { _ in }
        let config = try fifo(dir, "config.json")
        let directory = dir.url
        let error = errorThrown(releasing: config) { _ = try ModelBundle(directory: directory) }
        #expect(error as? BundleError == BundleError(path: config.path, reason: "is not a regular file"))
    }

    @Test func fifoTokenizerFailsAtOnce() throws {
        let (dir, _) = try editedBundle { _ in }
        let tokenizer = try fifo(dir, "tokenizer.json")
        let error = errorThrown(releasing: tokenizer) { _ = try Tokenizer.load(contentsOf: tokenizer) }
        #expect(error as? TokenizerError == TokenizerError(.unreadable, file: "tokenizer.json", "is not a regular file"))
    }

    @Test func folderAsConfigIsNotARegularFile() throws {
        let (dir, _) = try editedBundle { _ in }
        let config = dir.file("config.json")
        try FileManager.default.removeItem(at: config)
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: false)
        #expect(throws: BundleError(path: config.path, reason: "is not a regular file")) { try ModelBundle(directory: dir.url) }
    }
}
