import Neural

/// Gemma 3 text (EmbeddingGemma-style) as transformers' `Gemma3TextModel` with bidirectional attention:
/// embeddings scaled by √hidden, `(1 + w)` RMSNorms (input, post-attention, pre- and post-feedforward, q/k per head),
/// GeGLU MLP with tanh GELU, attention scaled by `query_pre_attn_scalar^-½`, local layers with a bidirectional
/// sliding window and their own RoPE base, global layers over the whole sequence.
struct Gemma3Backbone: TextBackbone {
    let config: TextConfig
    let embedTokens: EmbeddingTable
    let layers: [Layer]
    let norm: Parameter
    let globalRoPE: RoPE, localRoPE: RoPE
    let activation: Activation
    let eps: Float
    let headDim: Int, kvHeads: Int
    let scale: Float
    /// Query `i` sees key `j` in a sliding layer when `|i − j| < window`.
    let window: Int

    struct Layer: Sendable {
        let sliding: Bool
        let inputNorm: Parameter, postAttentionNorm: Parameter, preFeedforwardNorm: Parameter, postFeedforwardNorm: Parameter
        let q: Linear, k: Linear, v: Linear, o: Linear
        let qNorm: Parameter, kNorm: Parameter
        let gate: Linear, up: Linear, down: Linear
    }

    var hiddenSize: Int { config.hiddenSize }

    init(config: TextConfig, binder: ParameterBinder, prefix p: String) throws {
        self.config = config
        guard let kvHeads = config.numKeyValueHeads, let headDim = config.headDim, let eps = config.rmsNormEps,
              let act = config.hiddenActivation, let global = config.ropeTheta, let local = config.ropeLocalBaseFreq,
              let types = config.layerTypes, let slidingWindow = config.slidingWindow, let qScalar = config.queryPreAttnScalar
        else {
            throw ConfigError("text: gemma3 needs num_key_value_heads, head_dim, rms_norm_eps, hidden_activation, rope_theta, rope_local_base_freq, layer_types, sliding_window, query_pre_attn_scalar")
        }
        guard config.useBidirectionalAttention == true else { throw ConfigError("text: gemma3 must set use_bidirectional_attention (causal text models are not embedding models)") }
        guard types.count == config.numHiddenLayers else { throw ConfigError("text.layer_types has \(types.count) entries for \(config.numHiddenLayers) layers") }
        activation = act.activation
        self.eps = eps
        self.headDim = headDim
        self.kvHeads = kvHeads
        scale = Float(1 / qScalar.squareRoot())
        window = slidingWindow / 2 + 1
        globalRoPE = RoPE(inverseFrequencies: RoPE.defaultFrequencies(base: global, dim: headDim))
        localRoPE = RoPE(inverseFrequencies: RoPE.defaultFrequencies(base: local, dim: headDim))
        let h = config.hiddenSize, heads = config.numAttentionHeads, bias = config.attentionBias ?? false
        embedTokens = try binder.takeEmbedding("\(p)embed_tokens.weight", shape: [config.vocabSize, h])
        layers = try types.enumerated().map { i, type in
            let l = "\(p)layers.\(i)."
            return Layer(
                sliding: type == .slidingAttention,
                inputNorm: try binder.take("\(l)input_layernorm.weight", shape: [h]),
                postAttentionNorm: try binder.take("\(l)post_attention_layernorm.weight", shape: [h]),
                preFeedforwardNorm: try binder.take("\(l)pre_feedforward_layernorm.weight", shape: [h]),
                postFeedforwardNorm: try binder.take("\(l)post_feedforward_layernorm.weight", shape: [h]),
                q: try binder.linear("\(l)self_attn.q_proj", in: h, out: heads * headDim, bias: bias),
                k: try binder.linear("\(l)self_attn.k_proj", in: h, out: kvHeads * headDim, bias: bias),
                v: try binder.linear("\(l)self_attn.v_proj", in: h, out: kvHeads * headDim, bias: bias),
                o: try binder.linear("\(l)self_attn.o_proj", in: heads * headDim, out: h, bias: bias),
                qNorm: try binder.take("\(l)self_attn.q_norm.weight", shape: [headDim]),
                kNorm: try binder.take("\(l)self_attn.k_norm.weight", shape: [headDim]),
                gate: try binder.linear("\(l)mlp.gate_proj", in: h, out: config.intermediateSize, bias: false),
                up: try binder.linear("\(l)mlp.up_proj", in: h, out: config.intermediateSize, bias: false),
                down: try binder.linear("\(l)mlp.down_proj", in: config.intermediateSize, out: h, bias: false))
        }
        norm = try binder.take("\(p)norm.weight", shape: [h])
    }

    var parameterCount: Int {
        embedTokens.count + norm.count + layers.reduce(0) { n, l in
            n + 4 * hiddenSize + 2 * headDim + l.q.parameterCount + l.k.parameterCount + l.v.parameterCount
                + l.o.parameterCount + l.gate.parameterCount + l.up.parameterCount + l.down.parameterCount
        }
    }

    func run(_ sequences: [[Int]], workspace: Workspace) throws -> UnsafeMutablePointer<Float> {
        let h = config.hiddenSize, heads = config.numAttentionHeads, d = headDim
        let segments = VLJEPA.segments(sequences.map(\.count))
        let rows = segments.last?.upperBound ?? 0
        let longest = segments.map(\.count).max() ?? 0
        let inter = config.intermediateSize
        let x = workspace.buffer(.residual, count: rows * h)
        let embedScale = Float(Double(h).squareRoot())
        for (s, ids) in zip(segments, sequences) {
            for (i, id) in ids.enumerated() {
                guard id >= 0, id < config.vocabSize else { throw ModelInputError.tokenOutsideVocabulary(id: id, size: config.vocabSize) }
                let row = x + (s.lowerBound + i) * h
                embedTokens.copyRow(id, scale: embedScale, into: row)
            }
        }
        let (t, q, k, v, a, g, u, scores) = GatedBlockBuffers(
            workspace, rows: rows, longest: longest, width: h, heads: heads, kvHeads: kvHeads, headDim: d, intermediate: inter
        ).all
        let globalTables = globalRoPE.tables(positions: 0..<longest)
        let localTables = localRoPE.tables(positions: 0..<longest)
        let pairs = d / 2
        for layer in layers {
            Kernels.rmsNorm(x, rows: rows, dim: h, weight: layer.inputNorm.pointer, weightOffset: 1, eps: eps, into: t)
            layer.q(t, rows: rows, into: q)
            layer.k(t, rows: rows, into: k)
            layer.v(t, rows: rows, into: v)
            Kernels.rmsNorm(q, rows: rows * heads, dim: d, weight: layer.qNorm.pointer, weightOffset: 1, eps: eps, into: q)
            Kernels.rmsNorm(k, rows: rows * kvHeads, dim: d, weight: layer.kNorm.pointer, weightOffset: 1, eps: eps, into: k)
            let (cos, sin) = layer.sliding ? localTables : globalTables
            let mask = Kernels.AttentionMask(window: layer.sliding ? window : nil)
            SegmentAttention.run(q: q, k: k, v: v, out: a, segments: segments, heads: heads, kvHeads: kvHeads,
                                 headDim: d, cos: cos, sin: sin, pairs: pairs, scale: scale, mask: mask, scores: scores)
            layer.o(a, rows: rows, into: t)
            Kernels.rmsNorm(t, rows: rows, dim: h, weight: layer.postAttentionNorm.pointer, weightOffset: 1, eps: eps, into: t)
            Kernels.add(t, into: x, count: rows * h)
            Kernels.rmsNorm(x, rows: rows, dim: h, weight: layer.preFeedforwardNorm.pointer, weightOffset: 1, eps: eps, into: t)
            layer.gate(t, rows: rows, into: g)
            layer.up(t, rows: rows, into: u)
            Kernels.gated(g, up: u, count: rows * inter, activation)
            layer.down(g, rows: rows, into: t)
            Kernels.rmsNorm(t, rows: rows, dim: h, weight: layer.postFeedforwardNorm.pointer, weightOffset: 1, eps: eps, into: t)
            Kernels.add(t, into: x, count: rows * h)
        }
        Kernels.rmsNorm(x, rows: rows, dim: h, weight: norm.pointer, weightOffset: 1, eps: eps, into: x)
        return x
    }
}
