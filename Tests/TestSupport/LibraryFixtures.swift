import Foundation

/// A tiny model bundle and tiny videos for the library and daemon tests.
///
/// The bundle is the JEPA test fixture `vljepa-tiny-bert` (32 × 32 crops, 4 frames per 1 s window every 0.5 s,
/// vocabulary 64) with a stamped `model_id` and a hand-made 64-token WordPiece `tokenizer.json`.
public enum LibraryFixtures {
    public static let tinyBundle = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("JEPATests/Fixtures/vljepa-tiny-bert")

    /// Writes a bundle into `directory` with `model_id` = `id` (and `domain` and `tasks`, when given).
    public static func bundle(in directory: URL, id: String, domain: String? = nil, tasks: [String]? = nil) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: tinyBundle.appendingPathComponent("config.json")))
        guard var object = config as? [String: Any] else { throw Tool.Failure(description: "config.json is not an object") }
        object["model_id"] = id
        if let domain { object["domain"] = domain }
        if let tasks { object["tasks"] = tasks }
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"))
        let weights = directory.appendingPathComponent("model.safetensors")
        if !FileManager.default.fileExists(atPath: weights.path) {
            try FileManager.default.copyItem(at: tinyBundle.appendingPathComponent("model.safetensors"), to: weights)
        }
        try Data(tokenizerJSON.utf8).write(to: directory.appendingPathComponent("tokenizer.json"))
        return directory
    }

    /// 64 tokens: specials, letters, continuation letters, punctuation and a few words.
    public static let vocabulary: [String] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + (UInt8(ascii: "a")...UInt8(ascii: "z")).map { String(UnicodeScalar($0)) }
        + (UInt8(ascii: "a")...UInt8(ascii: "z")).map { "##" + String(UnicodeScalar($0)) }
        + [".", ",", "red", "ball", "the", "video", "describe"]

    public static var tokenizerJSON: String {
        let vocab = vocabulary.enumerated().map { "\"\($0.element)\": \($0.offset)" }.joined(separator: ", ")
        return """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [
              {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
              {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
              {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
              {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
              {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
             "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
             "pre_tokenizer": {"type": "BertPreTokenizer"},
             "post_processor": {"type": "TemplateProcessing",
              "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
              "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
              "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
             "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
              "vocab": {\(vocab)}}}
            """
    }

    /// A small H.264 test-pattern video of `seconds` at 64 × 48, 10 fps; `seed` changes the picture.
    public static func video(_ path: String, seconds: Double, seed: Int = 0) throws {
        let patterns = ["testsrc", "testsrc2", "smptebars", "rgbtestsrc"]
        try run("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                           "\(patterns[seed % patterns.count])=size=64x48:rate=10:duration=\(seconds)",
                           "-vf", "hue=h=\(seed * 37)", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path])
    }

    public static func run(_ tool: String, _ arguments: [String]) throws {
        try Tool.run(tool, arguments)
    }
}
