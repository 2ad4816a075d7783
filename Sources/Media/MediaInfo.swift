/// What the container headers and the chosen video stream say about a file.
///
/// Times are seconds. Metadata may be absent (`nil`) and may lie: the frame sampler trusts the
/// timestamps it decodes, not these numbers.
public struct MediaInfo: Sendable, Codable, Equatable {
    public var path: String
    /// The demuxer's name, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`.
    public var container: String
    /// Container duration in seconds, if the headers give one.
    public var duration: Double?
    /// Container start time in seconds; sample times are reported relative to it.
    public var startTime: Double
    /// Decoder name of the video codec, e.g. `h264`.
    public var videoCodec: String
    /// Coded width and height in pixels, before rotation.
    public var width: Int
    public var height: Int
    /// Clockwise rotation in degrees (0, 90, 180 or 270) that shows the picture upright.
    public var rotation: Int
    /// Average frame rate (frames / duration), if known.
    public var averageFrameRate: Double?
    /// The lowest rate that represents all timestamps exactly (FFmpeg's `r_frame_rate`), if known.
    public var realFrameRate: Double?
    public var hasAudio: Bool

    /// Width and height as displayed, after rotation.
    public var displayWidth: Int { rotation % 180 == 0 ? width : height }
    public var displayHeight: Int { rotation % 180 == 0 ? height : width }
}
