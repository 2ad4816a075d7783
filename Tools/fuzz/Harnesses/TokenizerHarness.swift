import Foundation
import Neural

/// `tokenizer-json`: a tokenizer built from the bytes of a `tokenizer.json`, then run once on a fixed text
/// (encoding with and without special tokens, truncated, batched, and decoded), since components such as
/// decoders and regex patterns are only exercised when used.
@discardableResult
public func fuzzTokenizerJSON(_ input: UnsafeRawBufferPointer) -> Bool {
    guard let tokenizer = try? Tokenizer(json: [UInt8](input), fileName: "fuzz-tokenizer.json") else { return false }
    exercise(tokenizer, on: sampleText)
    return true
}

/// `tokenize`: arbitrary bytes, decoded as UTF-8 (invalid sequences become U+FFFD), through a fixed real
/// tokenizer (`FixedTokenizer`). `Tokenizer` has no raw-bytes entry: text always arrives as a `String`.
/// - Returns: whether the text gave at least one token of its own.
@discardableResult
public func fuzzTokenize(_ input: UnsafeRawBufferPointer) -> Bool {
    exercise(FixedTokenizer.shared, on: String(decoding: input, as: UTF8.self))
}

/// Text that touches every stage of the pipelines we support: accents and combining marks, CJK, emoji and
/// other astral scalars, controls, punctuation, contractions, digits, runs of spaces, a byte-fallback-looking
/// token and the special tokens of BERT, Llama 3 and Gemma.
let sampleText = "Héllo, WORLD! Cafe\u{301} naïve 東京タワー 🦊🏳️‍🌈 don't we'll\t\n  1234.5 <0x41> [CLS] [SEP] [MASK] "
    + "<|begin_of_text|> <bos> <unk> ##ing a\u{0}b\u{7F}c\u{200B}d"

/// Runs `tokenizer` on `text` the ways vjsearch does and checks the results' promises.
/// - Returns: whether the text gave at least one token of its own (besides special tokens).
@discardableResult
func exercise(_ tokenizer: Tokenizer, on text: String) -> Bool {
    let plain = tokenizer.encode(text, addSpecialTokens: false)
    for id in plain {
        precondition(id >= 0 && id < tokenizer.vocabularySize, "token id \(id) outside the vocabulary of \(tokenizer.vocabularySize)")
    }
    let special = tokenizer.prefixTokenIds.count + tokenizer.suffixTokenIds.count
    let full = tokenizer.encode(text)
    precondition(full.count == plain.count + special, "special tokens not added around the text")
    let cut = tokenizer.encode(text, maxLength: 8)
    precondition(cut.count <= max(8, special), "\(cut.count) tokens after truncation to 8")
    let batch = tokenizer.encodeBatch([text, ""], maxLength: 8, padding: .fixed)
    precondition(batch.ids.count == batch.batchSize * batch.sequenceLength && batch.sequenceLength >= 8, "malformed batch")
    _ = tokenizer.decode(full)
    _ = tokenizer.decode(full, skipSpecialTokens: true)
    for id in plain.prefix(4) { _ = tokenizer.token(for: id) }
    return !plain.isEmpty
}

/// The smallest `tokenizer.json` of the bundles under `Models/`, loaded once per process.
public enum FixedTokenizer {
    /// The file `shared` was loaded from.
    public static let url: URL = {
        let models = FuzzHarness.repositoryRoot.appendingPathComponent("Models")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: models.path)) ?? [])
            .map { models.appendingPathComponent($0).appendingPathComponent("tokenizer.json") }
            .compactMap { url -> (url: URL, size: Int)? in
                guard let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int else { return nil }
                return (url, size)
            }
        guard let smallest = files.min(by: { ($0.size, $0.url.path) < ($1.size, $1.url.path) }) else {
            fatalError("no Models/*/tokenizer.json under \(FuzzHarness.repositoryRoot.path)")
        }
        return smallest.url
    }()

    public static let shared: Tokenizer = {
        do {
            return try Tokenizer.load(contentsOf: url)
        } catch {
            fatalError("cannot load the fixed tokenizer: \(error)")
        }
    }()
}
