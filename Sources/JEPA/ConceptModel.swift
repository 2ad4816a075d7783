import Neural

/// The `efficientnet` bundles' model: an ImageNet classifier on each frame, its class probabilities carried into the
/// text space by the concept head (ConSE, Norouzi et al. 2014), and the Y-encoder for queries.
///
/// A clip's vector is normalise(Σ_c p̄_c · t_c) over the `concepts.top_k` classes with the highest p̄, where p̄ is
/// the softmax of the classifier averaged over the clip's frames and t_c row c of `concepts.embeddings` (the unit
/// text embedding of the class's names, made by `Tools/convert/concepts.py`). Queries are the Y-encoder's unit
/// vectors, so retrieval ranks clips by cosine as with VL-JEPA.
public final class ConceptModel: ClipModel {
    public let config: ModelConfig
    public let vision: EfficientNet
    /// [classes × shared_dim], unit rows.
    public let concepts: Parameter
    public let text: TextEncoder
    let topK: Int

    /// Builds the networks from `weights`, binding every tensor exactly once.
    public init(config: ModelConfig, weights: SafeTensorsFile) throws {
        try config.validate()
        guard case .efficientnet(let visionConfig) = config.vision, let head = config.concepts else {
            throw ConfigError("a concept model needs an efficientnet X-encoder and a concepts section")
        }
        self.config = config
        let binder = ParameterBinder(file: weights)
        vision = try EfficientNet(config: visionConfig, binder: binder)
        concepts = try binder.take("concepts.embeddings", shape: [head.count, config.sharedDim])
        text = try TextEncoder(config: config.text, sharedDim: config.sharedDim, binder: binder)
        try binder.finish()
        topK = head.topK
    }

    public var parts: [(name: String, parameters: Int)] {
        [("x-encoder", vision.parameterCount), ("concepts", concepts.count), ("y-encoder", text.parameterCount)]
    }

    /// Clip vectors [clips × shared_dim]; every clip [frames × channels × size × size] with at least one frame.
    /// `prompt` is unused (there is no predictor).
    public func embedClips(_ clips: [Tensor], prompt: [Int], workspace: Workspace, isCancelled: () -> Bool) throws -> Tensor {
        let dim = config.sharedDim
        guard !clips.isEmpty else { return Tensor(zeros: [0, dim]) }
        let image = Array(clips[0].shape.dropFirst())
        var frames: [Int] = []
        var pixels: [Float] = []
        pixels.reserveCapacity(clips.reduce(0) { $0 + $1.count })
        for clip in clips {
            guard clip.rank == 4, Array(clip.shape.dropFirst()) == image, clip.shape[0] >= 1 else {
                throw ModelInputError.shape(found: clip.shape, expected: "[frames ≥ 1, \(image.map(String.init).joined(separator: ", "))] (as clip 0)")
            }
            frames.append(clip.shape[0])
            pixels += clip.scalars
        }
        let logits = try vision.logits(Tensor(shape: [frames.reduce(0, +)] + image, scalars: pixels),
                                       workspace: workspace, isCancelled: isCancelled)
        let classes = concepts.shape[0]
        var probabilities = logits.scalars
        var out = [Float](repeating: 0, count: clips.count * dim)
        probabilities.withUnsafeMutableBufferPointer { p in
            Kernels.softmax(p.baseAddress!, rows: frames.reduce(0, +), cols: classes)
            var row = 0
            for (c, n) in frames.enumerated() {
                var mean = [Float](repeating: 0, count: classes)
                for f in row..<(row + n) {
                    for k in 0..<classes { mean[k] += p[f * classes + k] }
                }
                row += n
                let vector = combine(mean.map { $0 / Float(n) })
                out.replaceSubrange((c * dim)..<((c + 1) * dim), with: vector)
            }
        }
        return Tensor(shape: [clips.count, dim], scalars: out)
    }

    /// ConSE: the unit vector of Σ p_c · t_c over the `topK` largest probabilities (ties: the lower class index).
    func combine(_ probabilities: [Float]) -> [Float] {
        let dim = concepts.shape[1]
        let top = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
            .prefix(topK)
        var sum = [Float](repeating: 0, count: dim)
        for c in top {
            let row = concepts.pointer + c * dim
            for d in 0..<dim { sum[d] += probabilities[c] * row[d] }
        }
        sum.withUnsafeMutableBufferPointer { Kernels.l2Normalize($0.baseAddress!, rows: 1, dim: dim) }
        return sum
    }
}
