import Neural

/// A stack of Llama decoder layers run bidirectionally (the causal mask removed), with its token embedding
/// table and optional final RMSNorm. Weights use `LlamaModel`'s keys under `prefix`:
/// `embed_tokens.weight`, `layers.{i}.{input_layernorm,self_attn.{q,k,v,o}_proj,post_attention_layernorm,
/// mlp.{gate,up,down}_proj}.*`, `norm.weight`.
public final class LlamaStack: Sendable {
    public let config: PredictorConfig
    let embedTokens: EmbeddingTable
    let layers: [Layer]
    let norm: Parameter?
    let rope: RoPE
    let activation: Activation

    struct Layer: Sendable {
        let inputNorm: Parameter
        let q: Linear, k: Linear, v: Linear, o: Linear
        let postNorm: Parameter
        let gate: Linear, up: Linear, down: Linear
    }

    public init(config: PredictorConfig, binder: ParameterBinder, prefix: String = "predictor.") throws {
        self.config = config
        let h = config.hiddenSize, d = config.resolvedHeadDim
        let qOut = config.numAttentionHeads * d, kvOut = config.numKeyValueHeads * d
        embedTokens = try binder.takeEmbedding("\(prefix)embed_tokens.weight", shape: [config.vocabSize, h])
        layers = try (0..<config.numHiddenLayers).map { i in
            let l = "\(prefix)layers.\(i)."
            let bias = config.attentionBias, mlpBias = config.mlpBias
            return Layer(
                inputNorm: try binder.take("\(l)input_layernorm.weight", shape: [h]),
                q: try binder.linear("\(l)self_attn.q_proj", in: h, out: qOut, bias: bias),
                k: try binder.linear("\(l)self_attn.k_proj", in: h, out: kvOut, bias: bias),
                v: try binder.linear("\(l)self_attn.v_proj", in: h, out: kvOut, bias: bias),
                o: try binder.linear("\(l)self_attn.o_proj", in: qOut, out: h, bias: bias),
                postNorm: try binder.take("\(l)post_attention_layernorm.weight", shape: [h]),
                gate: try binder.linear("\(l)mlp.gate_proj", in: h, out: config.intermediateSize, bias: mlpBias),
                up: try binder.linear("\(l)mlp.up_proj", in: h, out: config.intermediateSize, bias: mlpBias),
                down: try binder.linear("\(l)mlp.down_proj", in: config.intermediateSize, out: h, bias: mlpBias))
        }
        norm = config.finalNorm ? try binder.take("\(prefix)norm.weight", shape: [h]) : nil
        if let s = config.ropeScaling {
            rope = RoPE(inverseFrequencies: RoPE.llama3Frequencies(
                base: config.ropeTheta, dim: d, factor: s.factor, lowFrequencyFactor: s.lowFreqFactor,
                highFrequencyFactor: s.highFreqFactor, originalContext: s.originalMaxPositionEmbeddings))
        } else {
            rope = RoPE(inverseFrequencies: RoPE.defaultFrequencies(base: config.ropeTheta, dim: d))
        }
        activation = config.hiddenAct.activation
    }

    public var parameterCount: Int {
        embedTokens.count + (norm?.count ?? 0) + layers.reduce(0) { n, l in
            n + l.inputNorm.count + l.postNorm.count + l.q.parameterCount + l.k.parameterCount + l.v.parameterCount
                + l.o.parameterCount + l.gate.parameterCount + l.up.parameterCount + l.down.parameterCount
        }
    }

    /// Writes the embedding rows of `ids` to `out` [ids.count × hidden].
    func embed(_ ids: [Int], into out: UnsafeMutablePointer<Float>) throws {
        let h = config.hiddenSize
        for (r, id) in ids.enumerated() {
            guard id >= 0, id < config.vocabSize else { throw ModelInputError.tokenOutsideVocabulary(id: id, size: config.vocabSize) }
            embedTokens.copyRow(id, into: out + r * h)
        }
    }

    /// Runs the layers (and the final norm) in place over `x` [rows × hidden], where each of `segments` is one
    /// sequence whose RoPE positions run 0, 1, … and whose tokens attend to each other only.
    func run(_ x: UnsafeMutablePointer<Float>, segments: [Range<Int>], workspace: Workspace) {
        let h = config.hiddenSize, d = config.resolvedHeadDim
        let heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads
        let rows = segments.last?.upperBound ?? 0
        let longest = segments.map(\.count).max() ?? 0
        let inter = config.intermediateSize
        let (t, q, k, v, a, g, u, scores) = GatedBlockBuffers(
            workspace, rows: rows, longest: longest, width: h, heads: heads, kvHeads: kvHeads, headDim: d, intermediate: inter
        ).all
        let (cos, sin) = rope.tables(positions: 0..<longest)
        let pairs = rope.inverseFrequencies.count
        let scale = 1 / Float(d).squareRoot()
        for layer in layers {
            Kernels.rmsNorm(x, rows: rows, dim: h, weight: layer.inputNorm.pointer, eps: config.rmsNormEps, into: t)
            layer.q(t, rows: rows, into: q)
            layer.k(t, rows: rows, into: k)
            layer.v(t, rows: rows, into: v)
            SegmentAttention.run(q: q, k: k, v: v, out: a, segments: segments, heads: heads, kvHeads: kvHeads,
                                 headDim: d, cos: cos, sin: sin, pairs: pairs, scale: scale, scores: scores)
            layer.o(a, rows: rows, into: x, accumulate: true)
            Kernels.rmsNorm(x, rows: rows, dim: h, weight: layer.postNorm.pointer, eps: config.rmsNormEps, into: t)
            layer.gate(t, rows: rows, into: g)
            layer.up(t, rows: rows, into: u)
            Kernels.gated(g, up: u, count: rows * inter, activation)
            layer.down(g, rows: rows, into: x, accumulate: true)
        }
        if let norm {
            Kernels.rmsNorm(x, rows: rows, dim: h, weight: norm.pointer, eps: config.rmsNormEps, into: x)
        }
    }

    /// Hidden states [Σ lengths × hidden] of token sequences (each run on its own, unpadded).
    public func hiddenStates(_ sequences: [[Int]], workspace: Workspace) throws -> Tensor {
        let h = config.hiddenSize
        let segments = VLJEPA.segments(sequences.map(\.count))
        let rows = segments.last?.upperBound ?? 0
        let x = workspace.buffer(.residual, count: rows * h)
        for (s, ids) in zip(segments, sequences) { try embed(ids, into: x + s.lowerBound * h) }
        run(x, segments: segments, workspace: workspace)
        return Tensor(shape: [rows, h], scalars: Array(UnsafeBufferPointer(start: x, count: rows * h)))
    }
}

/// The predictor: `vis_proj` maps visual tokens into the Llama width, the prompt's token embeddings follow them,
/// the bidirectional Llama stack runs over [visual; prompt] with RoPE positions over the whole sequence, then
/// (final norm,) a mean over the pooled tokens and `out_proj` into the shared space, L2-normalised.
/// Weights: `predictor.` + `LlamaModel` keys, `predictor.vis_proj.*`, `predictor.out_proj.*` (with biases).
public final class Predictor: Sendable {
    public let config: PredictorConfig
    public let stack: LlamaStack
    let visProj: Linear
    let outProj: Linear

    public init(config: PredictorConfig, visionDim: Int, sharedDim: Int, binder: ParameterBinder) throws {
        self.config = config
        stack = try LlamaStack(config: config, binder: binder, prefix: "predictor.")
        visProj = try binder.linear("predictor.vis_proj", in: visionDim, out: config.hiddenSize, bias: true)
        outProj = try binder.linear("predictor.out_proj", in: config.hiddenSize, out: sharedDim, bias: true)
    }

    public var parameterCount: Int { stack.parameterCount + visProj.parameterCount + outProj.parameterCount }

    /// Predicted embeddings [clips × shared] from visual tokens [clips · tokensPerClip × visionDim] and a prompt.
    ///
    /// The prompt holds its real tokens only: padding is not needed, since pad tokens are masked out of
    /// attention and pooling and come last, so they change nothing.
    public func predict(visualTokens: Tensor, clips: Int, prompt: [Int], workspace: Workspace) throws -> Tensor {
        guard prompt.count <= config.maxPromptTokens else {
            throw ModelInputError.textLength(tokens: prompt.count, limit: 0...config.maxPromptTokens, what: "prompt")
        }
        if config.pool == .promptNonPad && prompt.isEmpty {
            throw ModelInputError.textLength(tokens: 0, limit: 1...config.maxPromptTokens, what: "prompt (predictor.pool is prompt_non_pad)")
        }
        let h = config.hiddenSize
        let nv = clips == 0 ? 0 : visualTokens.count / visProj.inFeatures / clips
        let length = nv + prompt.count
        let segments = VLJEPA.segments([Int](repeating: length, count: clips))
        let x = workspace.buffer(.residual, count: clips * length * h)
        visualTokens.scalars.withUnsafeBufferPointer { vis in
            for b in 0..<clips {
                visProj(vis.baseAddress! + b * nv * visProj.inFeatures, rows: nv, into: x + b * length * h)
            }
        }
        for b in 0..<clips { try stack.embed(prompt, into: x + (b * length + nv) * h) }
        stack.run(x, segments: segments, workspace: workspace)
        let pooled = workspace.buffer(.pooled, count: clips * h)
        let first = config.pool == .allNonPad ? 0 : nv
        for b in 0..<clips {
            Kernels.maskedMean(x + (b * length + first) * h, rows: length - first, dim: h, into: pooled + b * h)
        }
        var out = [Float](repeating: 0, count: clips * outProj.outFeatures)
        out.withUnsafeMutableBufferPointer { o in
            outProj(pooled, rows: clips, into: o.baseAddress!)
            Kernels.l2Normalize(o.baseAddress!, rows: clips, dim: outProj.outFeatures)
        }
        return Tensor(shape: [clips, outProj.outFeatures], scalars: out)
    }
}
