import Foundation
import Testing
import TestSupport

/// Option values out of range (issue #14): each is a usage error (status 64) naming the option and its range,
/// never a trap, a hang or thousands of threads. Every case ran into one of those before the ranges.
@Suite struct OptionRangeTests {
    typealias Result = CommandLineTests.Result

    /// Runs `vjsearch arguments…` on a library in a fresh temporary folder and a model path that does not exist
    /// (validation comes first, so neither is read; without it a regression fails there instead of touching the
    /// user's library), killed after 20 s: a regression fails instead of hanging the suite. No model is built
    /// here: writing bundles in this process would grow its memory under `ClipWindowTests.tenMinutesInFlatMemory`.
    func vj(_ arguments: [String]) throws -> Result {
        let dir = try TemporaryDirectory(prefix: "vjsearch-options")
        let command = arguments.first ?? ""
        let libraryCommand = ["index", "query", "reindex", "status", "watch"].contains(command)
        let modelCommand = ["index", "query", "reindex", "watch"].contains(command)
        return try CommandLineTests.run(arguments + (libraryCommand ? ["--library", dir.file("library").path] : [])
            + (modelCommand ? ["--model", dir.file("no-model").path] : []), timeout: 20)
    }

    func expectUsageError(_ arguments: [String], _ message: String) throws {
        let r = try vj(arguments)
        #expect(r.status == 64, "\(arguments): status \(r.status), \(r.stderr.prefix(300))")
        #expect(r.stderr.contains(message), "\(arguments): \(r.stderr.prefix(300))")
        #expect(r.stdout.isEmpty)
    }

    @Test(arguments: [
        (["--top", "461168601842738791"], "--top must be between 1 and 10000"),
        (["--top", "10001"], "--top must be between 1 and 10000"),
        (["--top", "0"], "--top must be between 1 and 10000"),
        (["--min-score", "nan"], "--min-score must be between -1 and 1"),
        (["--min-score", "inf"], "--min-score must be between -1 and 1"),
        (["--min-score", "1.5"], "--min-score must be between -1 and 1"),
    ])
    func queryOptions(extra: [String], message: String) throws {
        try expectUsageError(["query", "a dog"] + extra, message)
    }

    @Test(arguments: [
        (["--size", "4611686018427387904"], "--size must be between 1 and 4096 pixels"),
        (["--frames", "100000000"], "--frames must be between 1 and 1024"),
        (["--window", "1e300"], "--window must be between 0.05 and 3600 seconds"),
        (["--stride", "1e300"], "--stride must be between 0.05 and 3600 seconds"),
        (["--window", "1e-9"], "--window must be between 0.05 and 3600 seconds"),
        (["--window", "nan"], "--window must be between 0.05 and 3600 seconds"),
        (["--threads", "100000"], "--threads must be between 0 and 256"),
        (["--frames", "1024", "--size", "4096"], "frames × size² too large"),
        (["--window", "0.05", "--frames", "1024"], "frames / window too large"),
    ])
    func segmentsOptions(extra: [String], message: String) throws {
        try expectUsageError(["segments", CommandLineTests.sample] + extra, message)
    }

    @Test(arguments: [
        (["--window", "1e300"], "--window must be between 0.05 and 3600 seconds"),
        (["--stride", "1e300"], "--stride must be between 0.05 and 3600 seconds"),
        (["--window", "1e-6"], "--window must be between 0.05 and 3600 seconds"),
        (["--threads", "100000"], "--threads must be between 1 and 256"),
        (["--decode-threads", "100000"], "--decode-threads must be between 0 and 256"),
        (["--batch", "100000000"], "--batch must be between 1 and 4096"),
    ])
    func indexOptions(extra: [String], message: String) throws {
        try expectUsageError(["index", CommandLineTests.sample] + extra, message)
    }

    @Test(arguments: [
        (["--settle", "1e300"], "--settle must be 0 to 86400 seconds"),
        (["--settle", "nan"], "--settle must be 0 to 86400 seconds"),
        (["--rescan", "1e300"], "--rescan must be 0.1 to 86400 seconds"),
        (["--rescan", "0"], "--rescan must be 0.1 to 86400 seconds"),
    ])
    func watchTimes(extra: [String], message: String) throws {
        try expectUsageError(["watch", "/nonexistent"] + extra, message)
    }

    @Test(arguments: [
        ["reindex", "--threads", "100000"], ["watch", "/nonexistent", "--threads", "100000"],
        ["model", "embed-texts", "/nonexistent", "--threads", "100000"],
        ["model", "embed-video", "/nonexistent", "/nonexistent.mp4", "--batch", "0"],
    ])
    func threadAndBatchOptionsElsewhere(arguments: [String]) throws {
        let option = try #require(arguments.dropLast().last)
        try expectUsageError(arguments, "\(option) must be between")
    }

    @Test func helpShowsTheRanges() throws {
        // Help wraps its lines: compare with the whitespace collapsed.
        func help(_ command: [String]) throws -> String {
            let r = try vj(command + ["--help"])
            #expect(r.status == 0)
            return r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        let segments = try help(["segments"])
        for range in ["0.05-3600", "1-1024", "1-4096", "0-256"] { #expect(segments.contains(range), "\(range)") }
        let query = try help(["query"])
        #expect(query.contains("1-10000") && query.contains("-1 to 1"))
        #expect(try help(["index"]).contains("1-256 (default: all cores)"))
    }
}
