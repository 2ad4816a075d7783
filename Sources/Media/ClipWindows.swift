/// One clip window: where it lies in the video and the times of its frames.
public struct Clip: Sendable, Codable, Equatable {
    /// 0, 1, 2, ... in stream order.
    public var index: Int
    /// Window start and end in seconds from the container start.
    public var start: Double
    public var end: Double
    /// Presentation time of each of the clip's frames, in seconds (repeats when a short video
    /// has fewer distinct samples than the clip has frames).
    public var frameTimes: [Double]
}

/// Streams the clip windows of a video with their frames, in the model's layout
/// `[frames][3][size][size]`.
///
/// Frames are sampled once, on the grid `(j + 0.5) * step` with `step = window / frames`; window k
/// covers grid indices `k * strideSteps ..< k * strideSteps + frames`, where `strideSteps` is the
/// stride in grid steps (rounded, at least 1). So window k spans
/// `[k * strideSteps * step, … + window)`. When the last regular window stops short of the last
/// sample, a final window made of the last `frames` samples covers the tail. A video with fewer
/// samples than `frames` yields a single clip over the whole video with samples repeated in order.
///
/// Memory is bounded whatever the video length: a ring of `frames` converted frames plus the
/// decoder's two frames.
///
/// A stream `from` a time emits only the whole stream's windows that end after it (same indices and
/// frames; the tail window, which reaches the end of the video, whenever the video lasts past the
/// windows skipped), and decodes from a keyframe shortly before the samples they need.
public final class ClipStream {
    public let spec: ClipSpec
    public let sampler: FrameSampler
    /// Window stride in grid steps.
    public let strideSteps: Int
    private let floatsPerFrame: Int
    private var ring: [Float]
    private var ringFrames: [SampledFrame?]
    private var sampled: Int
    /// The first grid index sampled (0 unless streaming `from` a time).
    private let firstSample: Int
    private var nextWindow: Int
    private var lastCovered: Int
    private var finished = false

    /// Prepares to stream `file`'s clips that end after `from` seconds (all of them by default); nothing is
    /// decoded until the first `next(into:)`.
    public init(file: MediaFile, spec: ClipSpec = .default, options: FrameSampler.Options = .init(), from: Double = 0) throws {
        try spec.validate()
        precondition(from.isFinite && from >= 0, "from is a finite, non-negative number of seconds")
        self.spec = spec
        let step = spec.step
        // validate() bounds the ratio: at most 3600 s × 1000 samples a second = 3.6 × 10⁶ steps, so it converts to Int.
        let strideSteps = max(1, Int((spec.stride / step).rounded()))
        self.strideSteps = strideSteps
        // The first window ending after `from`: window k ends at (k · strideSteps + frames) steps. Sampling starts one
        // window earlier, which also holds the samples of a tail window (it starts after the previous window does).
        let steps = min(from / step, Double(1 << 48))
        var firstWindow = max(0, Int((steps - Double(spec.frames)) / Double(strideSteps)) + 1)
        while firstWindow > 0, Double((firstWindow - 1) * strideSteps + spec.frames) > steps { firstWindow -= 1 }
        while Double(firstWindow * strideSteps + spec.frames) <= steps { firstWindow += 1 }
        nextWindow = firstWindow
        lastCovered = firstWindow == 0 ? -1 : (firstWindow - 1) * strideSteps + spec.frames - 1  // by the windows skipped
        sampled = max(0, (firstWindow - 1) * strideSteps)
        firstSample = sampled
        sampler = try FrameSampler(
            file: file, rate: 1 / step, phase: step / 2, first: sampled, shortSide: spec.resizeShortSide, crop: spec.size,
            mean: spec.mean, std: spec.std, options: options)
        floatsPerFrame = sampler.floatsPerFrame
        ring = [Float](repeating: 0, count: spec.frames * floatsPerFrame)
        ringFrames = [SampledFrame?](repeating: nil, count: spec.frames)
    }

    /// Floats in one clip: `frames * 3 * size * size`.
    public var floatsPerClip: Int { spec.frames * floatsPerFrame }

    /// Frames held between clips (the ring); constant for the stream's lifetime.
    public var bufferedFrameCapacity: Int { ringFrames.count }

    /// Writes the next clip's frames into `output` (at least `floatsPerClip` floats) and returns
    /// the clip, or `nil` after the last one.
    public func next(into output: UnsafeMutableBufferPointer<Float>) throws(MediaError) -> Clip? {
        precondition(output.count >= floatsPerClip, "output holds \(output.count) floats, need \(floatsPerClip)")
        if finished { return nil }
        let f = spec.frames
        let first = nextWindow * strideSteps
        let last = first + f - 1
        while sampled <= last {
            guard try sampleOne() else { return finish(into: output) }
        }
        nextWindow += 1
        lastCovered = last
        let start = Double(first) * spec.step
        return copy(indices: Array(first...last), index: nextWindow - 1, start: start, end: start + spec.window,
                    into: output)
    }

    /// Samples grid index `sampled` into its ring slot; false at the end of the video.
    private func sampleOne() throws(MediaError) -> Bool {
        let slot = sampled % spec.frames
        let frame = try ring.withUnsafeMutableBufferPointer { buffer throws(MediaError) -> SampledFrame? in
            let view = UnsafeMutableBufferPointer(rebasing: buffer[slot * floatsPerFrame ..< (slot + 1) * floatsPerFrame])
            return try sampler.next(into: view)
        }
        guard let frame else { return false }
        ringFrames[slot] = frame
        sampled += 1
        return true
    }

    /// The tail window, or the single clip of a video shorter than one window.
    private func finish(into output: UnsafeMutableBufferPointer<Float>) -> Clip? {
        finished = true
        let f = spec.frames
        let n = sampled
        let end = sampler.endTime
        if nextWindow == 0 {
            // Fewer samples than one clip needs (n >= 1: the sampler throws when nothing decodes).
            let indices = (0..<f).map { $0 * n / f }
            return copy(indices: indices, index: 0, start: 0, end: end, into: output)
        }
        // A stream `from` past the end of the video holds no sample of its tail.
        guard lastCovered < n - 1, n - f >= firstSample else { return nil }
        let first = n - f
        let start = Double(first) * spec.step
        return copy(indices: Array(first..<n), index: nextWindow, start: start, end: min(start + spec.window, end),
                    into: output)
    }

    private func copy(indices: [Int], index: Int, start: Double, end: Double,
                      into output: UnsafeMutableBufferPointer<Float>) -> Clip {
        let f = spec.frames
        var times = [Double]()
        times.reserveCapacity(indices.count)
        ring.withUnsafeBufferPointer { ring in
            for (position, j) in indices.enumerated() {
                let slot = j % f
                let source = ring.baseAddress! + slot * floatsPerFrame
                (output.baseAddress! + position * floatsPerFrame).update(from: source, count: floatsPerFrame)
                times.append(ringFrames[slot]?.time ?? 0)
            }
        }
        return Clip(index: index, start: start, end: end, frameTimes: times)
    }
}
