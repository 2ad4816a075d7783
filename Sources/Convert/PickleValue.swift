import Foundation
import Neural

/// What the restricted unpickler (`TorchCheckpoint`) can produce: plain Python data and tensors, nothing callable.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// A dict or an OrderedDict, in insertion order.
    case dict([(key: PickleValue, value: PickleValue)])
    case tensor(TorchTensor)

    /// The value of the string key `key` of a dict, if this is a dict that has it.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let items) = self else { return nil }
        return items.first { if case .string(let k) = $0.key { return k == key } else { return false } }?.value
    }
}

/// One tensor of a PyTorch archive: a strided view into a storage record of the mapped file.
public struct TorchTensor: @unchecked Sendable {
    /// The element type, in safetensors' names (`torch.BFloat16Storage` → `.bf16`).
    public let dtype: SafeTensors.DType
    public let shape: [Int]
    /// In elements, as PyTorch keeps them.
    public let strides: [Int]
    /// In elements, from the start of the storage.
    public let storageOffset: Int
    /// The storage's bytes (kept alive by `file`).
    public let storage: UnsafeRawBufferPointer
    /// Keeps the mapping alive while the tensor is used.
    public let file: MappedFile

    public init(dtype: SafeTensors.DType, shape: [Int], strides: [Int], storageOffset: Int,
                storage: UnsafeRawBufferPointer, file: MappedFile) {
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.storage = storage
        self.file = file
    }

    public var count: Int { shape.reduce(1, *) }
}
