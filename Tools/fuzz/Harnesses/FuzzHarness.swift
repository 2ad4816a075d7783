import Foundation

/// The fuzz harnesses by the names `Tools/fuzz/run` and the corpus folders use.
///
/// A harness feeds one input to one parser and returns normally for any input: errors the code under test
/// throws are the expected outcome for damaged input and are ignored. Only a trap, a crash, a hang, a leak or
/// an allocation past libFuzzer's limit is a finding. Each harness also checks, with `precondition`, the
/// promises callers rely on when the input is accepted (a tensor lies inside its file, a token id inside
/// the vocabulary), so that a parser accepting what it should refuse is a finding too.
public enum FuzzHarness: String, CaseIterable, Sendable {
    case safetensors
    case tokenizerJSON = "tokenizer-json"
    case tokenize
    case configJSON = "config-json"
    case fvecs
    case media
    case lmdb
    case torchCheckpoint = "torch-checkpoint"

    /// Runs `input` through the harness.
    /// - Returns: whether the code under test accepted the input (parsed it without an error).
    @discardableResult
    public func run(_ input: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .safetensors: fuzzSafeTensors(input)
        case .tokenizerJSON: fuzzTokenizerJSON(input)
        case .tokenize: fuzzTokenize(input)
        case .configJSON: fuzzConfigJSON(input)
        case .fvecs: fuzzVecs(input)
        case .media: fuzzMedia(input)
        case .lmdb: fuzzLibrary(input)
        case .torchCheckpoint: fuzzTorchCheckpoint(input)
        }
    }

    /// `run` on the bytes of a file; a `.gz` file is decompressed first (the lmdb seeds are megabytes of zero
    /// pages, a few kilobytes gzipped).
    @discardableResult
    public func run(contentsOf url: URL) throws -> Bool {
        let data = url.pathExtension == "gz" ? try Self.gunzip(url) : try Data(contentsOf: url)
        return data.withUnsafeBytes { run($0) }
    }

    struct GzipError: Error, CustomStringConvertible {
        let description: String
    }

    /// The decompressed contents of `url`, by `gzip -dc`.
    static func gunzip(_ url: URL) throws -> Data {
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-dc", url.path]
        let output = Pipe()
        gzip.standardOutput = output
        try gzip.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        guard gzip.terminationStatus == 0 else { throw GzipError(description: "\(url.path): gzip -dc failed") }
        return data
    }

    /// Does the one-time work before the first input (loading the fixed tokenizer), so that libFuzzer does not
    /// count it against the first input's time.
    public func prepare() {
        if self == .tokenize { _ = FixedTokenizer.shared }
    }

    /// The repository's root folder, found from this file's place in it (`Tools/fuzz/Harnesses/`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
