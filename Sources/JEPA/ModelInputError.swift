/// Input a loaded model cannot take: a request problem, not a bundle problem (that is `ConfigError`).
public enum ModelInputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A token sequence is empty or longer than the encoder takes.
    case textLength(tokens: Int, limit: ClosedRange<Int>, what: String)
    /// A token id is past the end of the vocabulary.
    case tokenOutsideVocabulary(id: Int, size: Int)
    /// A clip or image tensor does not have the shape the encoder was built for.
    case shape(found: [Int], expected: String)
    /// A decoded frame has the wrong number of bytes.
    case frameSize(frame: Int, bytes: Int, expected: Int)

    public var description: String {
        switch self {
        case let .textLength(tokens, limit, what):
            "\(what) of \(tokens) tokens; \(limit.lowerBound) to \(limit.upperBound) are taken"
        case let .tokenOutsideVocabulary(id, size): "token id \(id) outside the vocabulary of \(size)"
        case let .shape(found, expected): "shape \(found) is not \(expected)"
        case let .frameSize(frame, bytes, expected): "frame \(frame) has \(bytes) bytes, expected \(expected)"
        }
    }
}
