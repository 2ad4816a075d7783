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
    /// What the model learned to see, shown to users: `synthetic` (coloured shapes only) or, for example,
    /// `imagenet-objects`. Absent in bundles made before the field existed (read as `unknown`).
    public var domain: String?
    /// The tasks the model was trained for, when the bundle declares them (absent: unknown). Like `domain`, they
    /// describe the model to users and are left out of the model id.
    public var tasks: [ModelTask]?
    /// Dimension of the shared embedding space (1,536 in the paper).
    public var sharedDim: Int
    public var clip: ClipConfig
    /// The captioning prompt the clip side runs through the predictor for retrieval (paper §4; not published).
    /// Required with a predictor.
    public var retrievalPrompt: String?
    /// The retrieval prompt's token ids in the predictor's vocabulary, stored by the converter when that vocabulary
    /// differs from `tokenizer.json`'s (which is the Y-encoder's: Llama ids for the prompt, Gemma or BERT ids for
    /// queries). Absent: `retrieval_prompt` is encoded with the bundle's tokenizer.
    public var retrievalPromptIds: [Int]?
    /// The X-encoder: `vjepa2` (a ViT over the clip) or `efficientnet` (a CNN over each frame).
    public var vision: VisionFamily
    /// The VL-JEPA predictor (with `vjepa2`): visual tokens and the retrieval prompt → the shared space.
    public var predictor: PredictorConfig?
    /// The zero-shot concept head (with `efficientnet`): class probabilities → the shared space.
    public var concepts: ConceptConfig?
    public var text: TextConfig

    public static func decode(_ data: Data) throws -> ModelConfig {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ModelConfig.self, from: data)
    }

    /// The token ids the clip side feeds the predictor: `retrieval_prompt_ids` when present, else
    /// `retrieval_prompt` encoded with `tokenizer` (the bundle's `tokenizer.json`).
    public func retrievalPromptTokens(tokenizer: Tokenizer) -> [Int] {
        retrievalPromptIds ?? predictorTokens(retrievalPrompt ?? "", tokenizer: tokenizer) ?? []
    }

    /// `text` as the predictor's query (the retrieval prompt, or a question): encoded with `tokenizer` and cut to
    /// `predictor.max_prompt_tokens`. Nil without a predictor, and when the predictor reads another vocabulary than
    /// `tokenizer.json` (the bundle stores `retrieval_prompt_ids`, and no tokenizer for its predictor).
    public func predictorTokens(_ text: String, tokenizer: Tokenizer) -> [Int]? {
        guard let predictor, retrievalPromptIds == nil else { return nil }
        return tokenizer.encode(text, maxLength: predictor.maxPromptTokens)
    }

    /// Whether the bundle declares `task` among its `tasks`; nil when it declares none.
    public func declares(_ task: ModelTask) -> Bool? { tasks.map { $0.contains(task) } }

    /// `domain`, or `unknown` for bundles made before the field existed.
    public var domainName: String { domain ?? "unknown" }

    /// Whether the model learned only synthetic scenes (and so is no use on real footage).
    public var isSynthetic: Bool { domain == "synthetic" }

    /// One line for users on what the model can find.
    public var domainSummary: String { Self.summary(domain: domain) }

    /// One line for users on what a model of `domain` can find.
    public static func summary(domain: String?) -> String {
        switch domain {
        case "synthetic": "knows only synthetic coloured shapes; for real footage use --model objects"
        case "imagenet-objects": "everyday objects, animals and scenes in real footage (the 1,000 ImageNet classes); no people or actions"
        case "web-video": "people, actions, objects and scenes in real footage, as web video captions describe them (CC3M, MSR-VTT, WebVid)"
        case nil: "not declared by this bundle"
        case let other?: "declared by the bundle as '\(other)'"
        }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

/// A task of the VL-JEPA paper a bundle may declare it was trained for (`tasks` in `config.json`).
public enum ModelTask: String, ConfigName {
    /// Text-to-video retrieval: clips (predictor with the retrieval prompt) against queries (Y-encoder).
    case retrieval
    /// Open-vocabulary classification: label texts ranked by cosine to the clip embedding.
    case classification
    /// Discriminative visual question answering: the question as the predictor's query, answers ranked by cosine.
    case vqa
    /// Chapters: segmentation of the clip stream, each chapter labelled.
    case chapters
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

/// The X-encoder section of `config.json`, told apart by its `family` key.
public enum VisionFamily: Codable, Sendable, Equatable {
    case vjepa2(VisionConfig)
    case efficientnet(EfficientNetConfig)

    /// The families this build runs.
    public static let supported = ["vjepa2", "efficientnet"]

    public var family: String {
        switch self {
        case .vjepa2: "vjepa2"
        case .efficientnet: "efficientnet"
        }
    }

    public var vjepa2: VisionConfig? { if case .vjepa2(let c) = self { c } else { nil } }
    public var efficientnet: EfficientNetConfig? { if case .efficientnet(let c) = self { c } else { nil } }

    private enum Key: String, CodingKey { case family }

    public init(from decoder: any Decoder) throws {
        let family = try decoder.container(keyedBy: Key.self).decode(String.self, forKey: .family)
        switch family {
        case "vjepa2": self = .vjepa2(try VisionConfig(from: decoder))
        case "efficientnet": self = .efficientnet(try EfficientNetConfig(from: decoder))
        default:
            throw ConfigError("vision.family '\(family)' is not supported by this build (supported: \(Self.supported.joined(separator: ", ")))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .vjepa2(let c): try c.encode(to: encoder)
        case .efficientnet(let c): try c.encode(to: encoder)
        }
    }
}

/// The X-encoder, family `efficientnet`: EfficientNet-Lite (no squeeze-and-excite, ReLU6) run on each frame, batch
/// norm folded into the convolutions. Weights: `x_encoder.stem`, `x_encoder.blocks.{i}.{expand,depthwise,project}`
/// (no `expand` when the ratio is 1), `x_encoder.head` (each `.weight` [out, in/groups, k, k] and `.bias`) and
/// `x_encoder.classifier.{weight,bias}`.
public struct EfficientNetConfig: Codable, Sendable, Equatable {
    public var family: String
    /// Square input side, pixels.
    public var imageSize: Int
    public var inChans: Int
    /// Channels of the 3×3 stride-2 stem and of the 1×1 head before pooling.
    public var stemChannels: Int
    public var headChannels: Int
    public var numClasses: Int
    /// `same` (TensorFlow's: for stride 2 the extra row and column go at the bottom and right) or `symmetric`.
    public var padding: ConvPadding
    public var stages: [Stage]

    /// A run of MBConv blocks: the first has `stride`, the rest stride 1 and `out_channels` in and out.
    public struct Stage: Codable, Sendable, Equatable {
        public var repeats: Int
        public var kernel: Int
        public var stride: Int
        public var expandRatio: Int
        public var outChannels: Int

        public init(repeats: Int, kernel: Int, stride: Int, expandRatio: Int, outChannels: Int) {
            (self.repeats, self.kernel, self.stride, self.expandRatio, self.outChannels) = (repeats, kernel, stride, expandRatio, outChannels)
        }
    }

    /// One MBConv block, stages unrolled.
    public struct Block: Sendable, Equatable {
        public var kernel: Int
        public var stride: Int
        public var inChannels: Int
        public var hiddenChannels: Int
        public var outChannels: Int
        public var expands: Bool { hiddenChannels != inChannels }
        public var residual: Bool { stride == 1 && inChannels == outChannels }
    }

    public var blocks: [Block] {
        var channels = stemChannels
        var out: [Block] = []
        for stage in stages {
            for r in 0..<stage.repeats {
                out.append(Block(kernel: stage.kernel, stride: r == 0 ? stage.stride : 1, inChannels: channels,
                                 hiddenChannels: channels * stage.expandRatio, outChannels: stage.outChannels))
                channels = stage.outChannels
            }
        }
        return out
    }

    /// Channels entering the head.
    public var lastChannels: Int { stages.last?.outChannels ?? stemChannels }
}

/// The zero-shot concept head (ConSE, Norouzi et al. 2014): a clip's vector is the normalised sum of the text
/// embeddings of its `top_k` most probable classes, weighted by their probabilities averaged over the frames.
/// Weights: `concepts.embeddings` [count × shared_dim], each row a unit vector.
public struct ConceptConfig: Codable, Sendable, Equatable {
    public var count: Int
    public var topK: Int
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
    public var hiddenAct: ActivationName

    public var headDim: Int { hiddenSize / numAttentionHeads }
    public var mlpSize: Int { Int(Double(hiddenSize) * mlpRatio) }
    public var grid: Int { cropSize / patchSize }
}

/// Llama 3 RoPE frequency scaling (`rope_scaling` with `rope_type: "llama3"`).
public struct RopeScaling: Codable, Sendable, Equatable {
    public var ropeType: RopeType

    public enum RopeType: String, ConfigName { case llama3 }

    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalMaxPositionEmbeddings: Double
}

/// The predictor, family `llama`, plus VL-JEPA's choices around it.
public struct PredictorConfig: Codable, Sendable, Equatable {
    public var family: Family

    public enum Family: String, ConfigName { case llama }

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
    public var hiddenAct: ActivationName
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
    public var activation: Activation

    public enum Activation: String, ConfigName { case identity, tanh }
}

/// The Y-encoder: family `bert` or `gemma3`, then pooling, optional dense layers and the projector.
public struct TextConfig: Codable, Sendable, Equatable {
    public var family: Family

    public enum Family: String, ConfigName { case bert, gemma3 }

    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    /// Pooling over the non-pad tokens; only `mean` is defined.
    public var pooling: Pooling

    public enum Pooling: String, ConfigName { case mean }

    public var dense: [DenseSpec]
    public var maxTokens: Int
    /// Whether `y_encoder.projector` maps the pooled text into the shared space (absent: yes). Without it the
    /// pooled (and densed) text is the shared space itself, e.g. stock all-MiniLM-L6-v2 for the concept head.
    public var projector: Bool?

    /// Width of the pooled text after the dense layers, before any projector.
    public var outputWidth: Int { dense.last?.outFeatures ?? hiddenSize }

    // bert
    public var hiddenAct: ActivationName?
    public var maxPositionEmbeddings: Int?
    public var typeVocabSize: Int?
    public var layerNormEps: Float?

    // gemma3
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var hiddenActivation: ActivationName?
    public var rmsNormEps: Float?
    public var ropeTheta: Double?
    public var ropeLocalBaseFreq: Double?
    public var layerTypes: [LayerType]?

    /// Gemma 3's attention per layer: a sliding window or the whole sequence.
    public enum LayerType: String, ConfigName {
        case slidingAttention = "sliding_attention"
        case fullAttention = "full_attention"
    }
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

/// A closed set of names in `config.json`, decoded into an enum: an unknown name is a `ConfigError` naming the
/// field (in its JSON spelling) and the names this build knows, and the rest of the engine switches over cases.
/// Encoding writes the name back unchanged, so a bundle's computed id does not depend on these types.
public protocol ConfigName: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {}

extension ConfigName {
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: name) else {
            let choices = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError("\(jsonField(decoder.codingPath)) '\(name)' is not supported (\(choices))")
        }
        self = value
    }
}

extension ConvPadding: ConfigName {}

/// A Hugging Face activation name (`hidden_act`), with the aliases `Activation(huggingFace:)` accepts; the name
/// itself is kept, so that the config re-encodes as it was written.
public struct ActivationName: Codable, Sendable, Equatable {
    public let name: String
    public let activation: Activation

    public init(from decoder: any Decoder) throws {
        name = try decoder.singleValueContainer().decode(String.self)
        guard let activation = Activation(huggingFace: name) else {
            throw ConfigError("\(jsonField(decoder.codingPath)) '\(name)' is not supported")
        }
        self.activation = activation
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// A decoding path as the JSON spells it: `text.layer_types[2]`.
func jsonField(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let index = key.intValue {
            out += "[\(index)]"
            continue
        }
        let snake = key.stringValue.reduce(into: "") { s, c in
            if c.isUppercase { s += "_" + c.lowercased() } else { s.append(c) }
        }
        out += (out.isEmpty ? "" : ".") + snake
    }
    return out
}

/// Throws unless `value` lies in `range`, naming the JSON field and the range. NaN lies in no range.
private func require<T: Comparable>(_ field: String, _ value: T, in range: ClosedRange<T>) throws {
    guard range.contains(value) else { throw ConfigError("\(field) \(value) is not in \(range.lowerBound)...\(range.upperBound)") }
}

/// `require` for a field that a family needs only when present.
private func require<T: Comparable>(_ field: String, _ value: T?, in range: ClosedRange<T>) throws {
    if let value { try require(field, value, in: range) }
}

/// Generous bounds on every number in `config.json`. Each one sizes an allocation or a loop, divides, or feeds a
/// float kernel; bounding them all first keeps every size multiplied out of them far inside `Int` (the largest
/// product, clip.frames · 3 · clip.size², is below 2⁴⁶ at these bounds).
enum ConfigLimits {
    static let layers = 1...256
    static let heads = 1...1024
    static let width = 1...65_536
    static let intermediate = 1...262_144
    static let headDim = 1...1024
    static let vocabulary = 1...10_000_000
    static let tokens = 1...65_536
    static let positions = 1...1_048_576
    static let frames = 1...1024
    static let pixels = 1...4096
    static let seconds = 0.05...3600.0
    static let fps = 0.01...1000.0
    static let eps: ClosedRange<Float> = 1e-30...1
    static let ropeBase = 1.0...1e12
    static let positive = 1e-6...1e9
    static let mlpRatio = 0.01...64.0
    /// Frames sampled per second of video (`clip.frames / clip.window_seconds`), Media's `ClipSpec.maxSamplesPerSecond`:
    /// a config past it would load and then fail every video.
    static let samplesPerSecond = 1000.0
    /// Floats in one preprocessed clip (1 GiB); V-JEPA 2 at 64 frames of 384² takes 28 M.
    static let floatsPerClip = 1 << 28
    /// Visual tokens per clip; V-JEPA 2 at 64 frames of 384² makes 18,432.
    static let visualTokens = 1 << 16
}

extension ModelConfig {
    /// Checks every number against `ConfigLimits`, then the relations between fields that the networks rely on
    /// (names were checked by decoding, see `ConfigName`). Messages name the field in its JSON spelling.
    public func validate() throws {
        try validateRanges()
        switch vision {
        case .vjepa2(let vision):
            guard let predictor else { throw ConfigError("the vjepa2 family needs a 'predictor' section") }
            guard retrievalPrompt != nil || retrievalPromptIds != nil else { throw ConfigError("the vjepa2 family needs a 'retrieval_prompt'") }
            guard vision.hiddenSize % vision.numAttentionHeads == 0 else { throw ConfigError("vision.hidden_size is not a multiple of num_attention_heads") }
            guard predictor.numAttentionHeads % predictor.numKeyValueHeads == 0 else { throw ConfigError("predictor heads are not a multiple of key/value heads") }
            guard clip.size == vision.cropSize else { throw ConfigError("clip.size \(clip.size) differs from vision.crop_size \(vision.cropSize)") }
            guard clip.mean.count == vision.inChans, clip.std.count == vision.inChans else { throw ConfigError("clip.mean/std need \(vision.inChans) values") }
        case .efficientnet(let vision):
            guard let concepts else { throw ConfigError("the efficientnet family needs a 'concepts' section") }
            guard concepts.count == vision.numClasses else { throw ConfigError("concepts.count \(concepts.count) differs from vision.num_classes \(vision.numClasses)") }
            guard clip.size == vision.imageSize else { throw ConfigError("clip.size \(clip.size) differs from vision.image_size \(vision.imageSize)") }
            guard clip.mean.count == vision.inChans, clip.std.count == vision.inChans else { throw ConfigError("clip.mean/std need \(vision.inChans) values") }
        }
        guard text.projector != false || text.outputWidth == sharedDim else {
            throw ConfigError("text without a projector gives \(text.outputWidth) dimensions, not shared_dim \(sharedDim)")
        }
        var width = text.hiddenSize
        for (i, d) in text.dense.enumerated() {
            guard d.inFeatures == width else { throw ConfigError("text.dense[\(i)].in_features \(d.inFeatures) should be \(width)") }
            width = d.outFeatures
        }
    }

    /// Every number in range; see `ConfigLimits`.
    func validateRanges() throws {
        typealias L = ConfigLimits
        try require("shared_dim", sharedDim, in: L.width)
        try require("clip.frames", clip.frames, in: L.frames)
        try require("clip.fps", clip.fps, in: L.fps)
        try require("clip.window_seconds", clip.windowSeconds, in: L.seconds)
        try require("clip.stride_seconds", clip.strideSeconds, in: L.seconds)
        guard Double(clip.frames) / clip.windowSeconds <= L.samplesPerSecond else {
            throw ConfigError("clip.frames / clip.window_seconds is \(Double(clip.frames) / clip.windowSeconds) samples a second, more than \(Int(L.samplesPerSecond))")
        }
        try require("clip.size", clip.size, in: L.pixels)
        try require("clip.resize", clip.resize, in: clip.size...L.pixels.upperBound)
        guard clip.frames * 3 * clip.size * clip.size <= L.floatsPerClip else {
            throw ConfigError("clip.frames × 3 × clip.size² is \(clip.frames * 3 * clip.size * clip.size) floats per clip, more than \(L.floatsPerClip)")
        }
        for (i, m) in clip.mean.enumerated() { try require("clip.mean[\(i)]", m, in: -1e6...1e6) }
        for (i, s) in clip.std.enumerated() { try require("clip.std[\(i)]", s, in: 1e-6...1e6) }
        switch vision {
        case .vjepa2(let v):
            try require("vision.hidden_size", v.hiddenSize, in: L.width)
            try require("vision.num_hidden_layers", v.numHiddenLayers, in: L.layers)
            try require("vision.num_attention_heads", v.numAttentionHeads, in: L.heads)
            try require("vision.mlp_ratio", v.mlpRatio, in: L.mlpRatio)
            guard v.mlpSize >= 1 else { throw ConfigError("vision.hidden_size × mlp_ratio is below 1") }
            try require("vision.crop_size", v.cropSize, in: L.pixels)
            try require("vision.patch_size", v.patchSize, in: 1...v.cropSize)
            try require("vision.frames_per_clip", v.framesPerClip, in: L.frames)
            try require("vision.tubelet_size", v.tubeletSize, in: 1...v.framesPerClip)
            try require("vision.in_chans", v.inChans, in: 3...3)
            try require("vision.layer_norm_eps", v.layerNormEps, in: L.eps)
            let tokens = (Swift.max(clip.frames, v.tubeletSize) / v.tubeletSize) * v.grid * v.grid
            guard tokens <= L.visualTokens else {
                throw ConfigError("clip.frames and vision sizes make \(tokens) visual tokens per clip, more than \(L.visualTokens)")
            }
        case .efficientnet(let v):
            try require("vision.image_size", v.imageSize, in: 8...L.pixels.upperBound)
            try require("vision.in_chans", v.inChans, in: 3...3)
            try require("vision.stem_channels", v.stemChannels, in: L.width)
            try require("vision.head_channels", v.headChannels, in: L.width)
            try require("vision.num_classes", v.numClasses, in: L.vocabulary)
            try require("vision.stages count", v.stages.count, in: 1...64)
            for (i, stage) in v.stages.enumerated() {
                let field = "vision.stages[\(i)]"
                try require("\(field).repeats", stage.repeats, in: L.layers)
                try require("\(field).kernel", stage.kernel, in: 1...15)
                guard stage.kernel % 2 == 1 else { throw ConfigError("\(field).kernel \(stage.kernel) is not odd") }
                try require("\(field).stride", stage.stride, in: 1...2)
                try require("\(field).expand_ratio", stage.expandRatio, in: 1...64)
                try require("\(field).out_channels", stage.outChannels, in: L.width)
            }
        }
        if let p = predictor {
            try require("predictor.hidden_size", p.hiddenSize, in: L.width)
            try require("predictor.num_hidden_layers", p.numHiddenLayers, in: L.layers)
            try require("predictor.num_attention_heads", p.numAttentionHeads, in: L.heads)
            try require("predictor.num_key_value_heads", p.numKeyValueHeads, in: L.heads)
            try require("predictor.head_dim", p.headDim, in: L.headDim)
            if p.headDim == nil, p.hiddenSize % p.numAttentionHeads != 0 {
                throw ConfigError("predictor.hidden_size \(p.hiddenSize) is not a multiple of num_attention_heads \(p.numAttentionHeads) (and no head_dim is given)")
            }
            try require("predictor.head_dim", p.resolvedHeadDim, in: L.headDim)
            guard p.resolvedHeadDim % 2 == 0 else { throw ConfigError("predictor.head_dim \(p.resolvedHeadDim) is not even (RoPE rotates pairs)") }
            try require("predictor.intermediate_size", p.intermediateSize, in: L.intermediate)
            try require("predictor.rms_norm_eps", p.rmsNormEps, in: L.eps)
            try require("predictor.vocab_size", p.vocabSize, in: L.vocabulary)
            try require("predictor.rope_theta", p.ropeTheta, in: L.ropeBase)
            try require("predictor.max_prompt_tokens", p.maxPromptTokens, in: L.tokens)
            try require("predictor.pad_token_id", p.padTokenId, in: 0...(p.vocabSize - 1))
            if let s = p.ropeScaling {
                try require("predictor.rope_scaling.factor", s.factor, in: L.positive)
                try require("predictor.rope_scaling.low_freq_factor", s.lowFreqFactor, in: L.positive)
                try require("predictor.rope_scaling.high_freq_factor", s.highFreqFactor, in: L.positive)
                try require("predictor.rope_scaling.original_max_position_embeddings", s.originalMaxPositionEmbeddings, in: 1...1e9)
                guard s.highFreqFactor > s.lowFreqFactor else {
                    throw ConfigError("predictor.rope_scaling.high_freq_factor \(s.highFreqFactor) is not above low_freq_factor \(s.lowFreqFactor)")
                }
            }
            if let ids = retrievalPromptIds {
                try require("retrieval_prompt_ids count", ids.count, in: 0...p.maxPromptTokens)
                for (i, id) in ids.enumerated() { try require("retrieval_prompt_ids[\(i)]", id, in: 0...(p.vocabSize - 1)) }
            }
        }
        if let c = concepts {
            try require("concepts.count", c.count, in: L.vocabulary)
            try require("concepts.top_k", c.topK, in: 1...c.count)
        }
        try require("text.vocab_size", text.vocabSize, in: L.vocabulary)
        try require("text.hidden_size", text.hiddenSize, in: L.width)
        try require("text.num_hidden_layers", text.numHiddenLayers, in: L.layers)
        try require("text.num_attention_heads", text.numAttentionHeads, in: L.heads)
        try require("text.intermediate_size", text.intermediateSize, in: L.intermediate)
        try require("text.max_tokens", text.maxTokens, in: L.tokens)
        try require("text.dense count", text.dense.count, in: 0...16)
        for (i, d) in text.dense.enumerated() {
            try require("text.dense[\(i)].in_features", d.inFeatures, in: L.width)
            try require("text.dense[\(i)].out_features", d.outFeatures, in: L.width)
        }
        // bert
        try require("text.max_position_embeddings", text.maxPositionEmbeddings, in: L.positions)
        try require("text.type_vocab_size", text.typeVocabSize, in: 1...1024)
        try require("text.layer_norm_eps", text.layerNormEps, in: L.eps)
        if text.family == .bert, text.hiddenSize % text.numAttentionHeads != 0 {
            throw ConfigError("text.hidden_size \(text.hiddenSize) is not a multiple of num_attention_heads \(text.numAttentionHeads)")
        }
        // gemma3
        try require("text.num_key_value_heads", text.numKeyValueHeads, in: L.heads)
        try require("text.head_dim", text.headDim, in: L.headDim)
        try require("text.rms_norm_eps", text.rmsNormEps, in: L.eps)
        try require("text.rope_theta", text.ropeTheta, in: L.ropeBase)
        try require("text.rope_local_base_freq", text.ropeLocalBaseFreq, in: L.ropeBase)
        try require("text.sliding_window", text.slidingWindow, in: L.positions)
        try require("text.query_pre_attn_scalar", text.queryPreAttnScalar, in: L.positive)
        if let kv = text.numKeyValueHeads, text.numAttentionHeads % kv != 0 {
            throw ConfigError("text.num_attention_heads \(text.numAttentionHeads) is not a multiple of num_key_value_heads \(kv)")
        }
        if let d = text.headDim, d % 2 != 0 { throw ConfigError("text.head_dim \(d) is not even (RoPE rotates pairs)") }
        if let types = text.layerTypes, types.count != text.numHiddenLayers {
            throw ConfigError("text.layer_types has \(types.count) entries for \(text.numHiddenLayers) layers")
        }
    }
}
