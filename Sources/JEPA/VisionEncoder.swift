import Neural

/// The X-encoder, family `vjepa2`: V-JEPA 2's ViT as transformers' `VJEPA2Model` runs it with `skip_predictor`.
///
/// Tubelet embedding (Conv3d, kernel = stride = tubelet × patch × patch), pre-LN blocks whose attention applies
/// 3D RoPE to queries and keys (no absolute positions), a GELU MLP and a final LayerNorm.
/// Weights: `x_encoder.` + the keys of `VJEPA2Model.encoder` (`embeddings.patch_embeddings.proj.*`,
/// `layer.{i}.{norm1,attention.{query,key,value,proj},norm2,mlp.{fc1,fc2}}.*`, `layernorm.*`).
public final class VisionEncoder: Sendable {
    public let config: VisionConfig
    let patch: Linear
    let layers: [Layer]
    let finalNorm: (weight: Parameter, bias: Parameter)
    let rope: RoPE3D
    let activation: Activation

    struct Layer: Sendable {
        let norm1: (weight: Parameter, bias: Parameter)
        /// Query, key and value stacked into one [3·hidden, hidden] projection: one GEMM instead of three.
        let qkv: Linear
        let proj: Linear
        let norm2: (weight: Parameter, bias: Parameter)
        let fc1: Linear, fc2: Linear
    }

    public init(config: VisionConfig, binder: ParameterBinder, prefix: String = "x_encoder.") throws {
        self.config = config
        let h = config.hiddenSize
        let p = prefix
        let conv = try binder.take("\(p)embeddings.patch_embeddings.proj.weight",
                                   shape: [h, config.inChans, config.tubeletSize, config.patchSize, config.patchSize])
        patch = Linear(weight: conv.reshaped([h, conv.count / h]),
                       bias: try binder.take("\(p)embeddings.patch_embeddings.proj.bias", shape: [h]))
        func norm(_ name: String) throws -> (weight: Parameter, bias: Parameter) {
            (try binder.take("\(name).weight", shape: [h]), try binder.take("\(name).bias", shape: [h]))
        }
        layers = try (0..<config.numHiddenLayers).map { i in
            let l = "\(p)layer.\(i)."
            return Layer(
                norm1: try norm("\(l)norm1"),
                qkv: Linear(stacking: [
                    try binder.linear("\(l)attention.query", in: h, out: h, bias: config.qkvBias),
                    try binder.linear("\(l)attention.key", in: h, out: h, bias: config.qkvBias),
                    try binder.linear("\(l)attention.value", in: h, out: h, bias: config.qkvBias),
                ]),
                proj: try binder.linear("\(l)attention.proj", in: h, out: h, bias: true),
                norm2: try norm("\(l)norm2"),
                fc1: try binder.linear("\(l)mlp.fc1", in: h, out: config.mlpSize, bias: true),
                fc2: try binder.linear("\(l)mlp.fc2", in: config.mlpSize, out: h, bias: true))
        }
        finalNorm = try norm("\(p)layernorm")
        activation = config.hiddenAct.activation
        let grid = config.grid
        rope = RoPE3D(headDim: config.headDim, gridHeight: grid, gridWidth: grid,
                      maxPosition: max(grid, config.framesPerClip / config.tubeletSize, 1024))
    }

    /// Tokens per clip of `frames` frames (clips shorter than a tubelet are repeated, as transformers does).
    public func tokenCount(frames: Int) -> Int {
        let t = frames < config.tubeletSize ? config.tubeletSize : frames
        return (t / config.tubeletSize) * config.grid * config.grid
    }

    public var parameterCount: Int {
        patch.parameterCount + 2 * config.hiddenSize + layers.reduce(0) { n, l in
            n + l.qkv.parameterCount + l.proj.parameterCount
                + l.fc1.parameterCount + l.fc2.parameterCount + 4 * config.hiddenSize
        }
    }

    /// Encodes clips, each [frames × channels × crop × crop] (normalised pixels, transformers' `pixel_values_videos`
    /// layout per clip), into token features [clips · tokens × hidden], clip after clip.
    ///
    /// `isCancelled` is polled before each layer; once it returns true the call throws `CancellationError` (a
    /// full-size encoder takes seconds per batch, too long for a daemon asked to stop).
    public func encode(_ clips: [Tensor], workspace: Workspace, isCancelled: () -> Bool = { false }) throws -> Tensor {
        guard let first = clips.first else { return Tensor(zeros: [0, config.hiddenSize]) }
        let c = config.inChans, s = config.cropSize
        for clip in clips {
            guard clip.shape.count == 4, clip.shape[1] == c, clip.shape[2] == s, clip.shape[3] == s,
                  clip.shape[0] == first.shape[0], clip.shape[0] > 0
            else { throw ModelInputError.shape(found: clip.shape, expected: "[\(first.shape[0]), \(c), \(s), \(s)]") }
        }
        let frames = first.shape[0]
        let n = tokenCount(frames: frames)
        let rows = clips.count * n
        let h = config.hiddenSize
        let x = workspace.buffer(.residual, count: rows * h)
        let cols = patch.inFeatures
        let patches = workspace.buffer(.hidden, count: rows * cols)
        for (b, clip) in clips.enumerated() {
            var pixels = clip.scalars
            var t = frames
            if frames < config.tubeletSize {  // transformers repeats the whole clip along time
                pixels = Array([[Float]](repeating: pixels, count: config.tubeletSize).joined())
                t = frames * config.tubeletSize
            }
            pixels.withUnsafeBufferPointer { px in
                Kernels.tubelets(px.baseAddress!, frames: t, channels: c, height: s, width: s,
                                 tubelet: config.tubeletSize, patch: config.patchSize, into: patches + b * n * cols)
            }
        }
        patch(patches, rows: rows, into: x)
        try run(x, clips: clips.count, tokens: n, workspace: workspace, isCancelled: isCancelled)
        return Tensor(shape: [rows, h], scalars: Array(UnsafeBufferPointer(start: x, count: rows * h)))
    }

    /// The transformer blocks and the final norm, in place over `x` [clips · tokens × hidden].
    func run(_ x: UnsafeMutablePointer<Float>, clips: Int, tokens n: Int, workspace: Workspace,
             isCancelled: () -> Bool) throws {
        let h = config.hiddenSize, heads = config.numAttentionHeads, d = config.headDim
        let rows = clips * n
        let t = workspace.buffer(.hidden, count: rows * max(h, config.mlpSize))
        let qkv = workspace.buffer(.query, count: rows * 3 * h)
        let q = qkv, k = qkv + h, v = qkv + 2 * h  // column blocks of [rows × 3h]
        let a = workspace.buffer(.attended, count: rows * h)
        let scores = workspace.scratch(.scores, count: Kernels.attentionScratch(length: n, kvHeads: heads, headDim: d))
        let scale = 1 / Float(d).squareRoot()
        for layer in layers {
            if isCancelled() { throw CancellationError() }
            Kernels.layerNorm(x, rows: rows, dim: h, weight: layer.norm1.weight.pointer, bias: layer.norm1.bias.pointer,
                              eps: config.layerNormEps, into: t)
            layer.qkv(t, rows: rows, into: qkv)
            rope.apply(q, tokens: rows, stride: 3 * h, heads: heads, tokensPerClip: n)
            rope.apply(k, tokens: rows, stride: 3 * h, heads: heads, tokensPerClip: n)
            Kernels.attention(q: q, k: k, v: v, out: a, segments: (0..<clips).map { ($0 * n)..<(($0 + 1) * n) },
                              heads: heads, kvHeads: heads, headDim: d, qStride: 3 * h, kvStride: 3 * h, outStride: h,
                              scale: scale, scores: scores)
            layer.proj(a, rows: rows, into: x, accumulate: true)
            Kernels.layerNorm(x, rows: rows, dim: h, weight: layer.norm2.weight.pointer, bias: layer.norm2.bias.pointer,
                              eps: config.layerNormEps, into: a)
            layer.fc1(a, rows: rows, into: t)
            Kernels.activate(t, count: rows * config.mlpSize, activation)
            layer.fc2(t, rows: rows, into: x, accumulate: true)
        }
        Kernels.layerNorm(x, rows: rows, dim: h, weight: finalNorm.weight.pointer, bias: finalNorm.bias.pointer,
                          eps: config.layerNormEps, into: x)
    }
}
