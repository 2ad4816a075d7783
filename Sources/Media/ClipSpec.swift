/// How a video is cut into clips for the model: window length and stride in seconds, frames per
/// clip, and the picture each frame becomes.
///
/// Frames are sampled on one grid with step `window / frames`, at the centre of each step
/// (`(j + 0.5) * step` seconds), so overlapping windows share frames. Each frame is resized so its
/// shorter side is `resizeShortSide`, centre-cropped to `size` × `size`, and normalised per channel
/// as `(value / 255 - mean) / std`, channels first.
public struct ClipSpec: Sendable, Codable, Hashable {
    /// Window length in seconds.
    public var window: Double
    /// Distance between window starts in seconds; rounded to a whole number of grid steps.
    public var stride: Double
    /// Frames per clip, sampled uniformly inside the window.
    public var frames: Int
    /// Side of the square crop the model sees, in pixels.
    public var size: Int
    /// The shorter side is resized to this many pixels before the centre crop.
    public var resizeShortSide: Int
    /// Per-channel mean (R, G, B) of values in [0, 1].
    public var mean: [Float]
    /// Per-channel standard deviation (R, G, B).
    public var std: [Float]

    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    /// The default model's clip spec: 2 s windows every 1 s, 8 frames of 224 × 224 (short side 256).
    public static let `default` = ClipSpec()

    public init(
        window: Double = 2.0, stride: Double = 1.0, frames: Int = 8, size: Int = 224,
        resizeShortSide: Int? = nil, mean: [Float] = imageNetMean, std: [Float] = imageNetStd
    ) {
        self.window = window
        self.stride = stride
        self.frames = frames
        self.size = size
        self.resizeShortSide = resizeShortSide ?? ClipSpec.shortSide(forCrop: size)
        self.mean = mean
        self.std = std
    }

    /// The usual ratio: crop 224 out of a 256 short side.
    public static func shortSide(forCrop size: Int) -> Int { (size * 256 + 112) / 224 }

    /// Seconds between sampled frames.
    public var step: Double { window / Double(frames) }

    /// Floats in one clip: `[frames][3][size][size]`.
    public var floatsPerClip: Int { frames * 3 * size * size }

    /// Checks the values a clip stream depends on; the message names the bad field.
    public func validate() throws(ClipSpecError) {
        guard window > 0, window.isFinite else { throw ClipSpecError("window must be a positive number of seconds") }
        guard stride > 0, stride.isFinite else { throw ClipSpecError("stride must be a positive number of seconds") }
        guard frames >= 1 else { throw ClipSpecError("frames must be at least 1") }
        guard size >= 1, size <= 8192 else { throw ClipSpecError("size must be between 1 and 8192 pixels") }
        guard resizeShortSide >= size else { throw ClipSpecError("resizeShortSide must be at least size") }
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 > 0 }) else {
            throw ClipSpecError("mean and std need 3 values each, std positive")
        }
    }
}

/// An invalid `ClipSpec` field.
public struct ClipSpecError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
