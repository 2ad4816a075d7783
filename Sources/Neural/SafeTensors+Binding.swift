/// Strict binding of the tensors in a file to a model's parameters (every tensor used exactly once).
public final class ParameterBinder {
    public let file: SafeTensorsFile
    private var used: Set<String> = []
    /// Where converted (f16, bf16) weights live.
    private let arena = WeightArena()

    public init(file: SafeTensorsFile) { self.file = file }

    /// The tensor `name`, which must exist and have exactly `shape`.
    public func take(_ name: String, shape: [Int]) throws -> Parameter {
        try check(name, shape: shape)
        guard let parameter = try file.parameter(name, arena: arena) else {
            throw NeuralError.missingTensor(path: file.path, tensor: name)
        }
        used.insert(name)
        return parameter
    }

    /// The embedding table `name`, which must exist and have exactly `shape` [vocabulary, width].
    public func takeEmbedding(_ name: String, shape: [Int]) throws -> EmbeddingTable {
        try check(name, shape: shape)
        guard let table = try file.embeddingTable(name) else { throw NeuralError.missingTensor(path: file.path, tensor: name) }
        used.insert(name)
        return table
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
        Linear(
            weight: try take("\(prefix).weight", shape: [outFeatures, inFeatures]),
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
