import Foundation
import Testing
@testable import Neural

/// Fixtures written by Tools/goldens/tokenizers.py from the `tokenizers` library.
enum TokenizerFixtures {
    /// MiniLM's real file, the Llama 3 and Gemma stand-ins, and `mixed`, which exercises the other
    /// supported components.
    static let names = ["minilm", "llama3", "gemma", "mixed"]

    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/tokenizers", isDirectory: true)
    }

    /// Parsed with our own JSON parser: Foundation's drops a leading U+FEFF from strings.
    static func json(_ path: String) throws -> Tokenizer.JSONValue {
        try Tokenizer.JSONValue.parse([UInt8](Data(contentsOf: directory.appendingPathComponent(path))))
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer.load(contentsOf: directory.appendingPathComponent("\(name)/tokenizer.json"))
    }

    static func strings() throws -> [String] {
        let values = try #require(try json("strings.json").array)
        return values.compactMap(\.string)
    }

    static func expected(_ name: String) throws -> Tokenizer.JSONValue {
        try json("\(name)/expected.json")
    }

    /// The texts a fixture's cases belong to: its own `texts`, else strings.json.
    static func texts(_ expected: Tokenizer.JSONValue) throws -> [String] {
        if let own = expected["texts"]?.array { return own.compactMap(\.string) }
        return try strings()
    }

    static func ints(_ value: Tokenizer.JSONValue?) -> [Int]? {
        value?.array?.compactMap(\.int)
    }
}

/// Every hard string, every tokenizer: ids must equal the reference's exactly.
@Suite struct TokenizerGoldenTests {
    @Test(arguments: TokenizerFixtures.names)
    func idsMatchReference(name: String) throws {
        let tokenizer = try TokenizerFixtures.tokenizer(name)
        let expected = try TokenizerFixtures.expected(name)
        let strings = try TokenizerFixtures.texts(expected)
        let cases = try #require(expected["cases"]?.array)
        try #require(strings.count == cases.count)
        #expect(strings.count >= (name == "mixed" ? 300 : 500))
        var mismatches: [String] = []
        for (text, expected) in zip(strings, cases) {
            let withSpecial = try #require(TokenizerFixtures.ints(expected["ids"]))
            let withoutSpecial = try #require(TokenizerFixtures.ints(expected["ids_no_special"]))
            let got = tokenizer.encode(text)
            let gotPlain = tokenizer.encode(text, addSpecialTokens: false)
            if got != withSpecial {
                mismatches.append("\(String(reflecting: text.prefix(80))): \(got.prefix(40)) != \(withSpecial.prefix(40))")
            }
            if gotPlain != withoutSpecial {
                mismatches.append("[plain] \(String(reflecting: text.prefix(80))): \(gotPlain.prefix(40)) != \(withoutSpecial.prefix(40))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(8).joined(separator: "\n"))")
    }

    @Test(arguments: TokenizerFixtures.names)
    func decodeMatchesReference(name: String) throws {
        let tokenizer = try TokenizerFixtures.tokenizer(name)
        let expected = try TokenizerFixtures.expected(name)
        let strings = try TokenizerFixtures.texts(expected)
        let cases = try #require(expected["cases"]?.array)
        try #require(strings.count == cases.count)
        var mismatches: [String] = []
        for (text, expected) in zip(strings, cases) {
            let ids = try #require(TokenizerFixtures.ints(expected["ids_no_special"]))
            // null in the fixture means "decodes back to the input".
            let want = expected["decoded"]?.string ?? text
            let got = tokenizer.decode(ids)
            if !got.unicodeScalars.elementsEqual(want.unicodeScalars) {
                mismatches.append("\(String(reflecting: got.prefix(60))) != \(String(reflecting: want.prefix(60)))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(8).joined(separator: "\n"))")
    }

    @Test(arguments: TokenizerFixtures.names)
    func paddedBatchesMatchReference(name: String) throws {
        let tokenizer = try TokenizerFixtures.tokenizer(name)
        let batches = try #require(try TokenizerFixtures.expected(name)["batches"]?.array)
        #expect(batches.count >= (name == "mixed" ? 8 : 20))
        for spec in batches {
            let textValues = try #require(spec["texts"]?.array)
            let texts = textValues.compactMap(\.string)
            let maxLength = try #require(spec["max_length"]?.int)
            let padding: Tokenizer.Padding = spec["padding"]?.string == "fixed" ? .fixed : .longest
            let addSpecial = try #require(spec["add_special_tokens"]?.bool as Bool?)
            let padId = try #require(spec["pad_id"]?.int)
            let wantIds = try #require(spec["ids"]?.array).compactMap(TokenizerFixtures.ints)
            let wantMask = try #require(spec["attention_mask"]?.array).compactMap(TokenizerFixtures.ints)
            try #require(wantIds.count == texts.count && wantMask.count == texts.count)
            let batch = tokenizer.encodeBatch(texts, maxLength: maxLength, padding: padding,
                                              addSpecialTokens: addSpecial, padTokenId: padId)
            #expect(batch.batchSize == texts.count)
            #expect(batch.sequenceLength == wantIds.first?.count ?? 0)
            for row in 0..<texts.count {
                #expect(batch.ids(row: row).map(Int.init) == wantIds[row], "row \(row) of \(texts)")
                #expect(batch.attentionMask(row: row).map(Int.init) == wantMask[row], "mask row \(row) of \(texts)")
            }
        }
    }
}
