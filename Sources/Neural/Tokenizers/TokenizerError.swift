/// Why a `tokenizer.json` could not be loaded: names the file and the cause, e.g.
/// `tokenizer.json: unsupported pre_tokenizer type 'Metaspace'`.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The file is not valid JSON.
        case invalidJSON
        /// A field is missing, has the wrong type, or refers to something that does not exist.
        case invalidConfiguration
        /// A valid component that this implementation does not support.
        case unsupported
    }

    public let kind: Kind
    /// The file's name as given (last path component for files on disk).
    public let file: String
    public let message: String

    public init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

extension Tokenizer {
    /// A configuration problem found while building components; `Tokenizer.load` adds the file name.
    struct ConfigurationError: Error {
        var kind: TokenizerError.Kind
        var message: String

        static func invalid(_ message: String) -> ConfigurationError {
            ConfigurationError(kind: .invalidConfiguration, message: message)
        }

        static func unsupported(_ message: String) -> ConfigurationError {
            ConfigurationError(kind: .unsupported, message: message)
        }
    }
}
