import Foundation

/// A text tokenizer loaded from a Hugging Face `tokenizer.json`, producing the same ids as the
/// `tokenizers` library.
///
/// Pipeline (the reference's order): added tokens with `normalized: false` are cut out of the raw
/// text; the rest is normalised; added tokens with `normalized: true` are cut out of that; the
/// pre-tokenizer splits what remains into words; the model (WordPiece or BPE) turns each word into
/// ids; the post-processor adds special tokens around the sequence.
///
/// Supported: normalizers BertNormalizer, Replace, Prepend, Lowercase, Strip, NFC/NFD/NFKC/NFKD,
/// Sequence; pre-tokenizers BertPreTokenizer, Split, ByteLevel, Whitespace, WhitespaceSplit,
/// Sequence; models WordPiece and BPE (byte fallback, ignore_merges); post-processors
/// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence; decoders WordPiece,
/// ByteLevel, BPEDecoder, Replace, ByteFallback, Fuse, Strip, Sequence. Anything else (Unigram,
/// Metaspace, Precompiled, …) is a load error naming the component. Single sequences only (no
/// pairs); truncation from the right, padding on the right; no offsets.
///
/// The file's own `truncation` and `padding` blocks are not applied implicitly: callers pass
/// `maxLength` and `padding` (as `transformers` does); `maxLengthHint` reports the file's value.
public final class Tokenizer: Sendable {
    private enum Model: Sendable {
        case wordPiece(WordPiece)
        case bpe(BPE)
    }

    private let model: Model
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let postProcessor: PostProcessor
    private let decoder: Decoder?
    private let rawAddedTokens: AddedTokenMatcher
    private let normalizedAddedTokens: AddedTokenMatcher
    /// id -> added token, for decoding.
    private let addedById: [Int32: AddedToken]
    /// id -> text that `decode` emits for a normalised added token (its normalised content).
    private let addedDecodedText: [Int32: String]

    /// The id used for padding: the file's `padding.pad_id`, else an added token named `[PAD]`,
    /// `<pad>`, `<|pad|>` or `<|finetune_right_pad_id|>`.
    public let padTokenId: Int?
    /// The ids `encode` puts before / after the text when special tokens are requested
    /// (`[CLS]` / `[SEP]` for BERT, `<|begin_of_text|>` for Llama 3, `<bos>` for Gemma).
    public let prefixTokenIds: [Int]
    public let suffixTokenIds: [Int]
    /// The first prefix token (BOS / CLS), if any.
    public var bosTokenId: Int? { prefixTokenIds.first }
    /// The last suffix token (EOS / SEP), if any.
    public var eosTokenId: Int? { suffixTokenIds.last }
    /// The file's `truncation.max_length`, if it has one.
    public let maxLengthHint: Int?
    /// One more than the largest id of the model's vocabulary and added tokens.
    public let vocabularySize: Int

    /// How `encodeBatch` pads.
    public enum Padding: Sendable, Equatable {
        /// To the longest sequence of the batch (after truncation).
        case longest
        /// To `maxLength`.
        case fixed
    }

    /// Token ids and attention mask of a padded batch, row-major `[batchSize, sequenceLength]`.
    public struct Batch: Sendable, Equatable {
        public var ids: [Int32]
        /// 1 for real tokens, 0 for padding.
        public var attentionMask: [Int32]
        public var batchSize: Int
        public var sequenceLength: Int

        public func ids(row: Int) -> ArraySlice<Int32> {
            ids[row * sequenceLength..<(row + 1) * sequenceLength]
        }

        public func attentionMask(row: Int) -> ArraySlice<Int32> {
            attentionMask[row * sequenceLength..<(row + 1) * sequenceLength]
        }
    }

    /// Loads `tokenizer.json`. Errors name the file and the cause.
    public static func load(contentsOf url: URL) throws(TokenizerError) -> Tokenizer {
        let name = url.lastPathComponent
        let data: Data
        do {
            data = try MappedFile.contents(path: url.path)
        } catch NeuralError.notRegularFile {
            throw TokenizerError(.unreadable, file: name, "is not a regular file")
        } catch NeuralError.io(let failure) {
            throw TokenizerError(.unreadable, file: name, "cannot read: \(failure.cause)")
        } catch {
            throw TokenizerError(.unreadable, file: name, "cannot read: \(error)")
        }
        return try Tokenizer(json: [UInt8](data), fileName: name)
    }

    /// Parses the contents of a `tokenizer.json`; `fileName` is used in error messages.
    public init(json bytes: [UInt8], fileName: String = "tokenizer.json") throws(TokenizerError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw TokenizerError(.invalidJSON, file: fileName, "invalid JSON at byte \(error.offset): \(error.reason)")
        }
        do {
            let parts = try Parts(root)
            model = parts.model
            normalizer = parts.normalizer
            preTokenizer = parts.preTokenizer
            postProcessor = parts.postProcessor
            decoder = parts.decoder
            rawAddedTokens = parts.rawAddedTokens
            normalizedAddedTokens = parts.normalizedAddedTokens
            addedById = parts.addedById
            addedDecodedText = parts.addedDecodedText
            padTokenId = parts.padTokenId
            maxLengthHint = parts.maxLengthHint
            vocabularySize = parts.vocabularySize
        } catch {
            throw TokenizerError(error.kind, file: fileName, error.message)
        }
        prefixTokenIds = postProcessor.prefix.map(Int.init)
        suffixTokenIds = postProcessor.suffix.map(Int.init)
    }

    /// Everything `init` builds, so that one `do` block can map configuration errors.
    private struct Parts {
        var model: Model
        var normalizer: Normalizer?
        var preTokenizer: PreTokenizer?
        var postProcessor = PostProcessor()
        var decoder: Decoder?
        var rawAddedTokens: AddedTokenMatcher
        var normalizedAddedTokens: AddedTokenMatcher
        var addedById: [Int32: AddedToken] = [:]
        var addedDecodedText: [Int32: String] = [:]
        var padTokenId: Int?
        var maxLengthHint: Int?
        var vocabularySize: Int

        init(_ root: JSONValue) throws(ConfigurationError) {
            guard root.members != nil else { throw .invalid("top level must be an object") }
            guard let modelJSON = root["model"] else { throw .invalid("missing 'model'") }
            let vocabularyBound: Int
            switch modelJSON["type"]?.string {
            case "WordPiece":
                let m = try WordPiece(json: modelJSON)
                model = .wordPiece(m)
                vocabularyBound = m.vocab.upperBound
            case "BPE":
                let m = try BPE(json: modelJSON)
                model = .bpe(m)
                vocabularyBound = m.vocab.upperBound
            case let type?:
                throw .unsupported("unsupported model type '\(type)'")
            case nil:
                throw .invalid("model without a 'type'")
            }
            normalizer = try root["normalizer"].map { j throws(ConfigurationError) in try Normalizer(json: j) }
            preTokenizer = try root["pre_tokenizer"].map { j throws(ConfigurationError) in try PreTokenizer(json: j) }
            postProcessor = try root["post_processor"].map { j throws(ConfigurationError) in try PostProcessor(json: j) }
                ?? PostProcessor()
            decoder = try root["decoder"].map { j throws(ConfigurationError) in try Decoder(json: j) }

            var raw: [(scalars: [Unicode.Scalar], token: AddedToken)] = []
            var normalized: [(scalars: [Unicode.Scalar], token: AddedToken)] = []
            var maxId = vocabularyBound - 1
            if let list = root["added_tokens"] {
                guard let items = list.array else { throw .invalid("'added_tokens' must be an array") }
                for item in items {
                    let token = try AddedToken(json: item)
                    guard !token.content.isEmpty else { continue }
                    addedById[token.id] = token
                    maxId = max(maxId, Int(token.id))
                    if token.normalized {
                        let pattern = normalizer?.normalize(token.content) ?? token.content
                        normalized.append((pattern, token))
                        addedDecodedText[token.id] = pattern.string
                    } else {
                        raw.append((token.content, token))
                    }
                }
            }
            rawAddedTokens = AddedTokenMatcher(raw)
            normalizedAddedTokens = AddedTokenMatcher(normalized)
            vocabularySize = maxId + 1

            if let padID = root["padding"]?["pad_id"] {
                // An id, as the other ids of the file: `encodeBatch` stores it in an Int32 row.
                guard let id = padID.int, id >= 0, id <= Int(Int32.max) else {
                    throw .invalid("'padding.pad_id' must be an id from 0 to \(Int32.max)")
                }
                padTokenId = id
            }
            if padTokenId == nil {
                let names = ["[PAD]", "<pad>", "<|pad|>", "<|finetune_right_pad_id|>"]
                padTokenId = addedById.values.filter { names.contains($0.content.string) }
                    .min { names.firstIndex(of: $0.content.string)! < names.firstIndex(of: $1.content.string)! }
                    .map { Int($0.id) }
            }
            if let truncation = root["truncation"] {
                maxLengthHint = truncation["max_length"]?.int
            }
        }
    }

    /// The ids of `text`, with the post-processor's special tokens unless `addSpecialTokens` is false.
    /// With `maxLength`, the text's own tokens are cut from the end so that the result, special
    /// tokens included, has at most `maxLength` ids (the special tokens are always kept).
    public func encode(_ text: String, addSpecialTokens: Bool = true, maxLength: Int? = nil) -> [Int] {
        encodeIds(text, addSpecialTokens: addSpecialTokens, maxLength: maxLength).map(Int.init)
    }

    /// Encodes, truncates to `maxLength` and pads each text; see `encode` for truncation.
    /// `padTokenId` defaults to the tokenizer's own, or 0 if it has none (masked out either way).
    public func encodeBatch(_ texts: [String], maxLength: Int, padding: Padding = .longest,
                            addSpecialTokens: Bool = true, padTokenId: Int? = nil) -> Batch {
        let rows = texts.map { encodeIds($0, addSpecialTokens: addSpecialTokens, maxLength: maxLength) }
        let length = padding == .fixed ? max(maxLength, rows.map(\.count).max() ?? 0) : (rows.map(\.count).max() ?? 0)
        let pad = Int32(padTokenId ?? self.padTokenId ?? 0)
        var ids = [Int32](repeating: pad, count: rows.count * length)
        var mask = [Int32](repeating: 0, count: rows.count * length)
        for (r, row) in rows.enumerated() {
            for (c, id) in row.enumerated() {
                ids[r * length + c] = id
                mask[r * length + c] = 1
            }
        }
        return Batch(ids: ids, attentionMask: mask, batchSize: rows.count, sequenceLength: length)
    }

    private func encodeIds(_ text: String, addSpecialTokens: Bool, maxLength: Int?) -> [Int32] {
        var ids: [Int32] = []
        for segment in rawAddedTokens.split(Array(text.unicodeScalars)) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let raw):
                let text = normalizer?.normalize(raw) ?? raw
                for inner in normalizedAddedTokens.split(text) {
                    switch inner {
                    case .token(let id):
                        ids.append(id)
                    case .text(let normalized):
                        let words = preTokenizer?.preTokenize([normalized]) ?? [normalized]
                        for word in words where !word.isEmpty {
                            switch model {
                            case .wordPiece(let m): m.tokenize(word, into: &ids)
                            case .bpe(let m): m.tokenize(word, into: &ids)
                            }
                        }
                    }
                }
            }
        }
        let added = addSpecialTokens ? postProcessor.addedCount : 0
        if let maxLength, ids.count + added > maxLength {
            ids.removeLast(min(ids.count, ids.count + added - maxLength))
        }
        return addSpecialTokens ? postProcessor.prefix + ids + postProcessor.suffix : ids
    }

    /// The text of `ids`, through the file's decoder (tokens joined by spaces if it has none).
    /// Unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        for id in ids {
            guard let id32 = Int32(exactly: id) else { continue }
            if let added = addedById[id32] {
                if skipSpecialTokens && added.special { continue }
                tokens.append(addedDecodedText[id32] ?? added.content.string)
            } else if let token = modelToken(id32) {
                tokens.append(token.string)
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }

    /// The id of a token string (added tokens first, then the model's vocabulary).
    public func tokenId(for token: String) -> Int? {
        let scalars = Array(token.unicodeScalars)
        if let added = addedById.values.first(where: { $0.content == scalars }) { return Int(added.id) }
        switch model {
        case .wordPiece(let m): return m.vocab.id(scalars).map(Int.init)
        case .bpe(let m): return m.vocab.id(scalars).map(Int.init)
        }
    }

    /// The token string of an id, if it has one.
    public func token(for id: Int) -> String? {
        guard let id32 = Int32(exactly: id) else { return nil }
        if let added = addedById[id32] { return added.content.string }
        return modelToken(id32)?.string
    }

    private func modelToken(_ id: Int32) -> [Unicode.Scalar]? {
        switch model {
        case .wordPiece(let m): m.vocab.token(id)
        case .bpe(let m): m.vocab.token(id)
        }
    }
}
