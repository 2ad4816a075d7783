import Foundation
import Neural
import Testing
import TestSupport
@testable import Catalog

/// The embedder over the tiny VL-JEPA fixture, with weights edited by the test.
@Suite struct EmbedderTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../JEPATests/Fixtures/vljepa-tiny-bert").standardized

    /// A bundle of the fixture with `edit` applied to its weights and a small WordPiece tokenizer (ids < 64).
    static func bundle(_ edit: (inout [String: Tensor]) -> Void) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let weights = try SafeTensorsFile(url: fixture.appendingPathComponent("model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in weights.names { tensors[name] = try weights.parameter(name)!.tensor }
        edit(&tensors)
        try SafeTensors.serialize(tensors).write(to: dir.file("model.safetensors"))
        try FileManager.default.copyItem(at: fixture.appendingPathComponent("config.json"), to: dir.file("config.json"))
        let tokenizer: [String: Any] = [
            "version": "1.0",
            "normalizer": ["type": "BertNormalizer", "lowercase": true],
            "pre_tokenizer": ["type": "BertPreTokenizer"],
            "model": ["type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": ["[UNK]": 1, "red": 5, "ball": 6, "video": 7]],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: dir.file("tokenizer.json"))
        return dir
    }

    static let clip = Tensor(zeros: [4, 3, 32, 32])

    @Test func finiteWeightsGiveFiniteVectors() throws {
        let dir = try Self.bundle { _ in }
        let embedder = try Embedder(directory: dir.url)
        #expect(try embedder.embedQuery("red ball").allSatisfy(\.isFinite))
        #expect(try embedder.embedClips([Self.clip], workspace: Workspace()).allSatisfy(\.isFinite))
    }

    /// A NaN weight would make every score `nan` and `query` exit 0; the model is named instead.
    @Test(arguments: [Float.nan, .infinity])
    func nonFiniteWeightsAreAnErrorNamingTheModel(_ value: Float) throws {
        let dir = try Self.bundle { t in
            t["y_encoder.projector.bias"]!.scalars[0] = value
            t["predictor.out_proj.bias"]!.scalars[0] = value
        }
        let expected = CatalogError.nonFiniteVector(model: dir.url.path)
        for textOnly in [false, true] {
            let embedder = try Embedder(directory: dir.url, textOnly: textOnly)
            #expect(throws: expected) { try embedder.embedQuery("red ball") }
        }
        let embedder = try Embedder(directory: dir.url)
        #expect(throws: expected) { try embedder.embedClips([Self.clip], workspace: Workspace()) }
    }
}
