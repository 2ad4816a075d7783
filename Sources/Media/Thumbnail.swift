import CFFmpeg
import Glibc

/// JPEG thumbnails: the frame on screen at a time, upright, scaled to a width, encoded by libavcodec's MJPEG encoder.
///
/// The frame is the one a player shows at t (the last frame whose presentation time is ≤ t, as `FrameSampler` picks
/// it), found by seeking to the keyframe before t and decoding forward to the first frame after t, never further.
/// The picture is turned upright (display rotation), scaled to the width asked for with the display aspect ratio (the
/// sample aspect ratio applied, unlike the model's input) and an even height, converted to full-range BT.601 YCbCr
/// 4:2:0 (JFIF's) through RGB, so that BT.709 video keeps its colours, and encoded as one baseline JPEG.
public enum Thumbnail {
    /// Widths `jpeg` makes, in pixels.
    public static let widthRange = 16...4096
    /// MJPEG quantiser scales `jpeg` accepts: 2 (best, largest) to 31 (smallest). 4 looks like the video at thumbnail
    /// sizes; 2 is near lossless.
    public static let qualityRange = 2...31
    /// The tallest thumbnail, in pixels: pictures taller than twice the widest width are squeezed to it.
    public static let maxHeight = 2 * widthRange.upperBound

    /// The JPEG (`FF D8` … `FF D9`) of the frame on screen `seconds` after the video at `path` starts (the times
    /// `FrameSampler` and `probe` use), `width` pixels wide.
    ///
    /// Throws `MediaError` naming `path`: `.invalidRequest` for a width or quality out of range, `.timeOutOfRange` for a
    /// time before 0, not a number, or at or past the end of the video (the container's duration, or the end of the
    /// last frame when the headers have none), and otherwise as `MediaFile` and `FrameSampler` do for files that are
    /// missing, not video, truncated or damaged. `threads` are the decoder's (0: libav chooses); one suits a server
    /// making thumbnails in parallel.
    ///
    /// - Complexity: decodes one group of pictures at most when the container's index lists the keyframes (MP4,
    ///   MOV); from the start of the file to t otherwise.
    public static func jpeg(
        path: String, at seconds: Double, width: Int = 320, quality: Int = 4, threads: Int = 1
    ) throws(MediaError) -> [UInt8] {
        guard widthRange.contains(width) else {
            throw MediaError(path: path, reason: .invalidRequest(
                "thumbnail width \(width) is outside \(widthRange.lowerBound)-\(widthRange.upperBound) pixels"))
        }
        guard qualityRange.contains(quality) else {
            throw MediaError(path: path, reason: .invalidRequest(
                "JPEG quality \(quality) is outside \(qualityRange.lowerBound)-\(qualityRange.upperBound)"))
        }
        guard seconds >= 0 else { throw MediaError(path: path, reason: .timeOutOfRange(seconds, end: nil)) }
        let file = try MediaFile(path: path)
        if let duration = file.info.duration, seconds >= duration {
            throw MediaError(path: path, reason: .timeOutOfRange(seconds, end: duration))
        }
        let cursor = FrameCursor(
            decoder: try VideoDecoder(file: file, threads: threads, skipNonReference: false), seeks: true)
        guard try cursor.show(seconds) else {
            guard cursor.shownTime != nil else {
                throw MediaError(path: path, reason: .truncatedOrCorrupt("no decodable video frames"))
            }
            throw MediaError(path: path, reason: .timeOutOfRange(seconds, end: cursor.shownEnd))
        }
        let frame = cursor.shown.pointee
        let sar = frame.sample_aspect_ratio
        let size = outputSize(width: Int(frame.width), height: Int(frame.height),
                              sampleAspect: sar.num > 0 && sar.den > 0 ? Double(sar.num) / Double(sar.den) : nil,
                              rotation: file.info.rotation, outputWidth: width)
        guard let picture = uprightRGB(frame, rotation: file.info.rotation, width: size.width, height: size.height) else {
            throw MediaError(path: path, reason: .truncatedOrCorrupt("a decoded frame could not be scaled"))
        }
        do {
            return try encode(picture, quality: quality)
        } catch {
            throw MediaError(path: path, reason: .library(error))
        }
    }

    /// Display size of a `width` × `height` coded picture with samples `sampleAspect` times as wide as high (nil when
    /// unknown: square) turned `rotation` degrees, scaled to `outputWidth`: the height rounded down to an even number
    /// in `2...maxHeight`.
    static func outputSize(
        width: Int, height: Int, sampleAspect: Double?, rotation: Int, outputWidth: Int
    ) -> (width: Int, height: Int) {
        var across = Double(width), down = Double(height)
        if let sampleAspect, sampleAspect.isFinite, sampleAspect > 0 { across *= sampleAspect }
        if rotation % 180 != 0 { swap(&across, &down) }
        let exact = Double(outputWidth) * down / across
        let even = exact.isFinite ? Int(min(exact, Double(maxHeight)) / 2) * 2 : 2
        return (outputWidth, min(max(2, even), maxHeight))
    }

    /// Packed RGB24 rows of the upright picture.
    struct RGBPicture {
        var width: Int, height: Int, stride: Int
        var pixels: [UInt8]
    }

    /// `frame` scaled (in its coded orientation) and turned `rotation` degrees so that it is `width` × `height`
    /// upright; nil when swscale cannot convert its pixel format.
    static func uprightRGB(_ frame: AVFrame, rotation: Int, width: Int, height: Int) -> RGBPicture? {
        let turned = rotation % 180 != 0
        let codedWidth = turned ? height : width, codedHeight = turned ? width : height
        guard frame.width > 0, frame.height > 0,
              let context = Scaler.rgbContext(nil, from: frame, width: Int(frame.width), height: Int(frame.height),
                                              outputWidth: codedWidth, outputHeight: codedHeight, flags: SWS_BICUBIC)
        else { return nil }
        defer { sws_freeContext(context) }
        // Rows start 64-byte aligned, as swscale's vector code prefers.
        let codedStride = (codedWidth * 3 + 63) & ~63
        var scaled = RGBPicture(width: codedWidth, height: codedHeight, stride: codedStride,
                                pixels: [UInt8](repeating: 0, count: codedStride * codedHeight))
        let rows = scaled.pixels.withUnsafeMutableBufferPointer { buffer in
            var planes = frame.data, strides = frame.linesize
            var output = (Optional(buffer.baseAddress!), UnsafeMutablePointer<UInt8>?.none)
            var outputStrides: (Int32, Int32) = (Int32(codedStride), 0)
            return Scaler.scale(context, &planes, &strides, rows: Int(frame.height), into: &output, &outputStrides)
        }
        guard rows == Int32(codedHeight) else { return nil }
        return rotation == 0 ? scaled : turn(scaled, rotation: rotation)
    }

    /// `picture` turned `rotation` degrees clockwise.
    static func turn(_ picture: RGBPicture, rotation: Int) -> RGBPicture {
        let turned = rotation % 180 != 0
        let width = turned ? picture.height : picture.width, height = turned ? picture.width : picture.height
        let stride = (width * 3 + 63) & ~63
        var pixels = [UInt8](repeating: 0, count: stride * height)
        let (base, dy, dx) = Scaler.rotatedWalk(rotation: rotation, width: picture.width, height: picture.height,
                                                stride: picture.stride, pixel: 3)
        picture.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { output in
                guard let src = source.baseAddress, let out = output.baseAddress else { return }
                for y in 0..<height {
                    let row = src + base + y * dy
                    let outRow = out + y * stride
                    for x in 0..<width {
                        let p = row + x * dx
                        outRow[3 * x] = p[0]
                        outRow[3 * x + 1] = p[1]
                        outRow[3 * x + 2] = p[2]
                    }
                }
            }
        }
        return RGBPicture(width: width, height: height, stride: stride, pixels: pixels)
    }

    /// One baseline JPEG of `picture` from libavcodec's MJPEG encoder, in full-range BT.601 YCbCr 4:2:0 at quantiser
    /// scale `quality`.
    static func encode(_ picture: RGBPicture, quality: Int) throws(AVError) -> [UInt8] {
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else { throw AVError(vj_averror_encoder_not_found()) }
        guard let context = avcodec_alloc_context3(encoder), let frame = av_frame_alloc(), let packet = av_packet_alloc()
        else { fatalError("libav could not allocate an encoder context, frame or packet (out of memory)") }
        defer {
            var c: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&c)
            var f: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&f)
            var p: UnsafeMutablePointer<AVPacket>? = packet
            av_packet_free(&p)
        }
        let lambda = Int32(quality) * FF_QP2LAMBDA
        context.pointee.width = Int32(picture.width)
        context.pointee.height = Int32(picture.height)
        context.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        context.pointee.color_range = AVCOL_RANGE_JPEG
        context.pointee.time_base = AVRational(num: 1, den: 25)
        context.pointee.flags |= AV_CODEC_FLAG_QSCALE
        context.pointee.global_quality = lambda
        context.pointee.thread_count = 1
        try AVError.check(avcodec_open2(context, encoder, nil))

        frame.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        frame.pointee.width = Int32(picture.width)
        frame.pointee.height = Int32(picture.height)
        frame.pointee.color_range = AVCOL_RANGE_JPEG
        frame.pointee.quality = lambda
        frame.pointee.pts = 0
        try AVError.check(av_frame_get_buffer(frame, 0))
        try toYCbCr(picture, into: frame)

        try AVError.check(avcodec_send_frame(context, frame))
        var received = avcodec_receive_packet(context, packet)
        if received == AVError.tryAgain.code {
            try AVError.check(avcodec_send_frame(context, nil))
            received = avcodec_receive_packet(context, packet)
        }
        try AVError.check(received)
        defer { av_packet_unref(packet) }
        return Array(UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
    }

    /// Converts `picture` into `frame`'s full-range BT.601 YCbCr 4:2:0 planes (the frame is its size).
    private static func toYCbCr(_ picture: RGBPicture, into frame: UnsafeMutablePointer<AVFrame>) throws(AVError) {
        let size = (Int32(picture.width), Int32(picture.height))
        guard let context = sws_getCachedContext(nil, size.0, size.1, AV_PIX_FMT_RGB24, size.0, size.1, AV_PIX_FMT_YUVJ420P,
                                                 SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil)
        else { throw AVError(vj_averror(EINVAL)) }
        defer { sws_freeContext(context) }
        let bt601 = sws_getCoefficients(SWS_CS_ITU601)
        sws_setColorspaceDetails(context, bt601, 1, bt601, 1, 0, 1 << 16, 1 << 16)
        let rows = picture.pixels.withUnsafeBufferPointer { buffer in
            var planes = (Optional(buffer.baseAddress!), UnsafeMutablePointer<UInt8>?.none)
            var strides: (Int32, Int32) = (Int32(picture.stride), 0)
            var output = frame.pointee.data, outputStrides = frame.pointee.linesize
            return Scaler.scale(context, &planes, &strides, rows: picture.height, into: &output, &outputStrides)
        }
        guard rows == size.1 else { throw AVError(vj_averror(EINVAL)) }
    }
}
