import Foundation
import JEPA
import Media
import Neural

/// A loaded model bundle with its tokenizer: clip vectors for ingestion, query vectors for search.
///
/// Loading maps the weights (nothing is copied or hashed: the id is the `model_id` stamped in `config.json`).
/// A query needs only the Y-encoder, so `textOnly` binds just its tensors and skips building the X-encoder and
/// predictor (most of a cold query's model-loading time).
public final class Embedder: Sendable {
    public let bundle: ModelBundle
    /// The whole model; nil when loaded `textOnly`.
    public let model: (any ClipModel)?
    public let text: TextEncoder
    public let tokenizer: Tokenizer
    /// Token ids of the bundle's retrieval prompt, fed to the predictor with every clip (empty without one).
    public let prompt: [Int]

    public var modelID: String { bundle.modelID }
    public var dimension: Int { bundle.config.sharedDim }
    /// What a library made with this model records.
    public var identity: ModelIdentity {
        ModelIdentity(id: modelID, dimension: dimension, name: bundle.config.name ?? bundle.directory.lastPathComponent,
                      domain: bundle.config.domain)
    }

    /// Loads the bundle in `directory`. `isCancelled` is polled between the steps (config, tokenizer, weights);
    /// once it returns true the load throws `CancellationError`. `streamHalfWeights` applies to `textOnly`: false
    /// converts 16-bit weights at load, for embedding many texts (see `ModelBundle.loadTextEncoder`).
    public init(directory: URL, textOnly: Bool = false, streamHalfWeights: Bool = true,
                isCancelled: () -> Bool = { false }) throws {
        let bundle = try ModelBundle(directory: directory)
        self.bundle = bundle
        guard FileManager.default.fileExists(atPath: bundle.tokenizerURL.path) else {
            throw CatalogError.tokenizerMissing(path: bundle.tokenizerURL.path)
        }
        if isCancelled() { throw CancellationError() }
        if textOnly {
            // A cold query's two loads overlap: the tokenizer parses on another thread while the weights convert.
            let tokenizerURL = bundle.tokenizerURL
            let parsing = Background { try Tokenizer.load(contentsOf: tokenizerURL) }
            let loaded = Result { try bundle.loadTextEncoder(streamHalfWeights: streamHalfWeights) }
            tokenizer = try parsing.value()
            text = try loaded.get()
            model = nil
        } else {
            tokenizer = try Tokenizer.load(contentsOf: bundle.tokenizerURL)
            if isCancelled() { throw CancellationError() }
            let model = try bundle.load()
            self.model = model
            text = model.text
        }
        prompt = bundle.config.retrievalPromptTokens(tokenizer: tokenizer)
    }

    /// The clip spec the model was trained with, optionally with another window and stride (seconds).
    public func clipSpec(window: Double? = nil, stride: Double? = nil) -> ClipSpec {
        Self.clipSpec(bundle.config.clip, window: window, stride: stride)
    }

    /// JEPA's `ClipConfig` as Media's `ClipSpec`.
    public static func clipSpec(_ c: ClipConfig, window: Double? = nil, stride: Double? = nil) -> ClipSpec {
        ClipSpec(window: window ?? c.windowSeconds, stride: stride ?? c.strideSeconds, frames: c.frames, size: c.size,
                 resizeShortSide: c.resize, mean: c.mean, std: c.std)
    }

    /// The unit query vector of `text` (Y-encoder and head).
    public func embedQuery(_ query: String, workspace: Workspace = Workspace()) throws -> [Float] {
        try embedQueries([query], workspace: workspace)
    }

    /// Unit query vectors, `queries.count × dimension` flat.
    public func embedQueries(_ queries: [String], workspace: Workspace = Workspace()) throws -> [Float] {
        let ids = queries.map { tokenizer.encode($0, maxLength: bundle.config.text.maxTokens) }
        return try finite(text.embed(ids, workspace: workspace).scalars)
    }

    /// Clip vectors, `clips.count × dimension` flat: the predictor's output for `prompt` (token ids from
    /// `promptTokens`; default the retrieval prompt, giving the vectors `index` stores). Throws `CancellationError`
    /// once `isCancelled` returns true.
    public func embedClips(_ clips: [Tensor], prompt: [Int]? = nil, workspace: Workspace,
                           isCancelled: () -> Bool = { false }) throws -> [Float] {
        guard let model else { preconditionFailure("embedClips needs the whole model; load without textOnly") }
        return try finite(model.embedClips(clips, prompt: prompt ?? self.prompt, workspace: workspace, isCancelled: isCancelled).scalars)
    }

    /// The token ids of `text` as the predictor's query in place of the retrieval prompt (a question, for VL-JEPA's
    /// discriminative VQA), cut to the predictor's `max_prompt_tokens`. Throws `CatalogError.cannotTakeQuestions`
    /// for a model without a predictor, or whose predictor reads another tokenizer's ids than `tokenizer.json`'s.
    public func promptTokens(_ text: String) throws -> [Int] {
        let c = bundle.config
        guard let tokens = c.predictorTokens(text, tokenizer: tokenizer) else {
            let why = c.predictor == nil
                ? "has no predictor (its clip vectors do not depend on a text), so it cannot answer questions; use a VL-JEPA model such as vljepa-mini"
                : "feeds its predictor the ids of another tokenizer than its tokenizer.json (retrieval_prompt_ids), so it cannot read a question"
            throw CatalogError.cannotTakeQuestions(model: c.name ?? bundle.directory.lastPathComponent, path: bundle.directory.path, why: why)
        }
        return tokens
    }

    /// `vectors`, unless one value is NaN or infinite: such a vector would score `nan` against everything, so the
    /// model (not the query or the video) is named as the cause.
    private func finite(_ vectors: [Float]) throws -> [Float] {
        guard vectors.allSatisfy(\.isFinite) else {
            throw CatalogError.nonFiniteVector(model: bundle.directory.path)
        }
        return vectors
    }
}

/// A value computed on a thread of its own; `value()` waits for it.
private final class Background<T: Sendable>: @unchecked Sendable {
    private var result: Result<T, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func value() throws -> T {
        done.wait()
        return try result!.get()
    }
}
