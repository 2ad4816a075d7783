import Foundation
import JEPA
import Neural

/// Where the open-vljepa conversion reads from.
public struct OpenVLJEPASources: Sendable, Equatable {
    /// open-vljepa's `best.pt` (predictor, heads, fine-tuned Y-encoder; maybe the X-encoder).
    public var checkpoint: URL
    /// The `facebook/vjepa2-vitl-fpc64-256` folder: `config.json`, and the weights unless the checkpoint has them.
    public var vjepa2: URL
    /// The `meta-llama/Llama-3.2-1B` folder: `config.json` and `tokenizer.json`.
    public var llama: URL
    /// The `google/embeddinggemma-300m` folder: `config.json` and `tokenizer.json`.
    public var gemma: URL

    public init(checkpoint: URL, vjepa2: URL, llama: URL, gemma: URL) {
        self.checkpoint = checkpoint
        self.vjepa2 = vjepa2
        self.llama = llama
        self.gemma = gemma
    }
}

/// The choices of a conversion, with `convert.py open-vljepa`'s defaults. A value the engine cannot use is refused
/// with a `ConvertError` whose path is the `convert.py` flag that sets it (`--fps: 0.0 is outside (0, 1000]`).
public struct ConvertOptions: Sendable, Equatable {
    /// The dtype of the bundle's weights.
    public enum DType: String, Sendable, CaseIterable {
        case f32, f16, bf16

        var safetensors: SafeTensors.DType {
            switch self {
            case .f32: .f32
            case .f16: .f16
            case .bf16: .bf16
            }
        }
    }

    /// The bundle's name; nil for `open-vljepa`.
    public var name: String?
    /// The retrieval prompt given to the predictor with every clip.
    public var prompt: String
    /// Frames per clip; nil for the checkpoint's `config.data.num_frames` (else 8).
    public var frames: Int?
    /// Frame sampling rate, frames per second.
    public var fps: Double
    /// Clip hop in seconds; nil for half the window.
    public var stride: Double?
    /// Short side before the centre crop; nil for crop × 292/256.
    public var resize: Int?
    /// Longest predictor prompt; nil for the checkpoint's `config.data.max_query_len` (else 64).
    public var maxPromptTokens: Int?
    /// Longest query; nil for the checkpoint's `config.data.max_caption_len` (else 64).
    public var maxTextTokens: Int?
    public var dtype: DType

    public static let retrievalPrompt = "Describe the video."

    public init(name: String? = nil, prompt: String = ConvertOptions.retrievalPrompt, frames: Int? = nil,
                fps: Double = 2.0, stride: Double? = nil, resize: Int? = nil, maxPromptTokens: Int? = nil,
                maxTextTokens: Int? = nil, dtype: DType = .f32) {
        self.name = name
        self.prompt = prompt
        self.frames = frames
        self.fps = fps
        self.stride = stride
        self.resize = resize
        self.maxPromptTokens = maxPromptTokens
        self.maxTextTokens = maxTextTokens
        self.dtype = dtype
    }
}

/// Converts open-vljepa's trained checkpoint into a bundle in `directory` (an existing, empty folder; the caller
/// renames it into place), as `Tools/convert/convert.py open-vljepa … --stamp-with vjsearch` does, byte for byte.
///
/// The predictor's Llama layers, the heads and the Y-encoder come from the checkpoint; the X-encoder from its
/// `x_encoder.model.*` tensors when it has them, else from the V-JEPA 2 folder; the three folders' `config.json`s
/// describe the networks, and every tensor is checked by name and shape against them.
/// - Parameter progress: called with the weight bytes written so far and their total.
/// - Returns: the model id stamped into `config.json`.
/// - Throws: `ConvertError` naming the file and the cause (and the tensor, where one is at fault; or the option),
///   `SystemCallError` naming the file that could not be written, `TokenizerError` for an unreadable Llama
///   tokenizer, `BundleError` when the bundle written does not load.
public func convertOpenVLJEPA(_ sources: OpenVLJEPASources, options: ConvertOptions = ConvertOptions(), to directory: URL,
                              progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> String {
    let path = sources.checkpoint.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw ConvertError(path: path, reason: "not found")
    }
    let checkpoint = try TorchCheckpoint(path: path)
    let contents = try OpenVLJEPAConverter(sources: sources, options: options)
        .assemble(checkpoint: checkpoint.root, path: path)
    return try BundleWriter.write(contents, dtype: options.dtype.safetensors, to: directory, progress: progress)
}

/// `convert.py`'s `convert_open_vljepa`: the same checks in the same order, with the same messages.
struct OpenVLJEPAConverter {
    let sources: OpenVLJEPASources
    let options: ConvertOptions

    /// The bundle's contents from the unpickled checkpoint `root` read from `path`.
    func assemble(checkpoint root: PickleValue, path: String) throws -> BundleContents {
        guard case .dict = root, let stateDict = root["model_state_dict"] else {
            throw ConvertError(path: path, reason: "no 'model_state_dict' (not an open-vljepa checkpoint)")
        }
        let data: PickleValue = if case .dict? = root["config"], let data = root["config"]?["data"], case .dict = data {
            data
        } else {
            .dict([])
        }
        return try assemble(state: WeightSource(stateDict: stateDict, path: path), data: data)
    }

    /// The bundle's contents from the checkpoint's state dict and its training config's `data` section, from which
    /// the clip length and the padding lengths default.
    func assemble(state: WeightSource, data: PickleValue) throws -> BundleContents {
        let path = state.path
        try validateOptions()
        let frames = try options.frames ?? Self.setting(data, "num_frames", default: 8, in: 1...10_000, path: path)
        let maxPromptTokens = try options.maxPromptTokens
            ?? Self.setting(data, "max_query_len", default: 64, in: 1...1_000_000, path: path)
        let maxTextTokens = try options.maxTextTokens
            ?? Self.setting(data, "max_caption_len", default: 64, in: 1...1_000_000, path: path)

        let layers = try Self.predictorLayers(state)
        if state.names.contains(where: { $0.hasPrefix("x_encoder.projector.") }) {
            throw ConvertError(path: path, reason: "has an X-encoder projection (x_encoder.projector.*, encoder.output_dim "
                + "set), which the engine does not run; only the raw V-JEPA 2 output is supported")
        }
        let vision = try HFVJEPA2Config(folder: sources.vjepa2)
        let llama = try HFLlamaConfig(folder: sources.llama)
        let gemma = try HFGemma3Config(folder: sources.gemma)

        var weights: [(name: String, tensor: SourceTensor)] = []
        let visionSource: String
        if state.names.contains(where: { $0.hasPrefix("x_encoder.model.") }) {
            weights += try state.take(vision.encoderShapes, prefix: "x_encoder.model.encoder.", what: "V-JEPA 2 encoder")
                .map { ("x_encoder." + $0.name, $0.tensor) }
            visionSource = "`x_encoder.model.*` of `\(sources.checkpoint.lastPathComponent)`"
        } else {
            weights += try WeightSource(folder: sources.vjepa2)
                .take(vision.encoderShapes, prefix: "encoder.", what: "V-JEPA 2 encoder")
                .map { ("x_encoder." + $0.name, $0.tensor) }
            visionSource = "`\(sources.vjepa2.standardized.lastPathComponent)`"
        }
        weights += try state.take(llama.shapes(layers: layers), prefix: "predictor.", what: "predictor (Llama layers)")
            .map { ("predictor." + $0.name, $0.tensor) }
        guard let outWeight = state.tensors["predictor.out_proj.weight"] else {
            throw ConvertError(path: path, reason: "missing tensor 'predictor.out_proj.weight'")
        }
        guard let shared = outWeight.shape.first, (1...HFConfigFile.maximumDimension).contains(shared) else {
            throw ConvertError(path: path, reason: "tensor 'predictor.out_proj.weight' has shape \(outWeight.shape), "
                + "not [shared dim, \(llama.hiddenSize)]")
        }
        let h = llama.hiddenSize
        let heads: ExpectedShapes = [
            ("predictor.vis_proj.weight", [h, vision.hiddenSize]), ("predictor.vis_proj.bias", [h]),
            ("predictor.out_proj.weight", [shared, h]), ("predictor.out_proj.bias", [shared]),
            ("y_encoder.projector.weight", [shared, gemma.hiddenSize]), ("y_encoder.projector.bias", [shared]),
        ]
        weights += try state.take(heads, prefix: "", what: "head")
        weights += try state.take(gemma.shapes, prefix: "y_encoder.model.", what: "gemma3 text encoder")
            .map { ("y_encoder.model." + $0.name, $0.tensor) }
        try Self.refuseUnexpected(state, used: Set(weights.map(\.name)))

        let name = options.name.flatMap { $0.isEmpty ? nil : $0 } ?? "open-vljepa"
        let config = PythonJSON.object([
            // What it knows (web video and photos with captions; retrieval only), as convert.py declares it.
            ("name", .string(name)), ("domain", .string("web-video")), ("tasks", .array([.string("retrieval")])),
            ("shared_dim", .int(shared)),
            ("clip", clipSection(frames: frames, cropSize: vision.cropSize)),
            ("retrieval_prompt", .string(options.prompt)),
            ("retrieval_prompt_ids", .array(try promptIDs(limit: maxPromptTokens).map { .int($0) })),
            ("vision", vision.section), ("predictor", llama.section(layers: layers, maxPromptTokens: maxPromptTokens)),
            ("text", gemma.section(maxTokens: maxTextTokens)),
        ])
        let card = Self.card(name: name, checkpoint: sources.checkpoint.lastPathComponent, visionSource: visionSource,
                             layers: layers)
        return BundleContents(config: config, weights: weights,
                              tokenizer: try Self.tokenizerFile(sources.gemma, what: "EmbeddingGemma"), card: card)
    }

    /// `int(data.get(key, fallback))` of the checkpoint's data section, which must lie in `range`.
    private static func setting(_ data: PickleValue, _ key: String, default fallback: Int, in range: ClosedRange<Int>,
                                path: String) throws(ConvertError) -> Int {
        let value: Int
        switch data[key] {
        case nil: value = fallback
        case .int(let i)?: value = i
        case .bool(let b)?: value = b ? 1 : 0
        case .float(let d)? where d.isFinite && abs(d) < 1e15: value = Int(d.rounded(.towardZero))
        case .string(let s)? where Int(s.trimmingCharacters(in: .whitespaces)) != nil:
            value = Int(s.trimmingCharacters(in: .whitespaces))!
        default: throw ConvertError(path: path, reason: "config.data.\(key) is not an integer")
        }
        guard range.contains(value) else {
            throw ConvertError(path: path, reason: "config.data.\(key) is \(value), outside \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    /// Refuses option values the engine cannot use, naming the `convert.py` flag that sets them.
    private func validateOptions() throws(ConvertError) {
        func check(_ ok: Bool, _ flag: String, _ value: Any, _ allowed: String) throws(ConvertError) {
            if !ok { throw ConvertError(path: flag, reason: "\(value) is outside \(allowed)") }
        }
        if let frames = options.frames { try check((1...10_000).contains(frames), "--frames", frames, "1…10000") }
        if let n = options.maxPromptTokens {
            try check((1...1_000_000).contains(n), "--max-prompt-tokens", n, "1…1000000")
        }
        if let n = options.maxTextTokens { try check((1...1_000_000).contains(n), "--max-text-tokens", n, "1…1000000") }
        try check(options.fps.isFinite && options.fps > 0 && options.fps <= 1000, "--fps", options.fps, "(0, 1000]")
        if let stride = options.stride {
            try check(stride.isFinite && stride > 0 && stride <= 1e6, "--stride", stride, "(0, 1000000] seconds")
        }
        if let resize = options.resize { try check((1...100_000).contains(resize), "--resize", resize, "1…100000") }
    }

    /// The predictor's layer count: `predictor.layers.N.*` must be numbered 0…N−1.
    private static func predictorLayers(_ state: WeightSource) throws(ConvertError) -> Int {
        var indices = Set<Int>()
        var numbered = true
        for name in state.names where name.hasPrefix("predictor.layers.") {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            if let index = Int(parts[2]), index >= 0 { indices.insert(index) } else { numbered = false }
        }
        guard numbered, !indices.isEmpty, indices.max() == indices.count - 1 else {
            throw ConvertError(path: state.path, reason: "predictor.layers.N.* keys missing or not numbered 0…N-1")
        }
        return indices.count
    }

    /// Refuses tensors the bundle would drop silently (rotary tables and `x_encoder.*` aside), naming the first
    /// five in Python's sorted order and list spelling.
    private static func refuseUnexpected(_ state: WeightSource, used: Set<String>) throws(ConvertError) {
        let ignored = state.names
            .filter { !used.contains($0) && !$0.hasPrefix("x_encoder.") && !$0.contains("rotary_emb") }
            .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        guard !ignored.isEmpty else { return }
        let listed = "[" + ignored.prefix(5).map(pythonRepr).joined(separator: ", ") + "]"
        throw ConvertError(path: state.path, reason: "unexpected tensors \(listed)\(ignored.count > 5 ? " …" : "")")
    }

    /// The `clip` section (`convert.py`'s `clip_section`).
    private func clipSection(frames: Int, cropSize: Int) -> PythonJSON {
        let window = Double(frames) / options.fps
        let resize = options.resize ?? Int((Double(cropSize * 292) / 256).rounded(.toNearestOrEven))
        return .object([
            ("frames", .int(frames)), ("fps", .float(options.fps)), ("window_seconds", .float(window)),
            ("stride_seconds", .float(options.stride ?? window / 2)), ("size", .int(cropSize)), ("resize", .int(resize)),
            ("mean", .array([0.485, 0.456, 0.406].map { .float($0) })),
            ("std", .array([0.229, 0.224, 0.225].map { .float($0) })),
        ])
    }

    /// The retrieval prompt as the predictor's (Llama) tokenizer encodes it, special tokens included.
    private func promptIDs(limit: Int) throws -> [Int] {
        let url = try Self.tokenizerFile(sources.llama, what: "Llama")
        let ids = try Tokenizer.load(contentsOf: url).encode(options.prompt)
        guard ids.count <= limit else {
            throw ConvertError(path: url.path, reason: "the retrieval prompt has \(ids.count) tokens, more than \(limit)")
        }
        return ids
    }

    private static func tokenizerFile(_ folder: URL, what: String) throws(ConvertError) -> URL {
        let url = folder.appendingPathComponent("tokenizer.json")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ConvertError(path: url.path, reason: "not found (\(what) tokenizer)")
        }
        return url
    }

    /// `MODEL_CARD.md`, word for word as `convert.py` writes it for open-vljepa.
    static func card(name: String, checkpoint: String, visionSource: String, layers: Int) -> String {
        "# \(name)\n\nopen-vljepa's trained checkpoint (`\(checkpoint)`, Hugging Face "
            + "`cun-bjy/open-vljepa`, trained on CC3M plus MSR-VTT or WebVid), converted by "
            + "Tools/convert/convert.py.\n\n"
            + "- X-encoder (frozen): V-JEPA 2 from \(visionSource)\n"
            + "- Predictor: \(layers) Llama 3.2 layers, final RMSNorm, mean over visual and prompt tokens\n"
            + "- Y-encoder: EmbeddingGemma's Gemma3TextModel, mean pooled, without its dense layers\n\n"
            + "Reported by open-vljepa: MSR-VTT text→video R@1 23.9 in domain (500-video pool), 13.7 zero-shot.\n\n"
            + "Licences: V-JEPA 2 (MIT), Llama 3.2 Community Licence, Gemma Terms of Use.\n"
    }
}

/// A string as Python's `repr` writes it: in single quotes unless it holds a single quote and no double quote,
/// with backslashes, the quote, `\n`, `\r`, `\t` and other control characters escaped.
func pythonRepr(_ s: String) -> String {
    let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
    var out = String(quote)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where Character(scalar) == quote: out += "\\" + String(quote)
        case "\u{00}"..."\u{1F}", "\u{7F}":
            let hex = String(scalar.value, radix: 16)
            out += "\\x" + (hex.count < 2 ? "0" : "") + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + String(quote)
}
