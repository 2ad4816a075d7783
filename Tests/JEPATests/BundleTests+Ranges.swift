import Foundation
import Testing
import TestSupport
@testable import JEPA

/// One out-of-range number written into a fixture's `config.json`, and the field the error must name.
struct BadValue: Sendable, CustomTestStringConvertible {
    /// Keys from the root; a number indexes an array.
    var path: [String]
    /// Raw JSON spliced in as written.
    var json: String
    var field: String
    var fixture = "vljepa-tiny-gemma"

    init(_ path: String, _ json: String, names field: String? = nil, in fixture: String = "vljepa-tiny-gemma") {
        self.path = path.split(separator: ".").map(String.init)
        self.json = json
        self.field = field ?? path
        self.fixture = fixture
    }

    var testDescription: String { "\(path.joined(separator: ".")) = \(json)" }

    /// `data` (a JSON object) with the value at `path` replaced by `json`.
    func apply(to data: Data) throws -> Data {
        func setting(_ node: Any, _ path: ArraySlice<String>) -> Any {
            guard let key = path.first else { return "__BAD_VALUE__" }
            if var array = node as? [Any], let i = Int(key) {
                array[i] = setting(array[i], path.dropFirst())
                return array
            }
            var object = node as? [String: Any] ?? [:]
            object[key] = setting(object[key] ?? [String: Any](), path.dropFirst())
            return object
        }
        let edited = setting(try JSONSerialization.jsonObject(with: data), path[...])
        let text = String(decoding: try JSONSerialization.data(withJSONObject: edited), as: UTF8.self)
        return Data(text.replacingOccurrences(of: "\"__BAD_VALUE__\"", with: json).utf8)
    }
}

extension BundleTests {
    /// Values a probe found crashing, hanging, exhausting memory or giving NaN: each is now an error naming the field.
    static let badVJEPAValues: [BadValue] = [
        BadValue("vision.num_attention_heads", "0"),
        BadValue("vision.num_attention_heads", "4611686018427387904"),
        BadValue("predictor.num_key_value_heads", "0"),
        BadValue("predictor.num_attention_heads", "-2"),
        BadValue("text.num_attention_heads", "0"),
        BadValue("text.num_key_value_heads", "0"),
        BadValue("vision.num_hidden_layers", "-1"),
        BadValue("predictor.num_hidden_layers", "1000000000"),
        BadValue("text.num_hidden_layers", "-3"),
        BadValue("predictor.head_dim", "4611686018427387904"),
        BadValue("text.head_dim", "4611686018427387904"),
        BadValue("text.head_dim", "7"),
        BadValue("vision.hidden_size", "0"),
        BadValue("predictor.hidden_size", "4611686018427387904"),
        BadValue("predictor.intermediate_size", "0"),
        BadValue("text.intermediate_size", "-1"),
        BadValue("vision.mlp_ratio", "1e300"),
        BadValue("vision.mlp_ratio", "1e-300"),
        BadValue("clip.window_seconds", "1e300"),
        BadValue("clip.stride_seconds", "1e-300"),
        BadValue("clip.fps", "0"),
        BadValue("clip.frames", "1000000000"),
        BadValue("clip.frames", "0"),
        BadValue("clip.frames", "1001", names: "clip.frames / clip.window_seconds"),
        BadValue("clip.size", "0"),
        BadValue("clip.resize", "8"),
        BadValue("clip.std", "[0.2, 0, 0.2]", names: "clip.std[1]"),
        BadValue("vision.frames_per_clip", "1000000000"),
        BadValue("vision.patch_size", "0"),
        BadValue("vision.tubelet_size", "0"),
        BadValue("vision.layer_norm_eps", "0"),
        BadValue("predictor.rms_norm_eps", "-1"),
        BadValue("text.rms_norm_eps", "-1"),
        BadValue("text.rms_norm_eps", "1e30"),
        BadValue("predictor.rope_theta", "0"),
        BadValue("text.rope_theta", "-1"),
        BadValue("text.rope_local_base_freq", "1e300"),
        BadValue("predictor.rope_scaling.low_freq_factor", "4", names: "predictor.rope_scaling.high_freq_factor"),
        BadValue("predictor.rope_scaling.factor", "0"),
        BadValue("predictor.vocab_size", "1000000000"),
        BadValue("predictor.max_prompt_tokens", "0"),
        BadValue("predictor.pad_token_id", "64"),
        BadValue("text.vocab_size", "0"),
        BadValue("text.max_tokens", "0"),
        BadValue("text.sliding_window", "0"),
        BadValue("text.query_pre_attn_scalar", "-24"),
        BadValue("shared_dim", "0"),
        BadValue("text.layer_norm_eps", "-1", in: "vljepa-tiny-bert"),
        BadValue("text.max_position_embeddings", "-1", in: "vljepa-tiny-bert"),
        BadValue("text.type_vocab_size", "0", in: "vljepa-tiny-bert"),
        BadValue("text.dense.0.out_features", "0", names: "text.dense[0].out_features", in: "vljepa-tiny-bert"),
    ]

    @Test(arguments: badVJEPAValues)
    func outOfRangeNumbersNameTheField(_ bad: BadValue) throws {
        let (dir, _) = try editedBundle(bad.fixture) { _ in }
        let url = dir.file("config.json")
        try bad.apply(to: Data(contentsOf: url)).write(to: url)
        let error = #expect(throws: BundleError.self) { try ModelBundle(directory: dir.url) }
        #expect(error?.path == url.path)
        #expect(error?.reason.hasPrefix(bad.field + " ") == true, "\(error?.reason ?? "no error")")
    }

    @Test(arguments: ["vljepa-tiny-gemma", "vljepa-tiny-bert"])
    func fixtureConfigsPassTheRangeChecks(_ name: String) throws {
        let (dir, _) = try editedBundle(name) { _ in }
        _ = try ModelBundle(directory: dir.url).load()
    }

    @Test func rangeMessagesGiveTheAllowedRange() throws {
        let (dir, _) = try editedBundle { _ in }
        let url = dir.file("config.json")
        try BadValue("vision.num_attention_heads", "0").apply(to: Data(contentsOf: url)).write(to: url)
        #expect(throws: BundleError(path: url.path, reason: "vision.num_attention_heads 0 is not in 1...1024")) {
            try ModelBundle(directory: dir.url)
        }
    }

    /// A small valid `efficientnet` config (the shape of `Models/objects/config.json`).
    static let efficientNetConfig = Data("""
        {"shared_dim": 8, "concepts": {"count": 10, "top_k": 3},
         "clip": {"fps": 1, "frames": 2, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "resize": 32, "size": 32,
                  "stride_seconds": 2, "window_seconds": 2},
         "text": {"dense": [], "family": "bert", "hidden_act": "gelu", "hidden_size": 8, "intermediate_size": 16,
                  "layer_norm_eps": 1e-12, "max_position_embeddings": 16, "max_tokens": 16, "num_attention_heads": 2,
                  "num_hidden_layers": 1, "pooling": "mean", "projector": false, "type_vocab_size": 2, "vocab_size": 64},
         "vision": {"family": "efficientnet", "head_channels": 32, "image_size": 32, "in_chans": 3, "num_classes": 10,
                    "padding": "same", "stem_channels": 8,
                    "stages": [{"expand_ratio": 1, "kernel": 3, "out_channels": 8, "repeats": 1, "stride": 1},
                               {"expand_ratio": 6, "kernel": 5, "out_channels": 16, "repeats": 2, "stride": 2}]}}
        """.utf8)

    static let badEfficientNetValues: [BadValue] = [
        BadValue("vision.image_size", "0"),
        BadValue("vision.image_size", "1000000"),
        BadValue("vision.in_chans", "0"),
        BadValue("vision.stem_channels", "0"),
        BadValue("vision.head_channels", "4611686018427387904"),
        BadValue("vision.num_classes", "-1"),
        BadValue("vision.stages", "[]", names: "vision.stages count"),
        BadValue("vision.stages.0.repeats", "1000000000", names: "vision.stages[0].repeats"),
        BadValue("vision.stages.1.kernel", "4", names: "vision.stages[1].kernel"),
        BadValue("vision.stages.1.stride", "0", names: "vision.stages[1].stride"),
        BadValue("vision.stages.1.expand_ratio", "4611686018427387904", names: "vision.stages[1].expand_ratio"),
        BadValue("vision.stages.0.out_channels", "0", names: "vision.stages[0].out_channels"),
        BadValue("concepts.count", "0"),
        BadValue("concepts.top_k", "0"),
        BadValue("clip.frames", "1000000000"),
        BadValue("clip.window_seconds", "1e300"),
        BadValue("clip.mean", "[0.5, 1e7, 0.5]", names: "clip.mean[1]"),
        BadValue("text.layer_norm_eps", "-1"),
        BadValue("text.num_attention_heads", "3", names: "text.hidden_size"),
        BadValue("text.max_position_embeddings", "0"),
        BadValue("shared_dim", "0"),
    ]

    @Test(arguments: badEfficientNetValues)
    func efficientNetOutOfRangeNumbersNameTheField(_ bad: BadValue) throws {
        try ModelConfig.decode(Self.efficientNetConfig).validate()
        let config = try ModelConfig.decode(bad.apply(to: Self.efficientNetConfig))
        let error = #expect(throws: ConfigError.self) { try config.validate() }
        #expect(error?.description.hasPrefix(bad.field + " ") == true, "\(error?.description ?? "no error")")
    }
}
