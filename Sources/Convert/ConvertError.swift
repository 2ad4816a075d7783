import Foundation

/// A source that cannot be converted: the message names the file (and, where there is one, the tensor or key).
public struct ConvertError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
