import CFFmpeg

/// The frame on screen at a time: decodes forward from where the decoder is, seeking to a keyframe when the
/// target is seconds ahead, and holds that frame (`shown`) with the next decoded one as a lookahead.
///
/// The frame for time t is the last frame whose presentation time is ≤ t (the one a player shows at t); a time before
/// the first frame (or before the seek point) gets that frame. Targets must not decrease. `FrameSampler` walks its grid
/// with one; `Thumbnail` asks it for a single time.
final class FrameCursor {
    let decoder: VideoDecoder
    /// Seek when a target is seconds past the decoder (the container's index permitting). Never seeks backwards.
    private let seeks: Bool
    /// The frame on screen at the last target, valid while `shownTime` is not nil.
    private(set) var shown: UnsafeMutablePointer<AVFrame>
    private(set) var shownTime: Double?
    /// Where the frames decoded so far end: the latest frame's time plus its duration, in seconds.
    private(set) var shownEnd = 0.0
    private var lookahead: UnsafeMutablePointer<AVFrame>
    private var lookaheadTime: Double?

    /// Times within this many seconds count as equal (grid times are sums of floating-point steps).
    static let tolerance = 1e-6

    init(decoder: VideoDecoder, seeks: Bool) {
        self.decoder = decoder
        self.seeks = seeks
        guard let a = av_frame_alloc(), let b = av_frame_alloc() else { fatalError("out of memory for AVFrame") }
        shown = a
        lookahead = b
    }

    deinit {
        var a: UnsafeMutablePointer<AVFrame>? = shown
        av_frame_free(&a)
        var b: UnsafeMutablePointer<AVFrame>? = lookahead
        av_frame_free(&b)
    }

    /// Decodes until `shown` is the frame on screen at `target` and returns true; returns false when the video ends
    /// at or before `target` (then `shown` is its last frame, or `shownTime` is nil when no frame decoded since the
    /// last seek). Decodes at most up to the first frame after `target`.
    func show(_ target: Double) throws(MediaError) -> Bool {
        let tolerance = FrameCursor.tolerance
        while true {
            if lookaheadTime == nil {
                if seeks, target - (decoder.lastTime ?? 0) > 1, decoder.seekIfWorthwhile(to: target) {
                    shownTime = nil
                }
                guard let t = try decoder.decode(into: lookahead) else { break }
                lookaheadTime = t
            }
            guard let t = lookaheadTime else { break }
            if shownTime != nil && t > target + tolerance {
                // The shown frame is on screen at the target; the lookahead waits for a later one.
                return true
            }
            takeLookahead(time: t)
            if t > target + tolerance {
                // The target lies before the first frame (or the seek point): that frame stands in.
                return true
            }
        }
        // End of stream: the last frame stays on screen until its end.
        return shownTime != nil && target < shownEnd - tolerance
    }

    /// Decodes the next frame in presentation order into `shown` and returns its time, or nil at the end.
    func advance() throws(MediaError) -> Double? {
        guard let t = try decoder.decode(into: lookahead) else { return nil }
        takeLookahead(time: t)
        return t
    }

    private func takeLookahead(time: Double) {
        let previous = shown
        shown = lookahead
        lookahead = previous
        shownTime = time
        lookaheadTime = nil
        shownEnd = max(shownEnd, time + decoder.duration(of: shown))
    }
}
