import Foundation
import Neural
import Testing
import TestSupport
@testable import JEPA

/// A bundle's optional `tasks` (what it was trained for), and the predictor's query other than the retrieval prompt.
extension BundleTests {
    @Test func tasksAreKnownNamesLeftOutOfTheModelID() throws {
        let (dir, _) = try editedBundle { _ in }
        try editConfig(dir) { object in object["model_id"] = nil }  // computed from the files
        let before = try ModelBundle(directory: dir.url)
        #expect(before.config.tasks == nil && before.config.declares(.vqa) == nil)
        try editConfig(dir) { object in object["tasks"] = ["retrieval", "chapters"] }
        let after = try ModelBundle(directory: dir.url)
        #expect(after.config.tasks == [.retrieval, .chapters])
        #expect(after.config.declares(.chapters) == true && after.config.declares(.vqa) == false)
        #expect(after.modelID == before.modelID)
        // Written back as it was read.
        let encoded = try JSONSerialization.jsonObject(with: after.config.encoded()) as? [String: Any]
        #expect(encoded?["tasks"] as? [String] == ["retrieval", "chapters"])

        try editConfig(dir) { object in object["tasks"] = ["retrieval", "captioning"] }
        #expect(throws: BundleError(path: dir.file("config.json").path,
                                    reason: "tasks[1] 'captioning' is not supported (retrieval, classification, vqa, chapters)")) {
            try ModelBundle(directory: dir.url)
        }
        try editConfig(dir) { object in object["tasks"] = "vqa" }
        #expect(throws: BundleError(path: dir.file("config.json").path, reason: "wrong type at 'tasks'")) {
            try ModelBundle(directory: dir.url)
        }
    }

    @Test func aQuestionIsEncodedForThePredictorAtItsPromptLength() throws {
        let golden = try Golden("vljepa-tiny-bert")  // max_prompt_tokens 16
        var config = try ModelBundle(directory: golden.directory).config
        let tokenizer = try Tokenizer(json: Array(LibraryFixtures.tokenizerJSON.utf8))
        let question = "the red ball"
        #expect(config.predictorTokens(question, tokenizer: tokenizer) == [2, 61, 59, 60, 3])
        #expect(config.retrievalPromptTokens(tokenizer: tokenizer) == tokenizer.encode("Describe the video.", maxLength: 16))
        let long = config.predictorTokens(String(repeating: "red ", count: 40), tokenizer: tokenizer)
        #expect(long?.count == 16 && long?.first == 2 && long?.last == 3)
        // A predictor that reads another tokenizer's ids (stored as retrieval_prompt_ids) cannot read a question.
        config.retrievalPromptIds = [7, 8, 9]
        #expect(config.predictorTokens(question, tokenizer: tokenizer) == nil)
        #expect(config.retrievalPromptTokens(tokenizer: tokenizer) == [7, 8, 9])
    }
}
