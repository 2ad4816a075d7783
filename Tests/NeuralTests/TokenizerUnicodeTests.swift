import Foundation
import Testing
@testable import Neural

/// BERT's character classes, checked against the reference for every code point
/// (`bert-chars.json`, written by Tools/goldens/tokenizers.py).
@Suite struct TokenizerUnicodeTests {
    enum FixtureError: Error { case malformed(String) }

    let table: Tokenizer.JSONValue

    init() throws {
        table = try TokenizerFixtures.json("bert-chars.json")
    }

    private func set(_ key: String) throws -> Set<UInt32> {
        var result = Set<UInt32>()
        for pair in try #require(table[key]?.array) {
            let bounds = (pair.array ?? []).compactMap(\.int)
            try #require(bounds.count == 2)
            for v in bounds[0]...bounds[1] { result.insert(UInt32(v)) }
        }
        return result
    }

    private static let allScalars: [Unicode.Scalar] = (0...0x10FFFF).compactMap { Unicode.Scalar(UInt32($0)) }
    private var allScalars: [Unicode.Scalar] { Self.allScalars }

    /// Differences between a predicate and the reference's set, as hex code points.
    private func differences(_ expected: Set<UInt32>, _ predicate: (Unicode.Scalar) -> Bool) -> [String] {
        allScalars.filter { predicate($0) != expected.contains($0.value) }
            .prefix(20).map { String($0.value, radix: 16) }
    }

    @Test func cleanTextRemovesTheSameCharacters() throws {
        let removed = try set("removed")
        #expect(differences(removed) { $0.value == 0 || $0.value == 0xFFFD || Tokenizer.UnicodeTables.isBertControl($0) } == [])
        let spaces = try set("spaces")
        #expect(differences(spaces) {
            !($0.value == 0 || $0.value == 0xFFFD || Tokenizer.UnicodeTables.isBertControl($0))
                && Tokenizer.UnicodeTables.isBertWhitespace($0) && $0 != " "
        } == [])
    }

    @Test func chineseCharactersAndPunctuation() throws {
        #expect(differences(try set("chinese"), Tokenizer.UnicodeTables.isChineseCharacter) == [])
        // The reference probe covered planes 0-2 and 14-16.
        let punctuation = try set("punctuation")
        let probed = allScalars.filter { $0.value < 0x30000 || $0.value >= 0xE0000 }
        let wrong = probed.filter { Tokenizer.UnicodeTables.isBertPunctuation($0) != punctuation.contains($0.value) }
        #expect(wrong.prefix(20).map { String($0.value, radix: 16) } == [])
    }

    @Test func stripAccentsAndLowercase() throws {
        let normalizer = Tokenizer.Normalizer.bert(cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false)
        let lower = Tokenizer.Normalizer.bert(cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true)
        let removed = try set("accent_removed")
        var stripped: [UInt32: String] = [:]
        for (key, value) in try #require(table["accent_stripped"]?.members) {
            guard let cp = UInt32(key), let s = value.string else { throw FixtureError.malformed(key) }
            stripped[cp] = s
        }
        var lowered: [UInt32: String] = [:]
        for (key, value) in try #require(table["lowercased"]?.members) {
            guard let cp = UInt32(key), let s = value.string else { throw FixtureError.malformed(key) }
            lowered[cp] = s
        }
        var wrongStrip: [String] = []
        var wrongLower: [String] = []
        // Unassigned code points and the supplementary private-use planes never change; checking the
        // assigned ones and everything the fixture lists keeps this test fast.
        let listed = removed.union(stripped.keys).union(lowered.keys)
        let candidates = allScalars.filter { s in
            listed.contains(s.value) || (s.properties.age != nil && s.value < 0xF0000)
        }
        #expect(candidates.count > 100_000)
        for s in candidates {
            let hangul = (0xAC00...0xD7A3).contains(s.value)  // not in the fixture; covered by the hard strings
            let want: [Unicode.Scalar] = removed.contains(s.value) ? []
                : stripped[s.value].map { Array($0.unicodeScalars) } ?? [s]
            if !hangul, normalizer.normalize([s]) != want { wrongStrip.append(String(s.value, radix: 16)) }
            let wantLower = lowered[s.value].map { Array($0.unicodeScalars) } ?? [s]
            if lower.normalize([s]) != wantLower { wrongLower.append(String(s.value, radix: 16)) }
        }
        #expect(wrongStrip.prefix(20) == [], "\(wrongStrip.count) code points strip differently")
        #expect(wrongLower.prefix(20) == [], "\(wrongLower.count) code points lower-case differently")
    }
}
