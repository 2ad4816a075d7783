import Foundation
import Neural
import Testing
import TestSupport
@testable import JEPA

/// Full tiny VL-JEPA bundles against the PyTorch assembly, plus strict loading and the model id.
@Suite struct BundleTests {
    func clips(_ video: Tensor) -> [Tensor] {
        let per = video.count / video.shape[0]
        return (0..<video.shape[0]).map {
            Tensor(shape: Array(video.shape.dropFirst()), scalars: Array(video.scalars[($0 * per)..<(($0 + 1) * per)]))
        }
    }

    @Test(arguments: ["vljepa-tiny-gemma", "vljepa-tiny-bert"])
    func fullModelMatchesPyTorch(_ name: String) throws {
        let golden = try Golden(name)
        let bundle = try ModelBundle(directory: golden.directory)
        let model = try bundle.load()
        let prompt = try #require(try golden.io.integers("prompt_ids")).values
        let clipVectors = try model.embedClips(clips(try golden.tensor("pixel_values_videos")), prompt: prompt)
        expectMatches(clipVectors, try golden.tensor("clip_vectors"))
        let texts = try golden.sequences("text_ids", lengths: "text_lengths")
        expectMatches(try model.embedTexts(texts), try golden.tensor("text_vectors"))
        for i in 0..<clipVectors.shape[0] {
            let norm = clipVectors.row(i).reduce(0) { $0 + $1 * $1 }
            #expect(Swift.abs(norm - 1) < 1e-5)
        }
    }

    @Test func textEncoderAloneMatchesTheFullModel() throws {
        let golden = try Golden("vljepa-tiny-bert")
        let encoder = try ModelBundle(directory: golden.directory).loadTextEncoder()
        let texts = try golden.sequences("text_ids", lengths: "text_lengths")
        expectMatches(try encoder.embed(texts, workspace: Workspace()), try golden.tensor("text_vectors"))
        let (dir, weights) = try editedBundle { t in t["y_encoder.stray"] = Tensor(shape: [1], scalars: [0]) }
        #expect(throws: NeuralError.unusedTensors(path: weights.path, tensors: ["y_encoder.stray"])) {
            try ModelBundle(directory: dir.url).loadTextEncoder()
        }
    }

    @Test(arguments: [("vljepa-tiny-bert", SafeTensors.DType.f16), ("vljepa-tiny-gemma", .bf16)])
    func streamedHalfWeightsMatchConvertedOnes(_ name: String, _ dtype: SafeTensors.DType) throws {
        // The query path keeps 16-bit weights in the file and converts them inside each product; the full model
        // converts them at load. Same numbers either way.
        let (dir, _) = try editedBundle(name, dtype: dtype) { _ in }
        let bundle = try ModelBundle(directory: dir.url)
        let texts = try Golden(name).sequences("text_ids", lengths: "text_lengths")
        let streamed = try bundle.loadTextEncoder().embed(texts, workspace: Workspace())
        expectMatches(streamed, try bundle.load().embedTexts(texts))
        // The whole model streamed (as a bundle over `streamedWeightBytes` loads) against converted at load.
        let golden = try Golden(name)
        let video = clips(try golden.tensor("pixel_values_videos"))
        let prompt = try #require(try golden.io.integers("prompt_ids")).values
        let whole = try bundle.load(streamHalfWeights: true)
        expectMatches(try whole.embedClips(video, prompt: prompt), try bundle.load(streamHalfWeights: false).embedClips(video, prompt: prompt))
        expectMatches(try whole.embedTexts(texts), streamed)
    }

    @Test func promptLimitsAreChecked() throws {
        let golden = try Golden("vljepa-tiny-bert")  // pools over prompt tokens only
        let model = try ModelBundle(directory: golden.directory).load()
        let clip = clips(try golden.tensor("pixel_values_videos"))[0]
        // Input problems are the request's, not the bundle's: ModelInputError, not ConfigError.
        #expect(throws: ModelInputError.textLength(tokens: 0, limit: 1...16, what: "prompt (predictor.pool is prompt_non_pad)")) {
            try model.embedClips([clip], prompt: [])
        }
        #expect(throws: ModelInputError.textLength(tokens: 17, limit: 0...16, what: "prompt")) {
            try model.embedClips([clip], prompt: [Int](repeating: 1, count: 17))
        }
        #expect(throws: ModelInputError.tokenOutsideVocabulary(id: 64, size: 64)) { try model.embedClips([clip], prompt: [64]) }
        #expect(throws: ModelInputError.textLength(tokens: 0, limit: 1...16, what: "text")) { try model.embedTexts([[]]) }
        #expect(try model.embedClips([], prompt: [1]).shape == [0, 24])
    }

    /// Copies a fixture bundle into a temporary folder, rewriting its weights with `edit`.
    func editedBundle(_ name: String = "vljepa-tiny-gemma", dtype: SafeTensors.DType = .f32,
                      _ edit: (inout [String: Tensor]) -> Void) throws -> (TemporaryDirectory, URL) {
        let golden = try Golden(name)
        let dir = try TemporaryDirectory()
        var tensors: [String: Tensor] = [:]
        for name in golden.weights.names { tensors[name] = try golden.weights.parameter(name)!.tensor }
        edit(&tensors)
        try SafeTensors.serialize(tensors, dtype: dtype).write(to: dir.file("model.safetensors"))
        try FileManager.default.copyItem(at: golden.directory.appendingPathComponent("config.json"), to: dir.file("config.json"))
        return (dir, dir.file("model.safetensors"))
    }

    @Test func transposedWeightIsNamed() throws {
        let (dir, weights) = try editedBundle { t in
            let w = t["predictor.vis_proj.weight"]!
            t["predictor.vis_proj.weight"] = Tensor(shape: [w.shape[1], w.shape[0]], scalars: w.scalars)
        }
        #expect(throws: NeuralError.shapeMismatch(path: weights.path, tensor: "predictor.vis_proj.weight", expected: [48, 64], found: [64, 48])) {
            try ModelBundle(directory: dir.url).load()
        }
    }

    @Test func missingAndUnusedTensorsAreNamed() throws {
        let (dir, weights) = try editedBundle { t in t["y_encoder.projector.bias"] = nil }
        #expect(throws: NeuralError.missingTensor(path: weights.path, tensor: "y_encoder.projector.bias")) {
            try ModelBundle(directory: dir.url).load()
        }
        let (dir2, weights2) = try editedBundle { t in t["predictor.rotary_emb.inv_freq"] = Tensor(shape: [6], scalars: [1, 2, 3, 4, 5, 6]) }
        #expect(throws: NeuralError.unusedTensors(path: weights2.path, tensors: ["predictor.rotary_emb.inv_freq"])) {
            try ModelBundle(directory: dir2.url).load()
        }
    }

    /// Rewrites the copied `config.json` of `dir` with `edit`.
    func editConfig(_ dir: TemporaryDirectory, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.file("config.json"))) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: dir.file("config.json"))
    }

    @Test func unknownVisionFamilyListsTheSupportedOnes() throws {
        let (dir, _) = try editedBundle { _ in }
        try editConfig(dir) { object in
            var vision = object["vision"] as! [String: Any]
            vision["family"] = "resnet"
            object["vision"] = vision
        }
        #expect(throws: BundleError(path: dir.file("config.json").path,
                                    reason: "vision.family 'resnet' is not supported by this build (supported: vjepa2, efficientnet)")) {
            try ModelBundle(directory: dir.url)
        }
    }

    @Test func eachFamilyNeedsItsHead() throws {
        let (dir, _) = try editedBundle { _ in }
        try editConfig(dir) { object in object["predictor"] = nil }
        #expect(throws: BundleError(path: dir.file("config.json").path, reason: "the vjepa2 family needs a 'predictor' section")) {
            try ModelBundle(directory: dir.url)
        }
    }

    /// The domain describes the model to users: declaring one keeps the id, so libraries made before stay valid.
    @Test func domainIsLeftOutOfTheModelID() throws {
        let (dir, _) = try editedBundle { _ in }
        try editConfig(dir) { object in object["model_id"] = nil }  // computed, not stamped
        let before = try ModelBundle(directory: dir.url)
        try editConfig(dir) { object in object["domain"] = "synthetic" }
        let after = try ModelBundle(directory: dir.url)
        #expect(after.config.domain == "synthetic" && after.config.isSynthetic)
        #expect(after.modelID == before.modelID)
    }

    @Test func modelIDIsAContentHash() throws {
        let golden = try Golden("vljepa-tiny-gemma")
        let original = try ModelBundle(directory: golden.directory).modelID
        #expect(original.hasPrefix("vj1-") && original.count == 36)
        let same = try TemporaryDirectory()
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: golden.directory.appendingPathComponent(file), to: same.file(file))
        }
        #expect(try ModelBundle(directory: same.url).modelID == original)
        let (rewritten, _) = try editedBundle { _ in }
        let (changed, _) = try editedBundle { t in t["predictor.out_proj.bias"]!.scalars[0] += 1e-3 }
        #expect(try ModelBundle(directory: changed.url).modelID != ModelBundle(directory: rewritten.url).modelID)
        // A stamped id is taken as is, without hashing.
        var config = try ModelConfig.decode(Data(contentsOf: same.file("config.json")))
        config.modelId = "vj1-stamped"
        try config.encoded().write(to: same.file("config.json"))
        #expect(try ModelBundle(directory: same.url).modelID == "vj1-stamped")
        #expect(try ModelBundle.computeModelID(directory: same.url, config: config) == original)
        // Stamping writes the content hash back.
        #expect(try ModelBundle.stamp(directory: same.url) == original)
        #expect(try ModelBundle(directory: same.url).modelID == original)
        #expect(try ModelBundle(directory: same.url).config.modelId == original)
    }

    @Test func sha256MatchesKnownVectors() {
        var h = SHA256()
        h.update(Array("abc".utf8))
        #expect(SHA256.hex(h.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256()
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        long.update(Array(million[..<333]))
        long.update(Array(million[333...]))
        #expect(SHA256.hex(long.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func invalidConfigsNameTheProblem() throws {
        let (dir, _) = try editedBundle { _ in }
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.file("config.json"))) as! [String: Any]
        let valid = object
        var text = object["text"] as! [String: Any]
        text["family"] = "t5"
        object["text"] = text
        try JSONSerialization.data(withJSONObject: object).write(to: dir.file("config.json"))
        #expect(throws: BundleError(path: dir.file("config.json").path, reason: "text.family 't5' is not supported (bert, gemma3)")) {
            try ModelBundle(directory: dir.url)
        }
        // Every closed set of names is checked while decoding, naming the field as the JSON spells it.
        let names: [(section: String, key: String, value: Any, reason: String)] = [
            ("predictor", "hidden_act", "mish", "predictor.hidden_act 'mish' is not supported"),
            ("predictor", "family", "mistral", "predictor.family 'mistral' is not supported (llama)"),
            ("vision", "hidden_act", "tanhh", "vision.hidden_act 'tanhh' is not supported"),
            ("text", "pooling", "cls", "text.pooling 'cls' is not supported (mean)"),
        ]
        for (section, key, value, reason) in names {
            var edited = valid
            var part = edited[section] as! [String: Any]
            part[key] = value
            edited[section] = part
            try JSONSerialization.data(withJSONObject: edited).write(to: dir.file("config.json"))
            #expect(throws: BundleError(path: dir.file("config.json").path, reason: reason)) {
                try ModelBundle(directory: dir.url)
            }
        }
        object.removeValue(forKey: "shared_dim")
        try JSONSerialization.data(withJSONObject: object).write(to: dir.file("config.json"))
        #expect(throws: BundleError(path: dir.file("config.json").path, reason: "missing key 'sharedDim'")) {
            try ModelBundle(directory: dir.url)
        }
    }

    @Test func clipTensorNormalisesRGB() throws {
        let spec = ClipConfig(frames: 1, fps: 1, windowSeconds: 1, strideSeconds: 1, size: 1, resize: 1,
                            mean: [0.5, 0.25, 0], std: [0.5, 0.25, 1])
        let t = try spec.tensor(fromRGB: [[255, 0, 51]])
        #expect(t.shape == [1, 3, 1, 1])
        #expect(zip(t.scalars, [1, -1, 0.2] as [Float]).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        #expect(throws: ModelInputError.frameSize(frame: 0, bytes: 2, expected: 3)) { try spec.tensor(fromRGB: [[1, 2]]) }
    }
}

@Suite struct ParameterCountTests {
    @Test(arguments: ["vljepa-tiny-gemma", "vljepa-tiny-bert"])
    func countsCoverEveryStoredValue(_ name: String) throws {
        let golden = try Golden(name)
        let model = try ModelBundle(directory: golden.directory).load()
        let stored = golden.weights.entries.values.reduce(0) { $0 + $1.count }
        #expect(model.parts.map(\.name) == ["x-encoder", "predictor", "y-encoder"])
        #expect(model.parts.reduce(0) { $0 + $1.parameters } == stored)
        let visionStored = golden.weights.entries.values.filter { $0.name.hasPrefix("x_encoder.") }.reduce(0) { $0 + $1.count }
        #expect(model.parts[0].parameters == visionStored)
    }
}
