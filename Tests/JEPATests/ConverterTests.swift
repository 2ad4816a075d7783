import Foundation
import Neural
import Testing
@testable import JEPA

/// Bundles written by Tools/convert/convert.py from tiny random models saved like the public files (Hugging Face
/// folders; open-vljepa's `best.pt`), against a PyTorch assembly built from the source models
/// (Tools/convert/make_fixtures.py).
@Suite struct ConverterTests {
    struct Converted {
        let bundle: ModelBundle
        let expected: SafeTensorsFile
        let captions: [String]

        init(_ name: String) throws {
            let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            let directory = root.appendingPathComponent(name)
            bundle = try ModelBundle(directory: directory)
            expected = try SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("expected.json")))
            captions = try #require((json as? [String: Any])?["captions"] as? [String])
        }

        func tensor(_ name: String) throws -> Tensor { try #require(try expected.parameter(name)).tensor }

        func clips() throws -> [Tensor] {
            let video = try tensor("pixel_values_videos")
            let per = video.count / video.shape[0]
            return (0..<video.shape[0]).map {
                Tensor(shape: Array(video.shape.dropFirst()), scalars: Array(video.scalars[($0 * per)..<(($0 + 1) * per)]))
            }
        }

        /// The reference's text ids, each row cut to its length.
        func textIDs() throws -> [[Int]] {
            let (shape, values) = try #require(try expected.integers("text_ids"))
            let lengths = try #require(try expected.integers("text_lengths")).values
            return (0..<shape[0]).map { b in Array(values[(b * shape[1])..<(b * shape[1] + lengths[b])]) }
        }
    }

    @Test(arguments: ["convert-hf-gemma", "convert-hf-bert", "convert-open-vljepa"])
    func convertedBundleMatchesPyTorch(_ name: String) throws {
        let converted = try Converted(name)
        let config = converted.bundle.config
        let model = try converted.bundle.load()
        let tokenizer = try Tokenizer.load(contentsOf: converted.bundle.tokenizerURL)

        // The clip side uses the predictor's (Llama) prompt ids the converter stored, not the Y-encoder's tokenizer.
        let prompt = config.retrievalPromptTokens(tokenizer: tokenizer)
        #expect(config.retrievalPromptIds != nil)
        #expect(prompt == (try #require(try converted.expected.integers("prompt_ids")).values))
        expectMatches(try model.embedClips(try converted.clips(), prompt: prompt), try converted.tensor("clip_vectors"))

        // The copied tokenizer.json is the Y-encoder's: it reproduces the reference's caption ids.
        let ids = try converted.textIDs()
        #expect(converted.captions.map { tokenizer.encode($0, maxLength: config.text.maxTokens) } == ids)
        expectMatches(try model.embedTexts(ids), try converted.tensor("text_vectors"))
    }

    @Test(arguments: ["convert-hf-gemma", "convert-hf-bert", "convert-open-vljepa"])
    func converterStampsTheContentHash(_ name: String) throws {
        let bundle = try Converted(name).bundle
        let stamped = try #require(bundle.config.modelId)
        #expect(stamped == (try ModelBundle.computeModelID(directory: bundle.directory, config: bundle.config)))
    }

    @Test func pathsKeepWhatEachSourceDefines() throws {
        let gemmaConfig = try Converted("convert-hf-gemma").bundle.config
        let gemma = try #require(gemmaConfig.predictor)
        // EmbeddingGemma's sentence-transformers Dense folders become two dense layers; open-vljepa skips them.
        #expect(gemmaConfig.text.dense.map(\.outFeatures) == [64, 32])
        #expect(try Converted("convert-open-vljepa").bundle.config.text.dense.isEmpty)
        // --llama-layers picks the last N of the folder's 4 layers.
        #expect(gemma.numHiddenLayers == 2)
        #expect(try Converted("convert-hf-bert").bundle.config.predictor?.numHiddenLayers == 3)
        #expect(gemma.ropeScaling?.ropeType == .llama3)
        #expect(gemma.finalNorm && gemma.pool == .allNonPad)
        // open-vljepa's clip length and padding lengths come from best.pt's own data section.
        let openVLJEPA = try Converted("convert-open-vljepa").bundle.config
        #expect(openVLJEPA.clip.frames == 4 && openVLJEPA.predictor?.maxPromptTokens == 16 && openVLJEPA.text.maxTokens == 16)
    }

    @Test func bundleWithoutPromptIDsEncodesThePrompt() throws {
        var config = try Converted("convert-hf-bert").bundle.config
        let tokenizer = try Tokenizer.load(contentsOf: try Converted("convert-hf-bert").bundle.tokenizerURL)
        config.retrievalPromptIds = nil
        #expect(config.retrievalPromptTokens(tokenizer: tokenizer)
            == tokenizer.encode(try #require(config.retrievalPrompt), maxLength: try #require(config.predictor).maxPromptTokens))
    }
}
