import Neural

/// A bundle's networks once loaded: clips and texts into one shared, L2-normalised space.
///
/// Two kinds exist: `VLJEPA` (X-encoder → predictor with the retrieval prompt) and `ConceptModel` (a per-frame
/// ImageNet classifier whose class probabilities weight the text embeddings of the class names). Both share the
/// Y-encoder, `text`, for queries.
public protocol ClipModel: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// The Y-encoder.
    var text: TextEncoder { get }
    /// Parameter counts per part, in data-flow order (for `model inspect`).
    var parts: [(name: String, parameters: Int)] { get }
    /// Clip vectors [clips × shared_dim] from clips [frames × channels × size × size] of normalised pixels.
    /// `prompt` (the retrieval prompt's token ids) is used by models with a predictor. Throws `CancellationError`
    /// once `isCancelled`, polled between layers, returns true.
    func embedClips(_ clips: [Tensor], prompt: [Int], workspace: Workspace, isCancelled: () -> Bool) throws -> Tensor
}

extension ClipModel {
    /// `embedClips` with a fresh workspace and no cancellation.
    public func embedClips(_ clips: [Tensor], prompt: [Int], workspace: Workspace = Workspace()) throws -> Tensor {
        try embedClips(clips, prompt: prompt, workspace: workspace, isCancelled: { false })
    }

    /// Query vectors [texts × shared_dim] from token ids (each sequence unpadded).
    public func embedTexts(_ sequences: [[Int]], workspace: Workspace = Workspace()) throws -> Tensor {
        try text.embed(sequences, workspace: workspace)
    }
}
