import JEPA
import Media
import Neural
import SystemCall

/// Why a file could not be indexed: kept in its catalog record, so that `status` and later runs can say why, and
/// so that code tells the kinds apart by case rather than by words. The description is one line without the path
/// (the report names the file).
public enum VideoFailure: Codable, Equatable, Sendable, CustomStringConvertible {
    /// FFmpeg could not use the file: not a video, no video stream, damaged data, an unsupported codec…
    /// (`MediaError.Reason`'s words).
    case media(String)
    /// A system call on the file failed.
    case system(call: String, errno: Int32)
    /// Something a folder scan does not index: a FIFO, a name that is not UTF-8, a link it may not follow.
    case notIndexable(String)
    /// The model failed on the file's clips.
    case embedding(String)
    /// The file decoded to no frames at all.
    case noFrames
    /// More clip windows than a library keeps per video.
    case tooManySegments(count: Int, limit: Int)
    /// The words of a failure recorded by a vjsearch before failures had kinds, or of an error nobody foresaw.
    case described(String)

    /// The failure `error` stands for, thrown while fingerprinting, decoding or embedding a file.
    public init(_ error: any Error) {
        switch error {
        case let e as MediaError: self = .media(e.reason.description)
        case let e as SystemCallError: self = .system(call: e.call, errno: e.errno.rawValue)
        case CatalogError.system(let e): self = .system(call: e.call, errno: e.errno.rawValue)
        case CatalogError.tooManySegments(_, let count, let limit): self = .tooManySegments(count: count, limit: limit)
        case CatalogError.noFrames: self = .noFrames
        case let e as CatalogError: self = .embedding(e.description)
        case let e as ModelInputError: self = .embedding(e.description)
        case let e as NeuralError: self = .embedding(e.description)
        default: self = .described("\(error)")
        }
    }

    public var description: String {
        switch self {
        case .media(let reason): reason
        case .system(_, let errno): Errno(rawValue: errno).sentence
        case .notIndexable(let why): why
        case .embedding(let why): "embedding failed: \(why)"
        case .noFrames: "no video frames could be decoded"
        case .tooManySegments(let count, let limit): "\(count) segments, more than \(limit) per video"
        case .described(let words): words
        }
    }
}
