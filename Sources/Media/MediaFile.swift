import CFFmpeg
import CFFmpegLoader
import Glibc
import SystemCall

/// An opened media file: the demuxer (`AVFormatContext`) and its chosen video stream.
///
/// Opening checks the path first (missing, unreadable, not a regular file, empty) so that FIFOs
/// and devices never block, then asks libav to recognise the content, and classifies failures as
/// `MediaError`s. Not thread-safe: use one `MediaFile` from one thread.
public final class MediaFile {
    public let path: String
    public let info: MediaInfo
    let format: UnsafeMutablePointer<AVFormatContext>
    let videoStream: UnsafeMutablePointer<AVStream>

    /// Opens `path` and reads the stream headers.
    public init(path: String) throws(MediaError) {
        self.path = path
        if let failure = Media.loadFailure { throw MediaError(path: path, reason: .ffmpegUnavailable(failure)) }
        try MediaFile.checkRegularFile(path)

        var context: UnsafeMutablePointer<AVFormatContext>?
        let opened = avformat_open_input(&context, path, nil, nil)
        guard opened >= 0, let context else {
            throw MediaError(path: path, reason: MediaFile.classifyOpenFailure(path, AVError(opened)))
        }
        format = context
        var ok = false
        defer { if !ok { var c: UnsafeMutablePointer<AVFormatContext>? = context; avformat_close_input(&c) } }

        let found = avformat_find_stream_info(context, nil)
        if found < 0 {
            throw MediaError(path: path, reason: .truncatedOrCorrupt(AVError(found).description))
        }
        let containerName = context.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
        if MediaFile.textDemuxers.contains(containerName) {
            throw MediaError(path: path, reason: .notMediaFile)
        }
        if MediaFile.isStillImageDemuxer(containerName) {
            throw MediaError(path: path, reason: .stillImage)
        }

        var best: UnsafeMutablePointer<AVStream>?
        var hasAudio = false
        for i in 0..<Int(context.pointee.nb_streams) {
            guard let stream = context.pointee.streams[i], let par = stream.pointee.codecpar else { continue }
            switch par.pointee.codec_type {
            case AVMEDIA_TYPE_AUDIO:
                hasAudio = true
            case AVMEDIA_TYPE_VIDEO where stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0:
                let area = Int(par.pointee.width) * Int(par.pointee.height)
                let bestArea = best.map { Int($0.pointee.codecpar.pointee.width) * Int($0.pointee.codecpar.pointee.height) } ?? -1
                if area > bestArea { best = stream }
            default:
                break
            }
        }
        guard let stream = best else {
            throw MediaError(path: path, reason: .noVideoStream(hasAudio: hasAudio))
        }
        let par = stream.pointee.codecpar.pointee
        guard avcodec_find_decoder(par.codec_id) != nil else {
            throw MediaError(path: path, reason: .unsupportedCodec(String(cString: avcodec_get_name(par.codec_id))))
        }
        guard par.width > 0, par.height > 0 else {
            throw MediaError(path: path, reason: .truncatedOrCorrupt("video stream has no picture size"))
        }
        for i in 0..<Int(context.pointee.nb_streams) where context.pointee.streams[i] != stream {
            context.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }
        videoStream = stream
        if let missing = MediaFile.bytesMissing(context, stream) {
            throw MediaError(path: path, reason: .truncatedOrCorrupt(
                "the file ends \(missing) bytes before the last video frame its index lists"))
        }

        let noPTS = vj_av_nopts_value()
        let timeBase = Double(AV_TIME_BASE)
        info = MediaInfo(
            path: path,
            container: containerName,
            duration: context.pointee.duration == noPTS || context.pointee.duration <= 0
                ? nil : Double(context.pointee.duration) / timeBase,
            startTime: context.pointee.start_time == noPTS ? 0 : Double(context.pointee.start_time) / timeBase,
            videoCodec: String(cString: avcodec_get_name(par.codec_id)),
            width: Int(par.width), height: Int(par.height),
            rotation: MediaFile.rotation(of: stream),
            averageFrameRate: MediaFile.rate(stream.pointee.avg_frame_rate),
            realFrameRate: MediaFile.rate(stream.pointee.r_frame_rate),
            hasAudio: hasAudio)
        ok = true
    }

    deinit {
        var context: UnsafeMutablePointer<AVFormatContext>? = format
        avformat_close_input(&context)
    }

    /// Reads the headers of `path` and closes it again.
    public static func probe(_ path: String) throws(MediaError) -> MediaInfo {
        try MediaFile(path: path).info
    }

    // MARK: - Classification

    static func checkRegularFile(_ path: String) throws(MediaError) {
        var st = stat()
        if stat(path, &st) != 0 {
            let reason: MediaError.Reason = switch errno {
            case ENOENT, ENOTDIR: .notFound
            case EACCES: .permissionDenied
            default: .system(Errno(rawValue: errno))
            }
            throw MediaError(path: path, reason: reason)
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw MediaError(path: path, reason: .notRegularFile(kind: "a directory"))
        case S_IFIFO: throw MediaError(path: path, reason: .notRegularFile(kind: "a FIFO"))
        case S_IFSOCK: throw MediaError(path: path, reason: .notRegularFile(kind: "a socket"))
        default: throw MediaError(path: path, reason: .notRegularFile(kind: "a device"))
        }
        if access(path, R_OK) != 0 { throw MediaError(path: path, reason: .permissionDenied) }
        if st.st_size == 0 { throw MediaError(path: path, reason: .empty) }
    }

    /// Tells "not media at all" from "media whose headers are damaged" by probing the first bytes
    /// without the file name: a truncated MP4 still starts with a box a demuxer recognises.
    static func classifyOpenFailure(_ path: String, _ error: AVError) -> MediaError.Reason {
        switch -error.code {
        case ENOENT: return .notFound
        case EACCES, EPERM: return .permissionDenied
        default: break
        }
        guard let file = fopen(path, "rb") else { return .system(Errno(rawValue: errno)) }
        defer { fclose(file) }
        let probeSize = 64 * 1024
        let padding = Int(AVPROBE_PADDING_SIZE)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: probeSize + padding)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 0, count: probeSize + padding)
        let count = fread(buffer, 1, probeSize, file)
        var score: Int32 = 0
        let recognised = "".withCString { noName in
            var probe = AVProbeData(filename: noName, buf: buffer, buf_size: Int32(count), mime_type: nil)
            return av_probe_input_format3(&probe, 1, &score)
        }
        guard let recognised, score > AVPROBE_SCORE_RETRY else { return .notMediaFile }
        if String(cString: recognised.pointee.name).hasPrefix("mov,") {
            // MP4/MOV files written front to back keep the movie header (moov box) at the end.
            return .truncatedOrCorrupt("no movie header (moov box); the file is incomplete or damaged")
        }
        return .truncatedOrCorrupt(error.description)
    }

    /// For containers with a sample index (MP4/MOV, AVI): how many bytes past the end of the file
    /// the last indexed video frame ends, or `nil` when the file holds every indexed frame.
    static func bytesMissing(_ context: UnsafeMutablePointer<AVFormatContext>, _ stream: UnsafeMutablePointer<AVStream>) -> Int64? {
        guard let io = context.pointee.pb else { return nil }
        let fileSize = avio_size(io)
        let count = avformat_index_get_entries_count(stream)
        guard fileSize > 0, count > 0 else { return nil }
        var end: Int64 = 0
        for i in 0..<count {
            guard let entry = avformat_index_get_entry(stream, i) else { continue }
            end = max(end, entry.pointee.pos + Int64(entry.pointee.size))
        }
        return end > fileSize ? end - fileSize : nil
    }

    /// Demuxers that render text files (ANSI art, plain text with a `.txt` name) as video.
    static let textDemuxers: Set<String> = ["tty", "bin", "xbin", "adf", "idf"]

    /// Single-image demuxers (`image2`, `png_pipe`, `jpeg_pipe`, ...). GIF has its own demuxer and
    /// is treated as a video.
    static func isStillImageDemuxer(_ name: String) -> Bool {
        name == "image2" || name.hasSuffix("_pipe")
    }

    /// Clockwise degrees to turn the coded picture upright, from the display matrix.
    static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        var size: Int = 0
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size),
              size >= 9 * MemoryLayout<Int32>.size else { return 0 }
        let counterClockwise = data.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
        guard counterClockwise.isFinite else { return 0 }
        let quarterTurns = Int((-counterClockwise / 90).rounded())
        return ((quarterTurns % 4) + 4) % 4 * 90
    }

    static func rate(_ r: AVRational) -> Double? {
        r.num > 0 && r.den > 0 ? Double(r.num) / Double(r.den) : nil
    }
}

/// Media: open, probe and decode video files with FFmpeg; sample frames at exact timestamps; cut
/// clip windows; make JPEG thumbnails (`MediaFile`, `FrameSampler`, `ClipStream`, `Thumbnail`).
///
/// Policies, the same for `probe`, `segments` and indexing:
/// - Times are seconds from the container's start time (what players show), taken from pts.
/// - Animated GIFs are videos. Single still images (PNG, JPEG, ... via the image demuxers) are
///   refused as `.stillImage`; text files (FFmpeg's `tty` demuxer) as `.notMediaFile`.
/// - Cover art (attached pictures) is not a video stream: an MP3 or M4A with cover art is
///   `.noVideoStream(hasAudio: true)`.
/// - Truncated or damaged files fail with `.truncatedOrCorrupt`: at open when the headers are
///   missing (an MP4 cut before its `moov` box) or when the container's sample index lists frames
///   past the end of the file (an MP4 with `moov` in front, cut short); while decoding when the
///   demuxer reports damaged data, after the clips before the damage were delivered. Containers
///   without an index (MPEG-TS, raw streams) that simply end early cannot be told from shorter
///   videos and decode to where the data ends. Packets the decoder rejects inside an otherwise
///   readable stream are skipped and counted (`FrameSampler.decodeErrors`), as the ffmpeg CLI does.
/// - Paths that are not regular files (directories, FIFOs, devices) are refused before libav
///   opens them, so a FIFO without a writer cannot block.
/// - Display rotation is applied in quarter turns; mirroring in the display matrix is ignored, and
///   so are non-square sample aspect ratios, except by thumbnails (which are for people).
public enum Media {
    /// Why FFmpeg's libraries could not be opened, or nil once they are loaded (opened on first use, with
    /// libav's own logging silenced: errors reach users through `MediaError` instead).
    static let loadFailure: String? = {
        if let failure = vj_ffmpeg_load() { return String(cString: failure) }
        av_log_set_level(AV_LOG_QUIET)
        return nil
    }()
}
