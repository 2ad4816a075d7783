import Foundation
import Testing
@testable import Neural

/// Special tokens, truncation, padding and the public properties, on the three fixture tokenizers.
@Suite struct TokenizerBehaviourTests {
    let minilm: Tokenizer
    let llama3: Tokenizer
    let gemma: Tokenizer

    init() throws {
        minilm = try TokenizerFixtures.tokenizer("minilm")
        llama3 = try TokenizerFixtures.tokenizer("llama3")
        gemma = try TokenizerFixtures.tokenizer("gemma")
    }

    @Test func specialTokenIdsComeFromThePostProcessor() throws {
        #expect(minilm.prefixTokenIds == [101])
        #expect(minilm.suffixTokenIds == [102])
        #expect(minilm.bosTokenId == 101 && minilm.eosTokenId == 102)
        #expect(minilm.padTokenId == 0)
        #expect(minilm.maxLengthHint == 128)
        #expect(minilm.vocabularySize == 30522)
        #expect(llama3.bosTokenId == llama3.tokenId(for: "<|begin_of_text|>"))
        #expect(llama3.suffixTokenIds.isEmpty && llama3.eosTokenId == nil)
        #expect(llama3.padTokenId == llama3.tokenId(for: "<|finetune_right_pad_id|>"))
        #expect(gemma.bosTokenId == gemma.tokenId(for: "<bos>"))
        #expect(gemma.padTokenId == 0 && gemma.token(for: 0) == "<pad>")
    }

    @Test func specialTokensInsideTextAreMatchedWhole() throws {
        let eot = try #require(llama3.tokenId(for: "<|eot_id|>"))
        let ids = llama3.encode("hi<|eot_id|>there", addSpecialTokens: false)
        #expect(ids.contains(eot))
        #expect(ids.filter { $0 == eot }.count == 1)
        // Not matched when incomplete.
        #expect(!llama3.encode("hi<|eot_id|there", addSpecialTokens: false).contains(eot))
        // BERT's special tokens are matched before lower-casing, so "[cls]" is ordinary text.
        #expect(minilm.encode("[CLS]", addSpecialTokens: false) == [101])
        #expect(!minilm.encode("[cls]", addSpecialTokens: false).contains(101))
        // A non-special added token of the Gemma stand-in.
        let table = try #require(gemma.tokenId(for: "<table>"))
        #expect(gemma.encode("a<table>b", addSpecialTokens: false).contains(table))
    }

    @Test func truncationKeepsSpecialTokens() throws {
        let text = "the quick brown fox jumps over the lazy dog again and again"
        let full = minilm.encode(text)
        #expect(full.count > 8)
        let cut = minilm.encode(text, maxLength: 8)
        #expect(cut.count == 8)
        #expect(cut.first == 101 && cut.last == 102)
        #expect(Array(cut[1..<7]) == Array(full[1..<7]))
        // Fewer positions than special tokens: the text is dropped, the special tokens stay.
        #expect(minilm.encode(text, maxLength: 1) == [101, 102])
        #expect(minilm.encode(text, addSpecialTokens: false, maxLength: 3) == Array(full[1...3]))
        #expect(gemma.encode(text, maxLength: 4).count == 4)
    }

    @Test func paddingAndMasks() throws {
        let texts = ["short", "a somewhat longer text here", ""]
        let longest = minilm.encodeBatch(texts, maxLength: 64, padding: .longest)
        let lengths = texts.map { minilm.encode($0).count }
        #expect(longest.batchSize == 3)
        #expect(longest.sequenceLength == lengths.max())
        #expect(longest.ids.count == 3 * longest.sequenceLength)
        for (row, length) in lengths.enumerated() {
            #expect(Array(longest.attentionMask(row: row)) == Array(repeating: 1, count: length)
                + Array(repeating: 0, count: longest.sequenceLength - length))
            #expect(longest.ids(row: row).map(Int.init) == minilm.encode(texts[row])
                + Array(repeating: 0, count: longest.sequenceLength - length))
        }
        let fixed = gemma.encodeBatch(texts, maxLength: 16, padding: .fixed, addSpecialTokens: false, padTokenId: 7)
        #expect(fixed.sequenceLength == 16)
        #expect(fixed.ids(row: 2).allSatisfy { $0 == 7 })
        #expect(fixed.attentionMask(row: 2).allSatisfy { $0 == 0 })
        let truncated = llama3.encodeBatch([String(repeating: "word ", count: 100)], maxLength: 10, padding: .longest)
        #expect(truncated.sequenceLength == 10)
        #expect(truncated.attentionMask.allSatisfy { $0 == 1 })
        #expect(minilm.encodeBatch([], maxLength: 8).ids.isEmpty)
    }

    @Test func veryLongWordsEncodeAndRoundTrip() throws {
        // Gemma's pre-tokenizer leaves the whole text as one word: a 110k-scalar BPE word, which a
        // quadratic merge loop would not finish.
        let text = String(repeating: "abcdefghij klmnopqrst ", count: 5_000)
        let ids = gemma.encode(text, addSpecialTokens: false)
        #expect(!ids.isEmpty)
        #expect(gemma.decode(ids) == text)
        let bytes = llama3.encode(String(repeating: "🙂", count: 20_000), addSpecialTokens: false)
        #expect(llama3.decode(bytes) == String(repeating: "🙂", count: 20_000))
    }

    @Test(arguments: ["minilm", "llama3", "gemma"])
    func tokenizersAreSharedAcrossTasks(name: String) async throws {
        // Llama 3's regex split runs NSRegularExpression from several threads at once.
        let tokenizer = try TokenizerFixtures.tokenizer(name)
        let texts = try TokenizerFixtures.strings().filter { $0.count < 200 }
        let serial = texts.map { tokenizer.encode($0) }
        let parallel = await withTaskGroup(of: (Int, [Int]).self) { group in
            for (i, text) in texts.enumerated() {
                group.addTask { (i, tokenizer.encode(text)) }
            }
            var out = [[Int]](repeating: [], count: texts.count)
            for await (i, ids) in group { out[i] = ids }
            return out
        }
        #expect(parallel == serial)
    }

    @Test func decodeSkipsSpecialTokensOnRequest() throws {
        let ids = llama3.encode("hello world")
        #expect(llama3.decode(ids) == "<|begin_of_text|>hello world")
        #expect(llama3.decode(ids, skipSpecialTokens: true) == "hello world")
        #expect(minilm.decode(minilm.encode("Hello, World!"), skipSpecialTokens: true) == "hello, world!")
    }
}
