import Foundation
import Testing
import TestSupport
@testable import Neural

/// Malformed and unsupported `tokenizer.json` files give errors that name the file and the cause.
@Suite struct TokenizerErrorTests {
    /// A small valid WordPiece file to break in different ways.
    static func validWordPiece() -> [String: Any] {
        [
            "version": "1.0",
            "normalizer": ["type": "BertNormalizer", "lowercase": true],
            "pre_tokenizer": ["type": "BertPreTokenizer"],
            "model": ["type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100,
                      "vocab": ["[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hello": 3, "world": 4, "##s": 5]],
        ]
    }

    static func load(_ object: [String: Any]) throws(TokenizerError) -> Tokenizer {
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try Tokenizer(json: [UInt8](data), fileName: "tokenizer.json")
    }

    static func error(_ object: [String: Any]) -> TokenizerError? {
        do {
            _ = try load(object)
            return nil
        } catch {
            return error
        }
    }

    static func error(bytes: [UInt8]) -> TokenizerError? {
        do {
            _ = try Tokenizer(json: bytes, fileName: "broken.json")
            return nil
        } catch {
            return error
        }
    }

    @Test func validMinimalFileLoadsAndEncodes() throws {
        let tokenizer = try Self.load(Self.validWordPiece())
        #expect(tokenizer.encode("Hello worlds!", addSpecialTokens: false) == [3, 4, 5, 0])
    }

    @Test func unsupportedComponentsAreNamed() throws {
        var file = Self.validWordPiece()
        file["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁"]
        let metaspace = try #require(Self.error(file))
        #expect(metaspace.kind == .unsupported)
        #expect(metaspace.description == "tokenizer.json: unsupported pre_tokenizer type 'Metaspace'")

        file = Self.validWordPiece()
        file["model"] = ["type": "Unigram", "vocab": [["a", 0.0]]]
        #expect(Self.error(file)?.description == "tokenizer.json: unsupported model type 'Unigram'")

        file = Self.validWordPiece()
        file["normalizer"] = ["type": "Precompiled", "precompiled_charsmap": "AAAA"]
        #expect(Self.error(file)?.description == "tokenizer.json: unsupported normalizer type 'Precompiled'")

        file = Self.validWordPiece()
        file["decoder"] = ["type": "CTC"]
        #expect(Self.error(file)?.description == "tokenizer.json: unsupported decoder type 'CTC'")

        file = Self.validWordPiece()
        file["post_processor"] = ["type": "Mystery"]
        #expect(Self.error(file)?.description == "tokenizer.json: unsupported post_processor type 'Mystery'")
    }

    @Test func inconsistentConfigurationsAreInvalid() throws {
        var file = Self.validWordPiece()
        file.removeValue(forKey: "model")
        #expect(Self.error(file)?.description == "tokenizer.json: missing 'model'")

        file = Self.validWordPiece()
        file["model"] = ["type": "WordPiece", "unk_token": "[NOPE]", "vocab": ["a": 0]]
        #expect(Self.error(file)?.kind == .invalidConfiguration)
        #expect(Self.error(file)?.message.contains("[NOPE]") == true)

        let bpe: [String: Any] = ["model": ["type": "BPE", "vocab": ["a": 0, "b": 1], "merges": ["a b"]]]
        let merge = try #require(Self.error(bpe))
        #expect(merge.kind == .invalidConfiguration)
        #expect(merge.message.contains("'ab' is not in the vocabulary"))

        let sparse: [String: Any] = ["model": ["type": "BPE", "vocab": ["a": 0, "b": 50_000_000], "merges": [String]()]]
        #expect(Self.error(sparse)?.message.contains("sparse") == true)
        let negative: [String: Any] = ["model": ["type": "BPE", "vocab": ["a": -1], "merges": [String]()]]
        #expect(Self.error(negative)?.kind == .invalidConfiguration)

        let badMerge: [String: Any] = ["model": ["type": "BPE", "vocab": ["a": 0], "merges": [42]]]
        #expect(Self.error(badMerge)?.kind == .invalidConfiguration)

        file = Self.validWordPiece()
        file["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "(unclosed"], "behavior": "Isolated"]
        #expect(Self.error(file)?.kind == .invalidConfiguration)

        file = Self.validWordPiece()
        file["post_processor"] = ["type": "TemplateProcessing", "single": [["SpecialToken": ["id": "[CLS]"]],
                                                                          ["Sequence": ["id": "A"]]],
                                  "special_tokens": [:] as [String: Any]]
        #expect(Self.error(file)?.message.contains("'[CLS]'") == true)

        file = Self.validWordPiece()
        file["added_tokens"] = [["content": "x"]]
        #expect(Self.error(file)?.kind == .invalidConfiguration)

        #expect(Self.error(["model": "WordPiece"])?.kind == .invalidConfiguration)
    }

    /// Numbers that used to load and then trap: a pad id past Int32 in `encodeBatch`, a negative Strip count in
    /// `decode` (Tools/fuzz/crashes/tokenizer-json).
    @Test func outOfRangeNumbersAreInvalid() throws {
        var file = Self.validWordPiece()
        file["padding"] = ["pad_id": 4_294_967_296]
        #expect(Self.error(file)?.message == "'padding.pad_id' must be an id from 0 to 2147483647")
        file["padding"] = ["pad_id": 2]
        let tokenizer = try Self.load(file)
        #expect(tokenizer.padTokenId == 2)
        #expect(tokenizer.encodeBatch(["hello", ""], maxLength: 4).ids == [3, 2])

        file = Self.validWordPiece()
        file["decoder"] = ["type": "Strip", "content": " ", "start": -1, "stop": 0]
        #expect(Self.error(file)?.message == "decoder Strip: 'start' and 'stop' must not be negative (found -1, 0)")
        file["decoder"] = ["type": "Strip", "content": " ", "start": 0, "stop": -3]
        #expect(Self.error(file)?.kind == .invalidConfiguration)
    }

    @Test(arguments: [
        ("", "unexpected end of data"),
        ("[1, 2", "unexpected end of data"),
        ("{\"model\": }", "unexpected character"),
        ("{\"a\": \"\\ud800\"}", "unpaired surrogate"),
        ("{\"a\": 1} x", "unexpected data after the JSON value"),
        ("{\"a\": tru}", "invalid literal"),
        ("{\"a\": \"tab\tin string\"}", "control character in string"),
        (String(repeating: "[", count: 100_000), "nesting deeper than 256 levels"),
    ])
    func malformedJSONIsAnError(text: String, reason: String) throws {
        let error = try #require(Self.error(bytes: Array(text.utf8)))
        #expect(error.kind == .invalidJSON)
        #expect(error.description.hasPrefix("broken.json: invalid JSON at byte "))
        #expect(error.message.hasSuffix(reason))
    }

    @Test func truncatedAndGarbageFilesAreErrors() throws {
        let real = try Data(contentsOf: TokenizerFixtures.directory.appendingPathComponent("gemma/tokenizer.json"))
        for cut in [1, 100, real.count / 2, real.count - 2] {
            #expect(Self.error(bytes: [UInt8](real.prefix(cut)))?.kind == .invalidJSON)
        }
        let garbage = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        #expect(Self.error(bytes: garbage) != nil)
        #expect(Self.error(bytes: Array("[]".utf8))?.description == "broken.json: top level must be an object")
        #expect(Self.error(bytes: [0xFF, 0xFE])?.kind == .invalidJSON)
    }

    /// A small BPE file using most supported components.
    static func validBPE() -> [String: Any] {
        [
            "added_tokens": [["id": 5, "content": "<s>", "special": true, "normalized": false, "lstrip": true,
                              "rstrip": false, "single_word": false]],
            "normalizer": ["type": "Sequence", "normalizers": [
                ["type": "NFKC"], ["type": "Prepend", "prepend": "▁"],
                ["type": "Replace", "pattern": ["String": " "], "content": "▁"]]],
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": "\\d"], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]]],
            "post_processor": ["type": "TemplateProcessing",
                               "single": [["SpecialToken": ["id": "<s>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                               "special_tokens": ["<s>": ["id": "<s>", "ids": [5], "tokens": ["<s>"]]]],
            "decoder": ["type": "Sequence", "decoders": [["type": "ByteLevel"], ["type": "Strip", "content": " ", "start": 1, "stop": 0]]],
            "model": ["type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
                      "vocab": ["<unk>": 0, "a": 1, "b": 2, "ab": 3, "<0x41>": 4], "merges": [["a", "b"]]],
        ]
    }

    /// Every field of two small files replaced by every kind of JSON value: loading either
    /// succeeds or throws a configuration error, and whatever loads can encode and decode.
    @Test(arguments: [0, 1])
    func mutatedFilesNeverCrash(which: Int) throws {
        let original = which == 0 ? Self.validWordPiece() : Self.validBPE()
        #expect(Self.error(original) == nil)
        let replacements: [Any] = [NSNull(), 0, -1, 1.5, "x", "", true, [Any](), [String: Any](), [["x"]]]
        var paths: [[String]] = []
        func collect(_ object: [String: Any], _ prefix: [String]) {
            for (key, value) in object {
                paths.append(prefix + [key])
                if let inner = value as? [String: Any] { collect(inner, prefix + [key]) }
            }
        }
        collect(original, [])
        #expect(paths.count > 10)
        func replacing(_ object: [String: Any], _ path: ArraySlice<String>, with value: Any) -> [String: Any] {
            var copy = object
            guard let key = path.first else { return copy }
            if path.count == 1 {
                copy[key] = value
            } else if let inner = object[key] as? [String: Any] {
                copy[key] = replacing(inner, path.dropFirst(), with: value)
            }
            return copy
        }
        var failures = 0
        for path in paths {
            for value in replacements {
                do {
                    let tokenizer = try Self.load(replacing(original, path[...], with: value))
                    _ = tokenizer.decode(tokenizer.encode("ab a1 <s> AB é 😀 hello worlds"))
                } catch {
                    #expect(error.kind == .invalidConfiguration || error.kind == .unsupported, "\(path)")
                    failures += 1
                }
            }
        }
        #expect(failures > 0)
    }

    @Test func missingFileIsUnreadable() throws {
        let directory = try TemporaryDirectory()
        do {
            _ = try Tokenizer.load(contentsOf: directory.file("tokenizer.json"))
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.kind == .unreadable)
            #expect(error.file == "tokenizer.json")
        }
    }
}
