import Foundation

/// A Llama folder's `config.json` as transformers' `LlamaConfig` reads it, and what the bundle takes from it: the
/// `predictor` section and the shapes of a `LlamaModel` with the predictor's number of layers.
///
/// RoPE settings come in two spellings: `rope_theta` beside a `rope_scaling` dict (the published Llama 3.2 files,
/// transformers 4) and one `rope_parameters` dict holding `rope_theta` too (transformers 5). Both are read as
/// transformers 5 standardises them: `rope_scaling` wins over `rope_parameters`, a missing `rope_theta` is 10000, a
/// missing `rope_type` is the dict's `type` or `default`, and llama3 scaling's `original_max_position_embeddings`
/// defaults to `max_position_embeddings`.
struct HFLlamaConfig {
    /// Llama 3's frequency-dependent RoPE scaling.
    struct Llama3Scaling {
        let factor: Double
        let lowFreqFactor: Double
        let highFreqFactor: Double
        let originalMaxPositionEmbeddings: Double
    }

    let path: String
    let hiddenSize: Int
    let intermediateSize: Int
    let layers: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let vocabSize: Int
    let rmsNormEps: PythonJSON
    let hiddenAct: String
    let attentionBias: Bool
    let mlpBias: Bool
    let ropeTheta: Double
    /// nil for plain RoPE (`rope_type` default).
    let ropeScaling: Llama3Scaling?

    /// Reads `folder/config.json`.
    /// - Throws: `ConvertError` naming the file: missing, not JSON, a value of the wrong type, head counts that do not
    ///   divide, no `rope_theta`, or a RoPE type other than default and llama3.
    init(folder: URL) throws(ConvertError) {
        let file = try HFConfigFile(folder: folder)
        path = file.path
        vocabSize = try file.int("vocab_size", default: 32000)
        hiddenSize = try file.int("hidden_size", default: 4096)
        intermediateSize = try file.int("intermediate_size", default: 11008)
        layers = try file.int("num_hidden_layers", default: 32)
        heads = try file.int("num_attention_heads", default: 32)
        kvHeads = try file.int("num_key_value_heads", default: heads, nullable: true)
        headDim = try file.int("head_dim", default: hiddenSize / heads, nullable: true)
        rmsNormEps = try file.number("rms_norm_eps", default: 1e-6)
        hiddenAct = try file.string("hidden_act", default: "silu")
        attentionBias = try file.bool("attention_bias", default: false)
        mlpBias = try file.bool("mlp_bias", default: false)
        try file.requireMultiple(("hidden_size", hiddenSize), of: ("num_attention_heads", heads))
        try file.requireMultiple(("num_attention_heads", heads), of: ("num_key_value_heads", kvHeads))
        (ropeTheta, ropeScaling) = try Self.rope(file)
    }

    /// `rope_theta` and the llama3 scaling, if any, from either spelling.
    private static func rope(_ file: HFConfigFile) throws(ConvertError) -> (Double, Llama3Scaling?) {
        // `self.rope_parameters = rope_scaling or self.rope_parameters`: an empty or null dict does not count.
        func dict(_ key: String) throws(ConvertError) -> [(key: String, value: PythonJSON)]? {
            switch file[key] {
            case nil, .null?: return nil
            case .object(let members)?: return members.isEmpty ? nil : members
            case let other?: throw file.fail("'\(key)' is \(other.typeName), not an object")
            }
        }
        var members = try dict("rope_scaling")
        if members == nil { members = try dict("rope_parameters") }
        let parameters = PythonJSON.object(members ?? [])
        let theta = parameters["rope_theta"] ?? file["rope_theta"] ?? .float(10_000)
        guard theta != .null else { throw file.fail("no rope_theta") }
        guard let thetaValue = theta.number, thetaValue.isFinite, thetaValue > 0 else {
            throw file.fail("rope_theta must be a positive number")
        }
        let ropeType = parameters["rope_type"] ?? parameters["type"] ?? .string("default")
        switch ropeType {
        case .string("default"):
            return (thetaValue, nil)
        case .string("llama3"):
            func factor(_ key: String, default fallback: PythonJSON? = nil) throws(ConvertError) -> Double {
                guard let value = parameters[key] ?? fallback else {
                    throw file.fail("rope type llama3 without '\(key)'")
                }
                guard let number = value.number, number.isFinite, number > 0 else {
                    throw file.fail("llama3 RoPE '\(key)' must be a positive number")
                }
                return number
            }
            let maxPositions = try file.int("max_position_embeddings", default: 2048, in: 1...Int(Int32.max))
            return (thetaValue, Llama3Scaling(
                factor: try factor("factor"), lowFreqFactor: try factor("low_freq_factor"),
                highFreqFactor: try factor("high_freq_factor"),
                originalMaxPositionEmbeddings: try factor("original_max_position_embeddings", default: .int(maxPositions))))
        case .string(let other):
            throw file.fail("rope type '\(other)' is not supported (default, llama3)")
        default:
            throw file.fail("rope type is \(ropeType.typeName), not a string")
        }
    }

    /// The bundle's `predictor` section for `layers` decoder layers (`convert.py`'s `llama_section`).
    func section(layers: Int, maxPromptTokens: Int) -> PythonJSON {
        var members: [(key: String, value: PythonJSON)] = [
            ("family", .string("llama")), ("hidden_size", .int(hiddenSize)), ("num_hidden_layers", .int(layers)),
            ("num_attention_heads", .int(heads)), ("num_key_value_heads", .int(kvHeads)), ("head_dim", .int(headDim)),
            ("intermediate_size", .int(intermediateSize)), ("rms_norm_eps", rmsNormEps), ("vocab_size", .int(vocabSize)),
            ("rope_theta", .float(ropeTheta)), ("hidden_act", .string(hiddenAct)),
            ("attention_bias", .bool(attentionBias)), ("mlp_bias", .bool(mlpBias)), ("final_norm", .bool(true)),
            ("pool", .string("all_non_pad")), ("max_prompt_tokens", .int(maxPromptTokens)),
        ]
        if let s = ropeScaling {
            members.append(("rope_scaling", .object([
                ("rope_type", .string("llama3")), ("factor", .float(s.factor)), ("low_freq_factor", .float(s.lowFreqFactor)),
                ("high_freq_factor", .float(s.highFreqFactor)),
                ("original_max_position_embeddings", .float(s.originalMaxPositionEmbeddings)),
            ])))
        }
        return .object(members)
    }

    /// The parameters of `LlamaModel` built from this config with `layers` decoder layers (`convert.py`'s
    /// `llama_shapes`): the embedding table, the layers, the final norm.
    func shapes(layers: Int) -> ExpectedShapes {
        let h = hiddenSize
        var shapes: ExpectedShapes = [("embed_tokens.weight", [vocabSize, h])]
        for i in 0..<layers {
            let p = "layers.\(i)."
            shapes += linearShapes(p + "self_attn.q_proj", out: heads * headDim, in: h, bias: attentionBias)
            shapes += linearShapes(p + "self_attn.k_proj", out: kvHeads * headDim, in: h, bias: attentionBias)
            shapes += linearShapes(p + "self_attn.v_proj", out: kvHeads * headDim, in: h, bias: attentionBias)
            shapes += linearShapes(p + "self_attn.o_proj", out: h, in: heads * headDim, bias: attentionBias)
            shapes += linearShapes(p + "mlp.gate_proj", out: intermediateSize, in: h, bias: mlpBias)
            shapes += linearShapes(p + "mlp.up_proj", out: intermediateSize, in: h, bias: mlpBias)
            shapes += linearShapes(p + "mlp.down_proj", out: h, in: intermediateSize, bias: mlpBias)
            shapes += [(p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h])]
        }
        shapes.append(("norm.weight", [h]))
        return shapes
    }
}
