import Neural

/// BERT (MiniLM-style) as transformers' `BertModel` without its pooler: word + position + token-type(0)
/// embeddings and a LayerNorm, then post-LN encoder layers with a GELU MLP.
struct BertBackbone: TextBackbone {
    let config: TextConfig
    let words: EmbeddingTable, positions: Parameter, tokenType: Parameter
    let embeddingNorm: (Parameter, Parameter)
    let layers: [Layer]
    let activation: Activation
    let eps: Float

    struct Layer: Sendable {
        let query: Linear, key: Linear, value: Linear, output: Linear
        let attentionNorm: (Parameter, Parameter)
        let intermediate: Linear, down: Linear
        let outputNorm: (Parameter, Parameter)
    }

    var hiddenSize: Int { config.hiddenSize }

    init(config: TextConfig, binder: ParameterBinder, prefix p: String) throws {
        self.config = config
        guard let maxPositions = config.maxPositionEmbeddings, let types = config.typeVocabSize,
              let eps = config.layerNormEps, let act = config.hiddenAct
        else { throw ConfigError("text: bert needs max_position_embeddings, type_vocab_size, layer_norm_eps, hidden_act") }
        self.eps = eps
        activation = act.activation
        let h = config.hiddenSize
        words = try binder.takeEmbedding("\(p)embeddings.word_embeddings.weight", shape: [config.vocabSize, h])
        positions = try binder.take("\(p)embeddings.position_embeddings.weight", shape: [maxPositions, h])
        tokenType = try binder.take("\(p)embeddings.token_type_embeddings.weight", shape: [types, h])
        func norm(_ name: String) throws -> (Parameter, Parameter) {
            (try binder.take("\(name).weight", shape: [h]), try binder.take("\(name).bias", shape: [h]))
        }
        embeddingNorm = try norm("\(p)embeddings.LayerNorm")
        layers = try (0..<config.numHiddenLayers).map { i in
            let l = "\(p)encoder.layer.\(i)."
            return Layer(
                query: try binder.linear("\(l)attention.self.query", in: h, out: h, bias: true),
                key: try binder.linear("\(l)attention.self.key", in: h, out: h, bias: true),
                value: try binder.linear("\(l)attention.self.value", in: h, out: h, bias: true),
                output: try binder.linear("\(l)attention.output.dense", in: h, out: h, bias: true),
                attentionNorm: try norm("\(l)attention.output.LayerNorm"),
                intermediate: try binder.linear("\(l)intermediate.dense", in: h, out: config.intermediateSize, bias: true),
                down: try binder.linear("\(l)output.dense", in: config.intermediateSize, out: h, bias: true),
                outputNorm: try norm("\(l)output.LayerNorm"))
        }
    }

    var parameterCount: Int {
        words.count + positions.count + tokenType.count + 2 * hiddenSize + layers.reduce(0) { n, l in
            n + l.query.parameterCount + l.key.parameterCount + l.value.parameterCount + l.output.parameterCount
                + l.intermediate.parameterCount + l.down.parameterCount + 4 * hiddenSize
        }
    }

    func run(_ sequences: [[Int]], workspace: Workspace) throws -> UnsafeMutablePointer<Float> {
        let h = config.hiddenSize, heads = config.numAttentionHeads, d = h / heads
        let segments = VLJEPA.segments(sequences.map(\.count))
        let rows = segments.last?.upperBound ?? 0
        let longest = segments.map(\.count).max() ?? 0
        let x = workspace.buffer(.residual, count: rows * h)
        for (s, ids) in zip(segments, sequences) {
            guard ids.count <= positions.shape[0] else {
                throw ModelInputError.textLength(tokens: ids.count, limit: 1...positions.shape[0], what: "text")
            }
            for (i, id) in ids.enumerated() {
                guard id >= 0, id < config.vocabSize else { throw ModelInputError.tokenOutsideVocabulary(id: id, size: config.vocabSize) }
                let row = x + (s.lowerBound + i) * h
                words.copyRow(id, into: row)
                for c in 0..<h { row[c] += tokenType.pointer[c] + positions.pointer[i * h + c] }
            }
        }
        Kernels.layerNorm(x, rows: rows, dim: h, weight: embeddingNorm.0.pointer, bias: embeddingNorm.1.pointer, eps: eps, into: x)
        let t = workspace.buffer(.hidden, count: rows * max(h, config.intermediateSize))
        let q = workspace.buffer(.query, count: rows * h)
        let k = workspace.buffer(.key, count: rows * h)
        let v = workspace.buffer(.value, count: rows * h)
        let a = workspace.buffer(.attended, count: rows * h)
        let scores = workspace.scratch(.scores, count: Kernels.attentionScratch(length: longest, kvHeads: heads, headDim: d))
        let scale = 1 / Float(d).squareRoot()
        for layer in layers {
            layer.query(x, rows: rows, into: q)
            layer.key(x, rows: rows, into: k)
            layer.value(x, rows: rows, into: v)
            Kernels.attention(q: q, k: k, v: v, out: a, segments: segments, heads: heads, kvHeads: heads, headDim: d,
                              qStride: h, kvStride: h, outStride: h, scale: scale, scores: scores)
            // Post-LN: x = LN(x + dense(attention)), then x = LN(x + down(act(intermediate(x)))).
            layer.output(a, rows: rows, into: x, accumulate: true)
            Kernels.layerNorm(x, rows: rows, dim: h, weight: layer.attentionNorm.0.pointer, bias: layer.attentionNorm.1.pointer, eps: eps, into: x)
            layer.intermediate(x, rows: rows, into: t)
            Kernels.activate(t, count: rows * config.intermediateSize, activation)
            layer.down(t, rows: rows, into: x, accumulate: true)
            Kernels.layerNorm(x, rows: rows, dim: h, weight: layer.outputNorm.0.pointer, bias: layer.outputNorm.1.pointer, eps: eps, into: x)
        }
        return x
    }
}
