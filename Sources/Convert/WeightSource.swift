import Foundation
import Neural

/// One tensor of a source model: its dtype and shape, and where its elements are (a mapped safetensors file or a
/// PyTorch checkpoint). Nothing is read until the bundle writer asks for the elements.
struct SourceTensor {
    enum Origin {
        case safetensors(SafeTensorsFile, name: String)
        case torch(TorchTensor)
    }

    let dtype: SafeTensors.DType
    let shape: [Int]
    let origin: Origin

    init(file: SafeTensorsFile, entry: SafeTensors.Entry) {
        dtype = entry.dtype
        shape = entry.shape
        origin = .safetensors(file, name: entry.name)
    }

    init(_ tensor: TorchTensor) {
        dtype = tensor.dtype
        shape = tensor.shape
        origin = .torch(tensor)
    }

    var count: Int { shape.reduce(1, *) }

    /// The file the tensor comes from.
    var path: String {
        switch origin {
        case .safetensors(let file, _): file.path
        case .torch(let tensor): tensor.file.path
        }
    }

    /// Calls `body` with the elements as `Float`s in row-major order: F32 safetensors data in place, anything else
    /// widened (exactly, from F16 and BF16).
    /// - Throws: the reader's error for a dtype that is not a float type (naming the file and the tensor).
    func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        switch origin {
        case let .safetensors(file, name):
            guard let parameter = try file.parameter(name) else {
                preconditionFailure("\(file.path): '\(name)' is in the header that listed it")
            }
            return try withExtendedLifetime(parameter) {
                try body(UnsafeBufferPointer(start: parameter.pointer, count: parameter.count))
            }
        case .torch(let tensor):
            return try tensor.floats().withUnsafeBufferPointer(body)
        }
    }
}

/// The tensors of a model by name, with the file that error messages name.
struct WeightSource {
    /// The file named in messages: the safetensors file, the shard index, `pytorch_model.bin` or the checkpoint.
    let path: String
    let tensors: [String: SourceTensor]
    /// The names in the order the source lists them (a state dict's order; a safetensors file's sorted names).
    let names: [String]

    /// The tensors of a Hugging Face folder, as `convert.py`'s `load_weights` finds them: `model.safetensors`, else
    /// the shards of `model.safetensors.index.json`, else `pytorch_model.bin`.
    /// - Throws: `ConvertError` when the folder has none of them or the index is malformed, or the reader's error
    ///   (naming the file) for a damaged file.
    init(folder: URL) throws {
        let single = folder.appendingPathComponent("model.safetensors").path
        let index = folder.appendingPathComponent("model.safetensors.index.json").path
        let legacy = folder.appendingPathComponent("pytorch_model.bin").path
        if Self.isFile(single) {
            let file = try SafeTensorsFile(path: single)
            self.init(path: single, files: [file])
        } else if Self.isFile(index) {
            guard case .object(let map)? = try HFConfigFile.read(path: index)["weight_map"] else {
                throw ConvertError(path: index, reason: "no 'weight_map' object")
            }
            var shards = Set<String>()
            for (name, value) in map {
                guard case .string(let shard) = value else {
                    throw ConvertError(path: index, reason: "weight_map entry '\(name)' is not a file name")
                }
                shards.insert(shard)
            }
            // Later shards win on a repeated name, as `dict.update` over the sorted shard names does.
            let files = try shards.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }.map {
                try SafeTensorsFile(path: folder.appendingPathComponent($0).path)
            }
            self.init(path: index, files: files)
        } else if Self.isFile(legacy) {
            try self.init(stateDict: TorchCheckpoint(path: legacy).root, path: legacy)
        } else {
            throw ConvertError(path: folder.path, reason: "no model.safetensors, model.safetensors.index.json or pytorch_model.bin")
        }
    }

    private init(path: String, files: [SafeTensorsFile]) {
        var tensors: [String: SourceTensor] = [:]
        for file in files {
            for (name, entry) in file.entries { tensors[name] = SourceTensor(file: file, entry: entry) }
        }
        self.path = path
        self.tensors = tensors
        names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The tensors of a state dict (a `.dict` of names to tensors) read from the checkpoint at `path`.
    /// - Throws: `ConvertError` when it is not a dict of string names to tensors.
    init(stateDict: PickleValue, path: String) throws(ConvertError) {
        guard case .dict(let items) = stateDict else { throw ConvertError(path: path, reason: "the state dict is not a dict") }
        let named = try items.map { key, value throws(ConvertError) -> (name: String, tensor: SourceTensor) in
            guard case .string(let name) = key else { throw ConvertError(path: path, reason: "a state dict key is not a string") }
            guard case .tensor(let tensor) = value else {
                throw ConvertError(path: path, reason: "state dict entry '\(name)' is not a tensor")
            }
            return (name, SourceTensor(tensor))
        }
        self.init(path: path, tensors: named)
    }

    /// Named tensors in order (a later one replaces an earlier one of the same name, keeping its place).
    init(path: String, tensors named: [(name: String, tensor: SourceTensor)]) {
        var tensors: [String: SourceTensor] = [:]
        var names: [String] = []
        for (name, tensor) in named where tensors.updateValue(tensor, forKey: name) == nil { names.append(name) }
        self.path = path
        self.tensors = tensors
        self.names = names
    }

    /// `prefix + name` for every expected name, checked for presence and shape (`convert.py`'s `take`), in the
    /// expected order; the result is named without the prefix.
    /// - Throws: `ConvertError` naming this source's file and the first missing or misshapen tensor.
    func take(_ expected: ExpectedShapes, prefix: String, what: String) throws(ConvertError) -> [(name: String, tensor: SourceTensor)] {
        try expected.map { name, shape throws(ConvertError) in
            let key = prefix + name
            guard let tensor = tensors[key] else {
                throw ConvertError(path: path, reason: "missing tensor '\(key)' (\(what), expected shape \(shape))")
            }
            guard tensor.shape == shape else {
                throw ConvertError(path: path, reason: "tensor '\(key)' has shape \(tensor.shape), expected \(shape) (\(what))")
            }
            return (name, tensor)
        }
    }

    private static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
