/// Strict binding of the tensors in a file to a model's parameters (every tensor used exactly once).
public final class ParameterBinder {
    public let file: SafeTensorsFile
    private var used: Set<String> = []

    public init(file: SafeTensorsFile) { self.file = file }

    /// The tensor `name`, which must exist and have exactly `shape`.
    public func take(_ name: String, shape: [Int]) throws -> Parameter {
        guard let entry = file.entries[name] else { throw NeuralError.missingTensor(path: file.path, tensor: name) }
        guard entry.shape == shape else {
            throw NeuralError.shapeMismatch(path: file.path, tensor: name, expected: shape, found: entry.shape)
        }
        guard let parameter = try file.parameter(name) else {
            throw NeuralError.missingTensor(path: file.path, tensor: name)
        }
        used.insert(name)
        return parameter
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
