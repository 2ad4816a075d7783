import Foundation
import Neural

/// A bundle's `config.json`: families and sizes of the three networks, the heads, and the clip spec.
///
/// Field names follow Hugging Face's config names for each family, so a converter copies them across;
/// keys are snake_case in JSON. Unknown keys are ignored.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// Content hash of the bundle, when the bundle was stamped with one (see `ModelBundle.computeModelID`).
    public var modelId: String?
    public var name: String?
    /// Dimension of the shared embedding space (1,536 in the paper).
    public var sharedDim: Int
    public var clip: ClipConfig
    /// The captioning prompt the clip side runs through the predictor for retrieval (paper §4; not published).
    public var retrievalPrompt: String
    /// The retrieval prompt's token ids in the predictor's vocabulary, stored by the converter when that vocabulary
    /// differs from `tokenizer.json`'s (which is the Y-encoder's: Llama ids for the prompt, Gemma or BERT ids for
    /// queries). Absent: `retrieval_prompt` is encoded with the bundle's tokenizer.
    public var retrievalPromptIds: [Int]?
    public var vision: VisionConfig
    public var predictor: PredictorConfig
    public var text: TextConfig

    public static func decode(_ data: Data) throws -> ModelConfig {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ModelConfig.self, from: data)
    }

    /// The token ids the clip side feeds the predictor: `retrieval_prompt_ids` when present, else
    /// `retrieval_prompt` encoded with `tokenizer` (the bundle's `tokenizer.json`).
    public func retrievalPromptTokens(tokenizer: Tokenizer) -> [Int] {
        retrievalPromptIds ?? tokenizer.encode(retrievalPrompt, maxLength: predictor.maxPromptTokens)
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

/// How clips are cut and preprocessed before the X-encoder.
public struct ClipConfig: Codable, Sendable, Equatable {
    /// Frames per clip.
    public var frames: Int
    /// Frame sampling rate, frames per second.
    public var fps: Double
    /// Clip window length and hop, seconds.
    public var windowSeconds: Double
    public var strideSeconds: Double
    /// Square crop side the X-encoder sees, after resizing the short side to `resize`.
    public var size: Int
    public var resize: Int
    /// Per-channel RGB mean and standard deviation applied after scaling pixels to [0, 1].
    public var mean: [Float]
    public var std: [Float]
}

/// The X-encoder, family `vjepa2` (transformers' `VJEPA2Config` field names).
public struct VisionConfig: Codable, Sendable, Equatable {
    public var family: String
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var mlpRatio: Double
    public var patchSize: Int
    public var tubeletSize: Int
    public var cropSize: Int
    public var framesPerClip: Int
    public var inChans: Int
    public var layerNormEps: Float
    public var qkvBias: Bool
    public var hiddenAct: String

    public var headDim: Int { hiddenSize / numAttentionHeads }
    public var mlpSize: Int { Int(Double(hiddenSize) * mlpRatio) }
    public var grid: Int { cropSize / patchSize }
}

/// Llama 3 RoPE frequency scaling (`rope_scaling` with `rope_type: "llama3"`).
public struct RopeScaling: Codable, Sendable, Equatable {
    public var ropeType: String
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalMaxPositionEmbeddings: Double
}

/// The predictor, family `llama`, plus VL-JEPA's choices around it.
public struct PredictorConfig: Codable, Sendable, Equatable {
    public var family: String
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int?
    public var intermediateSize: Int
    public var rmsNormEps: Float
    public var vocabSize: Int
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling?
    public var hiddenAct: String
    public var attentionBias: Bool
    public var mlpBias: Bool
    /// Whether Llama's final RMSNorm (`norm.weight`) runs before pooling (open-vljepa: yes).
    public var finalNorm: Bool
    /// Which tokens the output average covers.
    public var pool: Pool
    /// Longest prompt accepted, in tokens.
    public var maxPromptTokens: Int
    public var padTokenId: Int?

    public enum Pool: String, Codable, Sendable {
        /// Visual tokens and the non-pad prompt tokens (open-vljepa; the paper's "non-[PAD] tokens").
        case allNonPad = "all_non_pad"
        /// Only the non-pad prompt tokens.
        case promptNonPad = "prompt_non_pad"
    }

    public var resolvedHeadDim: Int { headDim ?? hiddenSize / numAttentionHeads }
}

/// A dense layer after pooling (sentence-transformers' `Dense`), e.g. EmbeddingGemma's 768→3072→768.
public struct DenseSpec: Codable, Sendable, Equatable {
    public var inFeatures: Int
    public var outFeatures: Int
    public var bias: Bool
    /// `identity` or `tanh`.
    public var activation: String
}

/// The Y-encoder: family `bert` or `gemma3`, then pooling, optional dense layers and the projector.
public struct TextConfig: Codable, Sendable, Equatable {
    public var family: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    /// Pooling over the non-pad tokens; only `mean` is defined.
    public var pooling: String
    public var dense: [DenseSpec]
    public var maxTokens: Int

    // bert
    public var hiddenAct: String?
    public var maxPositionEmbeddings: Int?
    public var typeVocabSize: Int?
    public var layerNormEps: Float?

    // gemma3
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var hiddenActivation: String?
    public var rmsNormEps: Float?
    public var ropeTheta: Double?
    public var ropeLocalBaseFreq: Double?
    public var layerTypes: [String]?
    /// As written in Hugging Face's config.json; with bidirectional attention the window is `w / 2 + 1`, exclusive.
    public var slidingWindow: Int?
    public var useBidirectionalAttention: Bool?
    public var queryPreAttnScalar: Double?
    public var attentionBias: Bool?
}

/// A config that cannot describe a model this engine runs.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ModelConfig {
    /// Checks the relations between fields that the networks rely on.
    public func validate() throws {
        guard vision.family == "vjepa2" else { throw ConfigError("vision.family '\(vision.family)' is not supported (vjepa2)") }
        guard predictor.family == "llama" else { throw ConfigError("predictor.family '\(predictor.family)' is not supported (llama)") }
        guard ["bert", "gemma3"].contains(text.family) else { throw ConfigError("text.family '\(text.family)' is not supported (bert, gemma3)") }
        guard vision.hiddenSize % vision.numAttentionHeads == 0 else { throw ConfigError("vision.hidden_size is not a multiple of num_attention_heads") }
        guard predictor.numAttentionHeads % predictor.numKeyValueHeads == 0 else { throw ConfigError("predictor heads are not a multiple of key/value heads") }
        guard clip.size == vision.cropSize else { throw ConfigError("clip.size \(clip.size) differs from vision.crop_size \(vision.cropSize)") }
        guard clip.mean.count == vision.inChans, clip.std.count == vision.inChans else { throw ConfigError("clip.mean/std need \(vision.inChans) values") }
        guard text.pooling == "mean" else { throw ConfigError("text.pooling '\(text.pooling)' is not supported (mean)") }
        var width = text.hiddenSize
        for (i, d) in text.dense.enumerated() {
            guard d.inFeatures == width else { throw ConfigError("text.dense[\(i)].in_features \(d.inFeatures) should be \(width)") }
            guard ["identity", "tanh"].contains(d.activation) else { throw ConfigError("text.dense[\(i)].activation '\(d.activation)' is not supported") }
            width = d.outFeatures
        }
        guard Activation(huggingFace: vision.hiddenAct) != nil, Activation(huggingFace: predictor.hiddenAct) != nil else {
            throw ConfigError("unknown activation in vision or predictor")
        }
    }
}
