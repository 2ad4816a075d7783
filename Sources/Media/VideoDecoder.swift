import CFFmpeg
import Glibc

/// Decodes the video stream of a `MediaFile` into frames in presentation order, each with its
/// presentation time in seconds relative to the container's start time.
///
/// Times come from `best_effort_timestamp` (pts, or FFmpeg's guess from dts when pts is missing);
/// a frame with neither gets the previous time plus one nominal frame duration.
final class VideoDecoder {
    let file: MediaFile
    let codec: UnsafeMutablePointer<AVCodecContext>
    private let packet: UnsafeMutablePointer<AVPacket>
    /// Seconds per stream timestamp tick.
    let timeBase: Double
    /// Seconds of one frame at the stream's average (or real) frame rate; 0 when unknown.
    let nominalFrameDuration: Double
    private let streamIndex: Int32
    private var sentFlush = false
    private(set) var finished = false
    /// Packets or frames the decoder rejected; damaged streams are decoded past such errors.
    private(set) var decodeErrors = 0
    private(set) var framesDecoded = 0
    private(set) var lastTime: Double?
    /// The index timestamp of the last seek: a later seek must go past it, so that a damaged index (an entry whose
    /// frames decode to earlier times) cannot send the sampler back to the same keyframe for ever.
    var lastSeek: Int64 = .min

    init(file: MediaFile, threads: Int, skipNonReference: Bool) throws(MediaError) {
        self.file = file
        let stream = file.videoStream
        streamIndex = stream.pointee.index
        let tb = stream.pointee.time_base
        timeBase = tb.den > 0 ? Double(tb.num) / Double(tb.den) : 0
        let rate = file.info.averageFrameRate ?? file.info.realFrameRate ?? 0
        nominalFrameDuration = rate > 0 && rate < 1000 ? 1 / rate : 0

        guard let decoder = avcodec_find_decoder(stream.pointee.codecpar.pointee.codec_id) else {
            throw MediaError(path: file.path, reason: .unsupportedCodec(file.info.videoCodec))
        }
        guard let context = avcodec_alloc_context3(decoder), let packet = av_packet_alloc() else {
            fatalError("libav could not allocate a codec context or packet (out of memory)")
        }
        // From here every stored property is set: a throw runs `deinit`, which frees the context and the packet.
        codec = context
        self.packet = packet
        do {
            try AVError.check(avcodec_parameters_to_context(context, stream.pointee.codecpar))
            context.pointee.pkt_timebase = tb
            context.pointee.thread_count = Int32(min(max(0, threads), 256))  // FFmpeg caps it lower still
            context.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
            if skipNonReference { context.pointee.skip_frame = AVDISCARD_NONREF }
            try AVError.check(avcodec_open2(context, decoder, nil))
        } catch {
            throw MediaError(path: file.path, reason: .unsupportedCodec("\(file.info.videoCodec) (\(error))"))
        }
    }

    deinit {
        var c: UnsafeMutablePointer<AVCodecContext>? = codec
        avcodec_free_context(&c)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// Decodes the next frame into `frame` and returns its time in seconds, or `nil` at the end.
    ///
    /// Throws when the demuxer fails before the end of the file (a truncated or damaged
    /// container); the frames before that point have been returned already.
    func decode(into frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Double? {
        let eof = vj_averror_eof()
        let again = vj_averror(EAGAIN)
        while !finished {
            let received = avcodec_receive_frame(codec, frame)
            if received == 0 {
                framesDecoded += 1
                return time(of: frame)
            }
            if received == eof {
                finished = true
                break
            }
            if received != again {
                decodeErrors += 1
                if sentFlush { continue }
            }
            if sentFlush {
                // The decoder asks for input after the flush packet: nothing more will come.
                finished = true
                break
            }
            try feed()
        }
        return nil
    }

    /// Sends the next video packet to the decoder, or the flush packet at the end of the file.
    private func feed() throws(MediaError) {
        let eof = vj_averror_eof()
        while true {
            let read = av_read_frame(file.format, packet)
            if read == eof {
                avcodec_send_packet(codec, nil)
                sentFlush = true
                return
            }
            if read < 0 {
                let at = lastTime.map { " after \((($0 * 100).rounded() / 100)) s" } ?? " before the first frame"
                throw MediaError(path: file.path, reason: .truncatedOrCorrupt("\(AVError(read))\(at)"))
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            if packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 { decodeErrors += 1 }
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 && sent != vj_averror(EAGAIN) { decodeErrors += 1 }
            return
        }
    }

    private func time(of frame: UnsafeMutablePointer<AVFrame>) -> Double {
        let noPTS = vj_av_nopts_value()
        var ts = frame.pointee.best_effort_timestamp
        if ts == noPTS { ts = frame.pointee.pts }
        let t: Double
        if ts != noPTS {
            t = Double(ts) * timeBase - file.info.startTime
        } else {
            t = (lastTime ?? 0) + (lastTime == nil ? 0 : nominalFrameDuration)
        }
        lastTime = t
        return t
    }

    /// Seconds the frame is shown: its packet duration, else the nominal frame duration.
    func duration(of frame: UnsafeMutablePointer<AVFrame>) -> Double {
        let d = frame.pointee.pkt_duration
        return d > 0 ? Double(d) * timeBase : nominalFrameDuration
    }
}
