/// One sampled frame: the grid time asked for and the presentation time of the frame shown then.
public struct SampledFrame: Sendable, Equatable {
    /// Position on the sampling grid (0, 1, 2, ...).
    public var index: Int
    /// The grid time, `phase + index / rate`, in seconds.
    public var target: Double
    /// Presentation time of the frame written, in seconds from the container start (from pts).
    public var time: Double
}

/// Decodes a video and emits the frame on screen at each time of a regular grid, converted into
/// the model's layout by a `Scaler`.
///
/// The frame for grid time t is the last frame whose presentation time is ≤ t (the one a player
/// shows at t); grid times before the first frame get the first frame. The grid ends at the end of
/// the last frame (its time plus its duration); a video with any decodable frame yields at least
/// one sample. Only sampled frames are scaled and converted.
public final class FrameSampler {
    /// Speed settings.
    public struct Options: Sendable {
        /// Decoder threads; 0 lets libav choose.
        public var threads: Int
        /// Skip non-reference frames while decoding. `nil` decides per file: on when the sampling
        /// rate is at most a quarter of the frame rate. Skipped frames are never sampled, so a
        /// sample may come from a frame up to one reference-frame gap earlier than with full
        /// decoding; its reported time is still that frame's own pts.
        public var skipNonReference: Bool?
        /// Seek to a keyframe when the next sample is seconds past the decoder, using the
        /// container's index. Never seeks backwards.
        public var seek: Bool

        public init(threads: Int = 0, skipNonReference: Bool? = nil, seek: Bool = true) {
            self.threads = threads
            self.skipNonReference = skipNonReference
            self.seek = seek
        }
    }

    public let file: MediaFile
    public let rate: Double
    public let phase: Double
    /// Whether non-reference frames are skipped for this file.
    public let skipsNonReference: Bool
    let cursor: FrameCursor
    let scaler: Scaler
    private var nextIndex = 0
    private var exhausted = false

    /// Samples `file` at `rate` frames per second at times `phase + j / rate`, from `j = first` (with
    /// `options.seek`, a first sample seconds into the video starts at a keyframe shortly before it). Pass
    /// `rate: 0` to take every decoded frame.
    public init(
        file: MediaFile, rate: Double, phase: Double = 0, first: Int = 0, shortSide: Int, crop: Int,
        mean: [Float] = ClipSpec.imageNetMean, std: [Float] = ClipSpec.imageNetStd, options: Options = Options()
    ) throws(MediaError) {
        precondition(rate >= 0 && rate.isFinite, "rate must be a finite, non-negative number of frames per second")
        precondition(first >= 0 && (first == 0 || rate > 0), "a first grid index needs a grid")
        precondition(crop >= 1 && shortSide >= crop, "need shortSide >= crop >= 1")
        precondition(mean.count == 3 && std.count == 3, "mean and std need three values")
        self.file = file
        self.rate = rate
        self.phase = phase
        nextIndex = first
        let frameRate = file.info.averageFrameRate ?? file.info.realFrameRate ?? 0
        skipsNonReference = options.skipNonReference ?? (rate > 0 && frameRate > 0 && rate * 4 <= frameRate)
        let decoder = try VideoDecoder(file: file, threads: options.threads, skipNonReference: skipsNonReference)
        cursor = FrameCursor(decoder: decoder, seeks: options.seek)
        scaler = Scaler(shortSide: shortSide, crop: crop, rotation: file.info.rotation, mean: mean, std: std)
    }

    /// Floats written per frame: `[3][crop][crop]`.
    public var floatsPerFrame: Int { scaler.floatsPerFrame }
    /// Frames the decoder produced so far (skipped non-reference frames are not counted).
    public var framesDecoded: Int { cursor.decoder.framesDecoded }
    /// Packets or frames the decoder rejected so far.
    public var decodeErrors: Int { cursor.decoder.decodeErrors }
    /// After the last sample: where the video ends (last frame time plus its duration), in seconds.
    public var endTime: Double { cursor.shownEnd }

    /// Writes the next sample into `output` (at least `floatsPerFrame` floats) and describes it, or
    /// returns `nil` after the last one.
    public func next(into output: UnsafeMutableBufferPointer<Float>) throws(MediaError) -> SampledFrame? {
        if exhausted { return nil }
        guard rate > 0 else { return try nextDecodedFrame(into: output) }
        let target = phase + Double(nextIndex) / rate
        if try cursor.show(target) {
            return try emit(target: target, into: output)
        }
        // End of stream: the last frame stayed on screen until its end, before the target.
        guard cursor.shownTime != nil else {
            exhausted = true
            throw MediaError(path: file.path, reason: .truncatedOrCorrupt("no decodable video frames"))
        }
        if nextIndex == 0 {
            return try emit(target: target, into: output)
        }
        exhausted = true
        return nil
    }

    /// `rate == 0`: every decoded frame, in presentation order.
    private func nextDecodedFrame(into output: UnsafeMutableBufferPointer<Float>) throws(MediaError) -> SampledFrame? {
        guard let t = try cursor.advance() else {
            exhausted = true
            if cursor.decoder.framesDecoded == 0 {
                throw MediaError(path: file.path, reason: .truncatedOrCorrupt("no decodable video frames"))
            }
            return nil
        }
        return try emit(target: t, into: output)
    }

    private func emit(target: Double, into output: UnsafeMutableBufferPointer<Float>) throws(MediaError) -> SampledFrame {
        guard let time = cursor.shownTime, scaler.convert(cursor.shown, into: output) else {
            throw MediaError(path: file.path, reason: .truncatedOrCorrupt("a decoded frame could not be scaled"))
        }
        defer { nextIndex += 1 }
        return SampledFrame(index: nextIndex, target: target, time: time)
    }
}
