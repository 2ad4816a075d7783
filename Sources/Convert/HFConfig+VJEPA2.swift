import Foundation

/// A V-JEPA 2 folder's `config.json` as transformers' `VJEPA2Config` reads it (its defaults are those of
/// `facebook/vjepa2-vitl-fpc64-256`), and what the bundle takes from it: the `vision` section and the encoder's
/// tensor shapes.
struct HFVJEPA2Config {
    let path: String
    let hiddenSize: Int
    let layers: Int
    let heads: Int
    let mlpRatio: Double
    let patchSize: Int
    let tubeletSize: Int
    let cropSize: Int
    let framesPerClip: Int
    let inChannels: Int
    let layerNormEps: PythonJSON
    let qkvBias: Bool
    let hiddenAct: String

    /// Reads `folder/config.json`.
    /// - Throws: `ConvertError` naming the file: missing, not JSON, a `model_type` other than `vjepa2`, a value of
    ///   the wrong type, or sizes that do not fit together.
    init(folder: URL) throws(ConvertError) {
        let file = try HFConfigFile(folder: folder)
        path = file.path
        hiddenSize = try file.int("hidden_size", default: 1024)
        layers = try file.int("num_hidden_layers", default: 24)
        heads = try file.int("num_attention_heads", default: 16)
        guard let ratio = try file.number("mlp_ratio", default: 4.0).number, ratio > 0 else {
            throw file.fail("'mlp_ratio' is not positive")
        }
        mlpRatio = ratio
        patchSize = try file.int("patch_size", default: 16)
        tubeletSize = try file.int("tubelet_size", default: 2)
        cropSize = try file.int("crop_size", default: 256)
        framesPerClip = try file.int("frames_per_clip", default: 64)
        inChannels = try file.int("in_chans", default: 3)
        layerNormEps = try file.number("layer_norm_eps", default: 1e-6)
        qkvBias = try file.bool("qkv_bias", default: true)
        hiddenAct = try file.string("hidden_act", default: "gelu")
        switch file["model_type"] {
        case nil, .null?, .string("vjepa2")?: break
        case .string(let other)?: throw file.fail("model_type '\(other)' is not vjepa2")
        case let other?: throw file.fail("model_type is \(other.typeName), not 'vjepa2'")
        }
        try file.requireMultiple(("hidden_size", hiddenSize), of: ("num_attention_heads", heads))
        guard (1...HFConfigFile.maximumDimension).contains(mlpWidth) else {
            throw file.fail("hidden_size × mlp_ratio is \(Double(hiddenSize) * mlpRatio), not a usable MLP width")
        }
    }

    /// The MLP's hidden width, `int(hidden_size * mlp_ratio)` as `VJEPA2MLP` computes it.
    var mlpWidth: Int {
        let width = (Double(hiddenSize) * mlpRatio).rounded(.towardZero)
        return width < Double(HFConfigFile.maximumDimension + 1) ? Int(width) : HFConfigFile.maximumDimension + 1
    }

    /// The bundle's `vision` section (`convert.py`'s `vision_section`).
    var section: PythonJSON {
        .object([
            ("family", .string("vjepa2")), ("hidden_size", .int(hiddenSize)), ("num_hidden_layers", .int(layers)),
            ("num_attention_heads", .int(heads)), ("mlp_ratio", .float(mlpRatio)), ("patch_size", .int(patchSize)),
            ("tubelet_size", .int(tubeletSize)), ("crop_size", .int(cropSize)),
            ("frames_per_clip", .int(framesPerClip)), ("in_chans", .int(inChannels)),
            ("layer_norm_eps", layerNormEps), ("qkv_bias", .bool(qkvBias)), ("hidden_act", .string(hiddenAct)),
        ])
    }

    /// The parameters of `VJEPA2Model(config).encoder`, named without the `encoder.` prefix.
    var encoderShapes: ExpectedShapes {
        let h = hiddenSize
        var shapes: ExpectedShapes = [
            ("embeddings.patch_embeddings.proj.weight", [h, inChannels, tubeletSize, patchSize, patchSize]),
            ("embeddings.patch_embeddings.proj.bias", [h]),
        ]
        for i in 0..<layers {
            let p = "layer.\(i)."
            shapes += [(p + "norm1.weight", [h]), (p + "norm1.bias", [h])]
            for name in ["query", "key", "value"] {
                shapes += linearShapes(p + "attention." + name, out: h, in: h, bias: qkvBias)
            }
            shapes += linearShapes(p + "attention.proj", out: h, in: h, bias: true)
            shapes += [(p + "norm2.weight", [h]), (p + "norm2.bias", [h])]
            shapes += linearShapes(p + "mlp.fc1", out: mlpWidth, in: h, bias: true)
            shapes += linearShapes(p + "mlp.fc2", out: h, in: mlpWidth, bias: true)
        }
        shapes += [("layernorm.weight", [h]), ("layernorm.bias", [h])]
        return shapes
    }
}
