import CFFmpeg
import Glibc
import SystemCall

/// A libav return code (a negative `AVERROR`), described with `av_strerror`.
public struct AVError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    public static let endOfFile = AVError(vj_averror_eof())
    public static let tryAgain = AVError(vj_averror(EAGAIN))
    public static let invalidData = AVError(vj_averror_invaliddata())

    /// Returns `result` when it is not an error (>= 0), and throws it as an `AVError` otherwise.
    @discardableResult
    public static func check(_ result: Int32) throws(AVError) -> Int32 {
        if result < 0 { throw AVError(result) }
        return result
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buffer, buffer.count) < 0 { return "libav error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A failure to use a media file that a user can act on, naming the file and the cause.
public struct MediaError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable, CustomStringConvertible {
        /// Nothing at the path (a dangling symbolic link included).
        case notFound
        /// The process may not read the file.
        case permissionDenied
        /// A directory, FIFO, socket or device rather than a regular file.
        case notRegularFile(kind: String)
        /// The file has no bytes.
        case empty
        /// No demuxer recognises the content.
        case notMediaFile
        /// A single still image (PNG, JPEG, ...); animated GIFs are videos.
        case stillImage
        /// The container has no video stream (cover art does not count).
        case noVideoStream(hasAudio: Bool)
        /// FFmpeg here has no decoder for the video codec.
        case unsupportedCodec(String)
        /// The content looks like media but is cut short or damaged.
        case truncatedOrCorrupt(String)
        /// Any other libav failure.
        case library(AVError)
        /// An output file exists as something written files must not go through: a symbolic link, or a file with
        /// other hard links.
        case refusedToOverwrite
        /// A system call on the file failed (other than for a missing file or a denied permission).
        case system(Errno)
        /// FFmpeg's shared libraries could not be opened (the reason from the dynamic loader).
        case ffmpegUnavailable(String)
        /// No frame at the time asked for, in seconds: it is before 0, not a number, or at or past `end`, where the
        /// video ends (when known).
        case timeOutOfRange(Double, end: Double?)
        /// A request Media does not serve, such as a thumbnail width out of range (what and why, in words).
        case invalidRequest(String)

        public var description: String {
            switch self {
            case .notFound: return "no such file"
            case .permissionDenied: return "permission denied"
            case .notRegularFile(let kind): return "not a regular file (\(kind))"
            case .empty: return "empty file"
            case .notMediaFile: return "not a media file"
            case .stillImage: return "a still image, not a video"
            case .noVideoStream(let hasAudio): return hasAudio ? "no video stream (audio only)" : "no video stream"
            case .unsupportedCodec(let name): return "unsupported video codec '\(name)'"
            case .truncatedOrCorrupt(let detail): return "truncated or corrupt data: \(detail)"
            case .library(let error): return error.description
            case .system(let errno): return errno.sentence
            case .refusedToOverwrite: return "exists and is not a plain file with one name (a symbolic link, a folder, a hard link); not overwritten"
            case .ffmpegUnavailable(let why): return "cannot load FFmpeg (install libavformat, libavcodec, libswscale): \(why)"
            case .timeOutOfRange(let time, let end):
                let at = "no frame at \(Reason.seconds(time)) s"
                if time < 0 { return at + ": times start at 0" }
                if let end, time >= end { return at + ": the video ends at \(Reason.seconds(end)) s" }
                return at
            case .invalidRequest(let what): return what
            }
        }

        /// Seconds rounded to milliseconds, without trailing zeros ("12.5", "-1.0", "nan").
        static func seconds(_ value: Double) -> String {
            value.isFinite ? "\((value * 1000).rounded() / 1000)" : "\(value)"
        }
    }

    public let path: String
    public let reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
