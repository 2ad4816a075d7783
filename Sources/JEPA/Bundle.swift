import Foundation
import Neural

/// A model bundle: a folder with `config.json`, `model.safetensors` and `tokenizer.json` (plus `MODEL_CARD.md`, and
/// optionally `vocabulary.txt`, the texts `vjsearch chapters` labels chapters with; it is not part of the model id).
///
/// `efficientnet` bundles: see `EfficientNetConfig` and `ConceptConfig` for their keys. VL-JEPA weight keys: `x_encoder.` + `VJEPA2Model.encoder` keys; `predictor.` + `LlamaModel` keys and
/// `predictor.{vis_proj,out_proj}.*`; `y_encoder.model.` + `BertModel`/`Gemma3TextModel` keys and
/// `y_encoder.{dense.N,projector}.*`. A converter from Hugging Face folders or open-vljepa's checkpoint is a renaming.
public struct ModelBundle: Sendable {
    public let directory: URL
    public let config: ModelConfig
    /// The stamped `model_id`, or the computed content hash when the config carries none.
    public let modelID: String

    public var configURL: URL { directory.appendingPathComponent("config.json") }
    public var weightsURL: URL { directory.appendingPathComponent("model.safetensors") }
    public var tokenizerURL: URL { directory.appendingPathComponent("tokenizer.json") }
    /// Texts to label video with when the user gives none: one per line, UTF-8.
    public var vocabularyURL: URL { directory.appendingPathComponent("vocabulary.txt") }

    /// Texts a vocabulary may hold at most: each is embedded, so the count sizes the work.
    public static let vocabularyLimit = 100_000

    public init(directory: URL) throws {
        self.directory = directory
        let data = try Self.read(directory.appendingPathComponent("config.json"))
        do {
            config = try ModelConfig.decode(data)
        } catch let error as DecodingError {
            throw BundleError(path: directory.appendingPathComponent("config.json").path, reason: Self.describe(error))
        } catch let error as ConfigError {
            throw BundleError(path: directory.appendingPathComponent("config.json").path, reason: error.description)
        }
        do {
            try config.validate()
        } catch let error as ConfigError {
            throw BundleError(path: directory.appendingPathComponent("config.json").path, reason: error.description)
        }
        modelID = try config.modelId ?? Self.computeModelID(directory: directory, config: config)
    }

    /// 16-bit weight files larger than this stay 16-bit in memory when loaded (see `load`).
    public static let streamedWeightBytes = 1 << 30

    /// Maps the weights and builds the model its `vision.family` names. 16-bit linear weights of a large file
    /// (over `streamedWeightBytes`, such as a bf16 full-size VL-JEPA) stay in the mapped file and are converted a
    /// block at a time in each product, which keeps the resident memory at about the file's size for a few
    /// percent of speed; a small model's are converted to Float32 once, at load.
    public func load(streamHalfWeights: Bool? = nil) throws -> any ClipModel {
        let weights = try SafeTensorsFile(url: weightsURL)
        switch config.vision {
        case .vjepa2:
            let size = (try? FileManager.default.attributesOfItem(atPath: weightsURL.path)[.size] as? Int) ?? 0
            return try VLJEPA(config: config, weights: weights, streamHalfWeights: streamHalfWeights ?? (size > Self.streamedWeightBytes))
        case .efficientnet: return try ConceptModel(config: config, weights: weights)
        }
    }

    /// Only the Y-encoder and its head (the `y_encoder.` tensors), for embedding queries. The other weights
    /// stay untouched pages. With `streamHalfWeights` (the default), 16-bit weights stay in the mapped file,
    /// converted inside each product: nothing is converted up front, since a cold query runs the encoder once;
    /// embedding thousands of texts converts them once instead.
    public func loadTextEncoder(streamHalfWeights: Bool = true) throws -> TextEncoder {
        let binder = ParameterBinder(file: try SafeTensorsFile(url: weightsURL), streamHalfWeights: streamHalfWeights)
        let encoder = try TextEncoder(config: config.text, sharedDim: config.sharedDim, binder: binder)
        try binder.finish(prefixes: ["y_encoder."])
        return encoder
    }

    /// The texts of `vocabularyURL`, or nil when the bundle has none.
    public func loadVocabulary() throws -> [String]? {
        guard FileManager.default.fileExists(atPath: vocabularyURL.path) else { return nil }
        return try Self.texts(at: vocabularyURL)
    }

    /// The texts of the file at `url` (see `texts(_:path:)`); a FIFO, device or folder is refused, not waited on.
    public static func texts(at url: URL) throws -> [String] {
        try texts(read(url), path: url.path)
    }

    /// The texts of a vocabulary or labels file: one per line (LF or CRLF), trimmed of spaces and tabs; blank
    /// lines and repeats are left out. Throws naming `path` when the bytes are not UTF-8 or hold more than
    /// `vocabularyLimit` texts.
    public static func texts(_ data: Data, path: String) throws -> [String] {
        let bytes = [UInt8](data)
        guard String(validating: bytes, as: UTF8.self) != nil else { throw BundleError(path: path, reason: "is not UTF-8 text") }
        var seen = Set<String>()
        var out: [String] = []
        func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            var (a, b) = (start, end)
            start = end + 1
            while a < b && blank(bytes[a]) { a += 1 }
            while b > a && blank(bytes[b - 1]) { b -= 1 }
            guard a < b else { continue }
            let t = String(decoding: bytes[a..<b], as: UTF8.self)
            guard seen.insert(t).inserted else { continue }
            guard out.count < vocabularyLimit else {
                throw BundleError(path: path, reason: "holds more than \(vocabularyLimit) texts")
            }
            out.append(t)
        }
        return out
    }

    /// `vj1-` + 32 hex digits of SHA-256 over the canonical config (re-encoded, sorted keys, without `model_id`,
    /// `domain` and `tasks`), the weights file and the tokenizer file (empty when absent). The domain and the tasks
    /// describe the model to users and do not change its vectors, so declaring them keeps the id (and the libraries
    /// made with it).
    public static func computeModelID(directory: URL, config: ModelConfig) throws -> String {
        var unstamped = config
        unstamped.modelId = nil
        unstamped.domain = nil
        unstamped.tasks = nil
        var outer = SHA256()
        for (label, digest) in [
            ("config", try hash(data: unstamped.encoded())),
            ("weights", try hash(file: directory.appendingPathComponent("model.safetensors"))),
            ("tokenizer", FileManager.default.fileExists(atPath: directory.appendingPathComponent("tokenizer.json").path)
                ? try hash(file: directory.appendingPathComponent("tokenizer.json")) : hash(data: Data())),
        ] {
            outer.update(Array("\(label)\0".utf8))
            outer.update(digest)
        }
        return "vj1-" + SHA256.hex(Array(outer.finalize().prefix(16)))
    }

    /// Computes the content hash and writes it into `config.json` as `model_id` (other keys kept).
    /// - Returns: the id.
    @discardableResult
    public static func stamp(directory: URL) throws -> String {
        let url = directory.appendingPathComponent("config.json")
        let data = try read(url)
        let id = try computeModelID(directory: directory, config: ModelConfig.decode(data))
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BundleError(path: url.path, reason: "is not a JSON object")
        }
        object["model_id"] = id
        var out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        out.append(0x0A)
        try out.write(to: url, options: .atomic)
        return id
    }

    /// The bytes of a small bundle file; a FIFO, device or folder is refused rather than waited on.
    static func read(_ url: URL) throws -> Data {
        do {
            return try MappedFile.contents(path: url.path)
        } catch NeuralError.notRegularFile {
            throw BundleError(path: url.path, reason: "is not a regular file")
        } catch {
            throw BundleError(path: url.path, reason: "cannot be read")
        }
    }

    static func hash(data: Data) -> [UInt8] {
        var h = SHA256()
        data.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }

    static func hash(file: URL) throws -> [UInt8] {
        let mapped = try MappedFile(path: file.path)
        var h = SHA256()
        h.update(mapped.bytes)
        return h.finalize()
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String { c.codingPath.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let .keyNotFound(key, c): return "missing key '\((path(c).isEmpty ? "" : path(c) + ".") + key.stringValue)'"
        case let .typeMismatch(_, c): return "wrong type at '\(path(c))'"
        case let .valueNotFound(_, c): return "null at '\(path(c))'"
        case let .dataCorrupted(c): return "invalid JSON at '\(path(c))'"
        @unknown default: return "cannot be decoded"
        }
    }
}

/// A bundle that cannot be used, naming the file and the cause.
public struct BundleError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}
