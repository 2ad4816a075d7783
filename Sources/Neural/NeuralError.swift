import SystemCall

/// Errors from loading weights and validating tensor shapes; each names the file or tensor and the cause.
public enum NeuralError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened, stat'ed or mapped.
    case io(SystemCallError)
    /// The path names a FIFO, device, socket or folder, not a file.
    case notRegularFile(path: String)
    /// The safetensors file is malformed.
    case malformed(path: String, reason: String)
    /// A tensor has a dtype that cannot be read as Float.
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A parameter the model needs is absent from the file.
    case missingTensor(path: String, tensor: String)
    /// A tensor in the file was not bound to any parameter.
    case unusedTensors(path: String, tensors: [String])
    /// A tensor's shape differs from the parameter's.
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .io(error):
            return error.description
        case let .notRegularFile(path):
            return "\(path): is not a regular file"
        case let .malformed(path, reason):
            return "\(path): malformed safetensors: \(reason)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype), expected F32, F16 or BF16"
        case let .missingTensor(path, tensor):
            return "\(path): tensor '\(tensor)' is missing"
        case let .unusedTensors(path, tensors):
            return "\(path): unused tensors: \(tensors.map { "'\($0)'" }.joined(separator: ", "))"
        case let .shapeMismatch(path, tensor, expected, found):
            return "\(path): tensor '\(tensor)' expected \(expected), found \(found)"
        }
    }
}
