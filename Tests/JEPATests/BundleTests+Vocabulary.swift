import Foundation
import Testing
import TestSupport
@testable import JEPA

/// A bundle's optional `vocabulary.txt`: read one text per line, and left out of the model id.
extension BundleTests {
    @Test func vocabularyIsOneTrimmedTextPerLineWithoutBlanksOrRepeats() throws {
        let texts = try ModelBundle.texts(Data(" a red ball\r\n\n\ta blue ring  \na red ball\n   \nthe end".utf8), path: "v.txt")
        #expect(texts == ["a red ball", "a blue ring", "the end"])
        #expect(try ModelBundle.texts(Data(), path: "v.txt") == [])
        #expect(try ModelBundle.texts(Data("ünïcode stays\n".utf8), path: "v.txt") == ["ünïcode stays"])
        #expect(throws: BundleError(path: "v.txt", reason: "is not UTF-8 text")) {
            try ModelBundle.texts(Data([0x61, 0xFF, 0x0A]), path: "v.txt")
        }
        let many = Data((0...ModelBundle.vocabularyLimit).map { "t\($0)\n" }.joined().utf8)
        #expect(throws: BundleError(path: "v.txt", reason: "holds more than \(ModelBundle.vocabularyLimit) texts")) {
            try ModelBundle.texts(many, path: "v.txt")
        }
    }

    @Test func vocabularyIsOptionalAndNotPartOfTheModelID() throws {
        let (dir, _) = try editedBundle { _ in }
        try editConfig(dir) { object in object["model_id"] = nil }  // computed from the files
        let before = try ModelBundle(directory: dir.url)
        #expect(try before.loadVocabulary() == nil)
        try Data("a red ball\na blue ring\n".utf8).write(to: dir.file("vocabulary.txt"))
        let after = try ModelBundle(directory: dir.url)
        #expect(try after.loadVocabulary() == ["a red ball", "a blue ring"])
        #expect(after.modelID == before.modelID)
    }

    /// The bundled default model's vocabulary (`Tools/synth/vocabulary.py`'s captions), its declared tasks, and a
    /// stamped id that its content reproduces (`vjsearch model inspect --verify`).
    @Test func theDefaultModelCarriesItsVocabulary() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let mini = root.appendingPathComponent("Models/vljepa-mini")
        guard FileManager.default.fileExists(atPath: mini.appendingPathComponent("config.json").path) else { return }
        let bundle = try ModelBundle(directory: mini)
        let texts = try #require(try bundle.loadVocabulary())
        #expect(texts.count == 3906)
        #expect(texts.contains("a white star moves up") && texts.contains("four white balls move to the right"))
        #expect(bundle.config.tasks?.count == 4)
        #expect(try ModelBundle.computeModelID(directory: mini, config: bundle.config) == bundle.modelID)
    }
}
