import Foundation
import Neural

/// The VL-JEPA model: X-encoder → predictor (with a prompt) for clips, Y-encoder for texts, both into one shared,
/// L2-normalised space where retrieval ranks by cosine (VL-JEPA, arXiv 2512.10942, §3.1 and §4).
///
/// Where the paper is silent, the engine follows open-vljepa (the one public trained checkpoint) by default and
/// makes the choice a config field:
/// - visual tokens are not pooled before the predictor; all of them go through `vis_proj` and come first;
/// - RoPE positions run 0…L−1 over [visual; prompt] (Llama 3 scaling from `predictor.rope_scaling`);
/// - `predictor.final_norm`: Llama's final RMSNorm before pooling (open-vljepa: true);
/// - `predictor.pool`: `all_non_pad` averages visual and non-pad prompt tokens (open-vljepa), `prompt_non_pad` the
///   prompt only;
/// - `text.dense`: [] feeds the masked mean of the backbone's last hidden state to the projector (open-vljepa);
///   EmbeddingGemma's own 768→3072→768 layers are two entries; no task prompt is added by the engine;
/// - the heads `vis_proj`, `out_proj`, `projector` are linear with bias; both outputs are L2-normalised;
/// - the retrieval prompt is `retrieval_prompt` (open-vljepa: "Describe the video.").
public final class VLJEPA: ClipModel {
    public let config: ModelConfig
    public let vision: VisionEncoder
    public let predictor: Predictor
    public let text: TextEncoder

    /// Builds the three networks from `weights`, binding every tensor exactly once. With `streamHalfWeights`,
    /// 16-bit linear weights stay in the mapped file and are converted a block at a time in each product.
    public init(config: ModelConfig, weights: SafeTensorsFile, streamHalfWeights: Bool = false) throws {
        try config.validate()
        guard let visionConfig = config.vision.vjepa2, let predictorConfig = config.predictor else {
            throw ConfigError("VL-JEPA needs a vjepa2 X-encoder and a predictor, not vision.family '\(config.vision.family)'")
        }
        self.config = config
        let binder = ParameterBinder(file: weights, streamHalfWeights: streamHalfWeights)
        vision = try VisionEncoder(config: visionConfig, binder: binder)
        predictor = try Predictor(config: predictorConfig, visionDim: visionConfig.hiddenSize,
                                  sharedDim: config.sharedDim, binder: binder)
        text = try TextEncoder(config: config.text, sharedDim: config.sharedDim, binder: binder)
        try binder.finish()
    }

    public var parameterCount: (vision: Int, predictor: Int, text: Int) {
        (vision.parameterCount, predictor.parameterCount, text.parameterCount)
    }

    public var parts: [(name: String, parameters: Int)] {
        [("x-encoder", vision.parameterCount), ("predictor", predictor.parameterCount), ("y-encoder", text.parameterCount)]
    }

    /// Clip vectors [clips × shared_dim]: each clip [frames × channels × size × size] of normalised pixels runs
    /// through the X-encoder, then the predictor with `prompt` (the retrieval prompt's token ids).
    /// Throws `CancellationError` once `isCancelled` (polled between the X-encoder's layers) returns true.
    public func embedClips(_ clips: [Tensor], prompt: [Int], workspace: Workspace,
                           isCancelled: () -> Bool) throws -> Tensor {
        let tokens = try vision.encode(clips, workspace: workspace, isCancelled: isCancelled)
        if isCancelled() { throw CancellationError() }
        return try predictor.predict(visualTokens: tokens, clips: clips.count, prompt: prompt, workspace: workspace)
    }

    /// Consecutive row ranges for sequences of the given lengths.
    static func segments(_ lengths: [Int]) -> [Range<Int>] {
        var start = 0
        return lengths.map { n in
            defer { start += n }
            return start..<(start + n)
        }
    }
}

extension ClipConfig {
    /// A clip tensor [frames × 3 × size × size] from RGB24 frames of `size × size` pixels each (row-major, packed),
    /// scaled to [0, 1] and normalised with `mean` / `std`, as V-JEPA 2's video processor does after its crop.
    public func tensor(fromRGB frames: [[UInt8]]) throws -> Tensor {
        let plane = size * size
        var out = [Float](repeating: 0, count: frames.count * 3 * plane)
        for (t, frame) in frames.enumerated() {
            guard frame.count == 3 * plane else { throw ModelInputError.frameSize(frame: t, bytes: frame.count, expected: 3 * plane) }
            for c in 0..<3 {
                let scale = 1 / (255 * std[c]), shift = mean[c] / std[c]
                let base = (t * 3 + c) * plane
                for i in 0..<plane { out[base + i] = Float(frame[3 * i + c]) * scale - shift }
            }
        }
        return Tensor(shape: [frames.count, 3, size, size], scalars: out)
    }
}
