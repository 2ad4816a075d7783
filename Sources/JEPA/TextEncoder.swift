import Neural

/// A text backbone that turns token sequences into hidden states (BERT or Gemma 3).
protocol TextBackbone: Sendable {
    var hiddenSize: Int { get }
    var parameterCount: Int { get }
    /// Runs each sequence on its own; returns hidden states [Σ lengths × hidden] in workspace slot 0.
    func run(_ sequences: [[Int]], workspace: Workspace) throws -> UnsafeMutablePointer<Float>
}

/// The Y-encoder: a text backbone, mean pooling over the tokens, optional dense layers, then the `projector`
/// into the shared space (unless `text.projector` is false), L2-normalised. Weights: `y_encoder.model.` + the backbone's Hugging Face keys,
/// `y_encoder.dense.{i}.*`, `y_encoder.projector.*` (with bias).
public final class TextEncoder: Sendable {
    public let config: TextConfig
    let backbone: any TextBackbone
    let dense: [(layer: Linear, tanh: Bool)]
    /// Nil when the pooled text is the shared space itself (`text.projector: false`) or none was asked for.
    let projector: Linear?

    public init(config: TextConfig, sharedDim: Int?, binder: ParameterBinder) throws {
        self.config = config
        switch config.family {
        case .bert: backbone = try BertBackbone(config: config, binder: binder, prefix: "y_encoder.model.")
        case .gemma3: backbone = try Gemma3Backbone(config: config, binder: binder, prefix: "y_encoder.model.")
        }
        dense = try config.dense.enumerated().map { i, d in
            (try binder.linear("y_encoder.dense.\(i)", in: d.inFeatures, out: d.outFeatures, bias: d.bias), d.activation == .tanh)
        }
        let projects = config.projector ?? true
        projector = try sharedDim.flatMap { dim in
            projects ? try binder.linear("y_encoder.projector", in: config.outputWidth, out: dim, bias: true) : nil
        }
    }

    public var parameterCount: Int {
        backbone.parameterCount + dense.reduce(0) { $0 + $1.layer.parameterCount } + (projector?.parameterCount ?? 0)
    }

    /// Backbone hidden states [Σ lengths × hidden] (each sequence unpadded).
    public func hiddenStates(_ sequences: [[Int]], workspace: Workspace) throws -> Tensor {
        let rows = sequences.reduce(0) { $0 + $1.count }
        let x = try backbone.run(sequences, workspace: workspace)
        return Tensor(shape: [rows, backbone.hiddenSize], scalars: Array(UnsafeBufferPointer(start: x, count: rows * backbone.hiddenSize)))
    }

    /// Query vectors [sequences × shared]; each sequence holds its real tokens only (no padding).
    public func embed(_ sequences: [[Int]], workspace: Workspace) throws -> Tensor {
        for s in sequences where s.isEmpty || s.count > config.maxTokens {
            throw ModelInputError.textLength(tokens: s.count, limit: 1...config.maxTokens, what: "text")
        }
        let h = backbone.hiddenSize
        let x = try backbone.run(sequences, workspace: workspace)
        let widest = max(h, config.dense.map(\.outFeatures).max() ?? 0)
        var current = workspace.buffer(.pooled, count: sequences.count * widest)
        var next = workspace.buffer(.pooledNext, count: sequences.count * widest)
        for (b, s) in VLJEPA.segments(sequences.map(\.count)).enumerated() {
            Kernels.maskedMean(x + s.lowerBound * h, rows: s.count, dim: h, into: current + b * h)
        }
        for (layer, tanh) in dense {
            layer(current, rows: sequences.count, into: next)
            if tanh { Kernels.tanh(next, count: sequences.count * layer.outFeatures) }
            swap(&current, &next)
        }
        let n = projector?.outFeatures ?? config.outputWidth
        var out = [Float](repeating: 0, count: sequences.count * n)
        out.withUnsafeMutableBufferPointer { o in
            if let projector {
                projector(current, rows: sequences.count, into: o.baseAddress!)
            } else {
                o.baseAddress!.update(from: current, count: sequences.count * n)
            }
            Kernels.l2Normalize(o.baseAddress!, rows: sequences.count, dim: n)
        }
        return Tensor(shape: [sequences.count, n], scalars: out)
    }
}
