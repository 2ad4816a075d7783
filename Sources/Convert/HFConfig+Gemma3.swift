import Foundation

/// An EmbeddingGemma folder's `config.json` as transformers' `Gemma3TextConfig` reads it, and what the bundle takes
/// from it: the `text` section and the shapes of `Gemma3TextModel`.
///
/// RoPE comes as `rope_theta` and `rope_local_base_freq` (the published file) or as `rope_parameters` nested by
/// layer type (`full_attention`, `sliding_attention`; transformers 5); a theta inside `rope_parameters` wins, and the
/// defaults are 1,000,000 (full) and 10,000 (sliding). `sliding_window` is copied as the file writes it:
/// transformers rewrites it for bidirectional models, but the engine wants the published value.
struct HFGemma3Config {
    enum LayerType: String {
        case sliding = "sliding_attention"
        case full = "full_attention"
    }

    let path: String
    let vocabSize: Int
    let hiddenSize: Int
    let intermediateSize: Int
    let layers: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let hiddenActivation: String
    let rmsNormEps: PythonJSON
    let ropeTheta: Double
    let ropeLocalBaseFreq: Double
    let layerTypes: [LayerType]
    let slidingWindow: Int
    let queryPreAttnScalar: Int
    let attentionBias: Bool

    /// Reads `folder/config.json`.
    /// - Throws: `ConvertError` naming the file: missing, not JSON, a value of the wrong type, no RoPE thetas, no
    ///   `sliding_window`, layer types that do not match the layer count, or `use_bidirectional_attention` not true
    ///   (only EmbeddingGemma-style encoders are converted).
    init(folder: URL) throws(ConvertError) {
        let file = try HFConfigFile(folder: folder)
        path = file.path
        vocabSize = try file.int("vocab_size", default: 262_208)
        hiddenSize = try file.int("hidden_size", default: 2304)
        intermediateSize = try file.int("intermediate_size", default: 9216)
        layers = try file.int("num_hidden_layers", default: 26)
        heads = try file.int("num_attention_heads", default: 8)
        kvHeads = try file.int("num_key_value_heads", default: 4)
        headDim = try file.int("head_dim", default: 256)
        hiddenActivation = try file.string("hidden_activation", default: "gelu_pytorch_tanh")
        rmsNormEps = try file.number("rms_norm_eps", default: 1e-6)
        attentionBias = try file.bool("attention_bias", default: false)
        queryPreAttnScalar = try file.int("query_pre_attn_scalar", default: 256)
        try file.requireMultiple(("hidden_size", hiddenSize), of: ("num_attention_heads", heads))
        try file.requireMultiple(("num_attention_heads", heads), of: ("num_key_value_heads", kvHeads))
        (ropeTheta, ropeLocalBaseFreq) = try Self.rope(file)
        layerTypes = try Self.layerTypes(file, layers: layers)
        guard try file.bool("use_bidirectional_attention", default: false, nullable: true) else {
            throw file.fail("use_bidirectional_attention is not true (EmbeddingGemma-style encoders only)")
        }
        slidingWindow = try file.int("sliding_window", default: nil)
    }

    /// The full-attention and sliding-window thetas, as `Gemma3TextConfig.convert_rope_params_to_dict` settles them.
    private static func rope(_ file: HFConfigFile) throws(ConvertError) -> (Double, Double) {
        func members(_ value: PythonJSON?, _ what: String) throws(ConvertError) -> [(key: String, value: PythonJSON)] {
            switch value {
            case nil, .null?: return []
            case .object(let members)?: return members
            case let other?: throw file.fail("'\(what)' is \(other.typeName), not an object")
            }
        }
        let parameters = file["rope_parameters"]
        // `rope_scaling`, when given, updates the full-attention entry.
        let full = PythonJSON.object(try members(parameters?["full_attention"], "rope_parameters.full_attention")
            + members(file["rope_scaling"], "rope_scaling"))
        let sliding = PythonJSON.object(try members(parameters?["sliding_attention"], "rope_parameters.sliding_attention"))
        func theta(_ value: PythonJSON?) throws(ConvertError) -> Double {
            guard let value, value != .null else { throw file.fail("no rope_theta / rope_local_base_freq") }
            guard let number = value.number, number.isFinite, number > 0 else {
                throw file.fail("a RoPE theta must be a positive number")
            }
            return number
        }
        return (try theta(full["rope_theta"] ?? file["rope_theta"] ?? .float(1_000_000)),
                try theta(sliding["rope_theta"] ?? file["rope_local_base_freq"] ?? .float(10_000)))
    }

    /// `layer_types` as written (legacy `attention` read as `full_attention`), or, without it, every
    /// `sliding_window_pattern`-th layer (default 6) full and the others sliding, as transformers fills it in.
    private static func layerTypes(_ file: HFConfigFile, layers: Int) throws(ConvertError) -> [LayerType] {
        guard let written = file["layer_types"], written != .null else {
            let pattern = try file.int("sliding_window_pattern", default: 6)
            return (0..<layers).map { ($0 + 1) % pattern == 0 ? .full : .sliding }
        }
        guard case .array(let items) = written else { throw file.fail("'layer_types' is \(written.typeName), not a list") }
        let types = try items.map { item throws(ConvertError) -> LayerType in
            guard case .string(let name) = item, let type = LayerType(rawValue: name == "attention" ? "full_attention" : name)
            else { throw file.fail("layer type \(item.typeName) is not sliding_attention or full_attention") }
            return type
        }
        guard types.count == layers else {
            throw file.fail("\(types.count) layer_types for num_hidden_layers \(layers)")
        }
        return types
    }

    /// The bundle's `text` section (`convert.py`'s `gemma3_section`): mean pooled, no dense layers.
    func section(maxTokens: Int) -> PythonJSON {
        .object([
            ("family", .string("gemma3")), ("vocab_size", .int(vocabSize)), ("hidden_size", .int(hiddenSize)),
            ("num_hidden_layers", .int(layers)), ("num_attention_heads", .int(heads)),
            ("num_key_value_heads", .int(kvHeads)), ("head_dim", .int(headDim)),
            ("intermediate_size", .int(intermediateSize)), ("hidden_activation", .string(hiddenActivation)),
            ("rms_norm_eps", rmsNormEps), ("rope_theta", .float(ropeTheta)),
            ("rope_local_base_freq", .float(ropeLocalBaseFreq)),
            ("layer_types", .array(layerTypes.map { .string($0.rawValue) })), ("sliding_window", .int(slidingWindow)),
            ("use_bidirectional_attention", .bool(true)), ("query_pre_attn_scalar", .int(queryPreAttnScalar)),
            ("attention_bias", .bool(attentionBias)), ("pooling", .string("mean")), ("dense", .array([])),
            ("max_tokens", .int(maxTokens)),
        ])
    }

    /// The parameters of `Gemma3TextModel(config)`.
    var shapes: ExpectedShapes {
        let h = hiddenSize
        var shapes: ExpectedShapes = [("embed_tokens.weight", [vocabSize, h])]
        for i in 0..<layers {
            let p = "layers.\(i)."
            shapes += linearShapes(p + "self_attn.q_proj", out: heads * headDim, in: h, bias: attentionBias)
            shapes += linearShapes(p + "self_attn.k_proj", out: kvHeads * headDim, in: h, bias: attentionBias)
            shapes += linearShapes(p + "self_attn.v_proj", out: kvHeads * headDim, in: h, bias: attentionBias)
            shapes += linearShapes(p + "self_attn.o_proj", out: h, in: heads * headDim, bias: attentionBias)
            shapes += [(p + "self_attn.q_norm.weight", [headDim]), (p + "self_attn.k_norm.weight", [headDim])]
            shapes += linearShapes(p + "mlp.gate_proj", out: intermediateSize, in: h, bias: false)
            shapes += linearShapes(p + "mlp.up_proj", out: intermediateSize, in: h, bias: false)
            shapes += linearShapes(p + "mlp.down_proj", out: h, in: intermediateSize, bias: false)
            shapes += [(p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h]),
                       (p + "pre_feedforward_layernorm.weight", [h]), (p + "post_feedforward_layernorm.weight", [h])]
        }
        shapes.append(("norm.weight", [h]))
        return shapes
    }
}
