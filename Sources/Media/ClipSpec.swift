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

    /// The usual ratio: crop 224 out of a 256 short side (`Int.max` for a size so large the ratio overflows, which
    /// `validate()` then rejects).
    public static func shortSide(forCrop size: Int) -> Int {
        let (scaled, overflow) = size.multipliedReportingOverflow(by: 256)
        return overflow ? Int.max : (scaled + 112) / 224
    }

    /// Window length and stride, in seconds: short enough windows to sample at most a few thousand frames a second,
    /// long enough to be finite grid steps.
    public static let secondsRange: ClosedRange<Double> = 0.05...3600
    /// Frames per clip.
    public static let framesRange: ClosedRange<Int> = 1...1024
    /// Crop side in pixels.
    public static let sizeRange: ClosedRange<Int> = 1...4096
    /// The short side the crop is cut from, in pixels, at most.
    public static let maxResizeShortSide = 8192
    /// Floats one clip may take (`frames × 3 × size × size`): 4 GiB.
    public static let maxFloatsPerClip = 1 << 30
    /// Samples per second of video (`frames / window`) at most: each is a scaled and converted frame, and more than
    /// any frame rate only repeats frames (0.05 s windows of 1,024 frames would convert 20,480 a second).
    public static let maxSamplesPerSecond = 1000.0

    /// Seconds between sampled frames.
    public var step: Double { window / Double(frames) }

    /// Floats in one clip: `[frames][3][size][size]`.
    public var floatsPerClip: Int { frames * 3 * size * size }

    /// Checks the values a clip stream depends on; the message names the bad field.
    public func validate() throws(ClipSpecError) {
        let seconds = Self.secondsRange, pixels = Self.sizeRange
        guard seconds.contains(window) else {
            throw ClipSpecError("window must be between \(seconds.lowerBound) and \(seconds.upperBound) seconds")
        }
        guard seconds.contains(stride) else {
            throw ClipSpecError("stride must be between \(seconds.lowerBound) and \(seconds.upperBound) seconds")
        }
        guard Self.framesRange.contains(frames) else {
            throw ClipSpecError("frames must be between \(Self.framesRange.lowerBound) and \(Self.framesRange.upperBound)")
        }
        guard pixels.contains(size) else {
            throw ClipSpecError("size must be between \(pixels.lowerBound) and \(pixels.upperBound) pixels")
        }
        guard resizeShortSide >= size, resizeShortSide <= Self.maxResizeShortSide else {
            throw ClipSpecError("resizeShortSide must be between size (\(size)) and \(Self.maxResizeShortSide) pixels")
        }
        guard Double(frames) / window <= Self.maxSamplesPerSecond else {
            throw ClipSpecError("frames / window too large: \(frames) frames in \(window) s sample more than \(Int(Self.maxSamplesPerSecond)) frames a second")
        }
        // The ranges above keep this product far from overflow: 1024 × 3 × 4096² < 2⁴⁰.
        guard floatsPerClip <= Self.maxFloatsPerClip else {
            throw ClipSpecError("frames × size² too large: a clip of \(frames) frames of \(size)×\(size) pixels would take \(floatsPerClip >> 28) GiB (at most \(Self.maxFloatsPerClip >> 28) GiB)")
        }
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
