/// Strict binding of the tensors in a file to a model's parameters (every tensor used exactly once).
public final class ParameterBinder {
    public let file: SafeTensorsFile
    private var used: Set<String> = []
    /// Whether 16-bit linear weights stay in the file, converted block by block at each product.
    public let streamsHalfWeights: Bool

    /// With `streamHalfWeights`, linear layers keep F16/BF16 weights in the mapped file and convert them a
    /// block at a time inside each product: no up-front conversion, for a process that runs a model once
    /// (a cold query). Otherwise they are converted once at load, for throughput.
    public init(file: SafeTensorsFile, streamHalfWeights: Bool = false) {
        self.file = file
        self.streamsHalfWeights = streamHalfWeights
    }

    /// The tensor `name`, which must exist and have exactly `shape`.
    public func take(_ name: String, shape: [Int]) throws -> Parameter {
        try check(name, shape: shape)
        guard let parameter = try file.parameter(name) else {
            throw NeuralError.missingTensor(path: file.path, tensor: name)
        }
        used.insert(name)
        return parameter
    }

    /// The embedding table `name`, which must exist and have exactly `shape` [vocabulary, width].
    public func takeEmbedding(_ name: String, shape: [Int]) throws -> EmbeddingTable {
        try check(name, shape: shape)
        if let matrix = file.halfMatrix(name) {
            used.insert(name)
            return EmbeddingTable(matrix)
        }
        return EmbeddingTable(try take(name, shape: shape))
    }

    private func check(_ name: String, shape: [Int]) throws {
        guard let entry = file.entries[name] else { throw NeuralError.missingTensor(path: file.path, tensor: name) }
        guard entry.shape == shape else {
            throw NeuralError.shapeMismatch(path: file.path, tensor: name, expected: shape, found: entry.shape)
        }
    }

    /// The tensor when the file has it, nil otherwise (for optional parameters such as biases).
    public func takeIfPresent(_ name: String, shape: [Int]) throws -> Parameter? {
        file.entries[name] == nil ? nil : try take(name, shape: shape)
    }

    /// A linear layer `prefix.weight` [out, in] and, when `bias`, `prefix.bias` [out].
    public func linear(_ prefix: String, in inFeatures: Int, out outFeatures: Int, bias: Bool) throws -> Linear {
        let name = "\(prefix).weight"
        if streamsHalfWeights, let matrix = file.halfMatrix(name) {
            try check(name, shape: [outFeatures, inFeatures])
            used.insert(name)
            return Linear(weight: matrix, bias: bias ? try take("\(prefix).bias", shape: [outFeatures]) : nil)
        }
        return Linear(weight: try take(name, shape: [outFeatures, inFeatures]),
                      bias: bias ? try take("\(prefix).bias", shape: [outFeatures]) : nil)
    }

    /// Throws when any tensor of the file was not bound, naming them all (sorted).
    ///
    /// With `prefixes`, only tensors under those prefixes count: a part of a model loaded on its own
    /// (e.g. the text side for queries) is strict about its own tensors and ignores the rest of the file.
    public func finish(prefixes: [String]? = nil) throws {
        let unused = file.entries.keys.filter { name in
            !used.contains(name) && (prefixes?.contains { name.hasPrefix($0) } ?? true)
        }.sorted()
        if !unused.isEmpty { throw NeuralError.unusedTensors(path: file.path, tensors: unused) }
    }
}
