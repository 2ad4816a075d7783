import Foundation
import Synchronization

/// Progress of a run, for a terminal line or a log.
public struct IndexProgress: Sendable {
    public var filesDone: Int
    public var filesTotal: Int
    public var clips: Int
    public var videoSeconds: Double
    public var elapsed: Double
    /// Bytes of the files to embed, done and in all, for the ETA.
    public var bytesDone: UInt64
    public var bytesTotal: UInt64
    /// The file being embedded, if any.
    public var file: FileProgress?

    /// Where the run stands inside the file it is embedding.
    public struct FileProgress: Sendable {
        public var path: String
        /// The container's duration, when it states one.
        public var duration: Double?
        /// Seconds of the video embedded (from its start: a resumed video starts at its stored part's end).
        public var position: Double
        /// Where this run started in the file, and its wall-clock seconds on it.
        public var startedAt: Double
        public var elapsed: Double
        public var bytes: UInt64

        /// Share of the video embedded, 0–1; nil without a duration.
        public var fraction: Double? {
            guard let duration, duration > 0 else { return nil }
            return min(1, max(0, position / duration))
        }

        /// Seconds left on this file at this run's pace; nil until a second has passed.
        public var eta: Double? {
            guard let duration, elapsed >= 1, position > startedAt else { return nil }
            return max(0, duration - position) * elapsed / (position - startedAt)
        }
    }

    /// Seconds left in the run, extrapolated from the bytes done (the current file counting by its embedded share);
    /// nil in the first second (too little to go on).
    public var eta: Double? {
        let done = Double(bytesDone) + (file.flatMap { f in f.fraction.map { $0 * Double(f.bytes) } } ?? 0)
        if bytesTotal == bytesDone { return 0 }
        guard done > 0, elapsed >= 1 else { return nil }
        return elapsed * max(0, Double(bytesTotal) - done) / done
    }

    /// One line for a terminal or a log: `files 1/3  talk.mp4 42% (0:08:24 of 0:20:00)  clips 1192  1.8× real time
    /// ETA file 0:11:35, run 0:15:02` (the ETAs as `-` until a second has passed).
    public var line: String {
        // Video embedded: the files done, and the current one so far.
        let embedded = videoSeconds + (file.map { max(0, $0.position - $0.startedAt) } ?? 0)
        let rate = elapsed > 0 ? embedded / elapsed : 0
        var parts = ["files \(filesDone)/\(filesTotal)"]
        if let file {
            let name = (file.path as NSString).lastPathComponent
            if let fraction = file.fraction, let duration = file.duration {
                parts.append(String(format: "%@ %.0f%% (%@ of %@)", name, fraction * 100, Self.clock(file.position),
                                    Self.clock(duration)))
            } else {
                parts.append("\(name) \(Self.clock(file.position))")
            }
        }
        parts.append("clips \(clips)")
        parts.append(String(format: "%.1f× real time", rate))
        let fileETA = file.map { "file " + ($0.eta.map(Self.clock) ?? "-") + ", " } ?? ""
        parts.append("ETA " + fileETA + "run " + (eta.map(Self.clock) ?? "-"))
        return parts.joined(separator: "  ")
    }

    /// `h:mm:ss`.
    static func clock(_ seconds: Double) -> String {
        let s = Int(max(0, min(seconds, 1e9)).rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Lets a progress report through once every `interval` seconds of a run, the first after one interval (so that
/// short runs stay quiet): the plain progress lines of `index` and the daemon's progress log.
public final class ProgressThrottle: Sendable {
    public let interval: Double
    private let last = Mutex<Double>(0)

    public init(interval: Double = 10) { self.interval = interval }

    public func isDue(_ p: IndexProgress) -> Bool {
        last.withLock { last in
            guard p.elapsed - last >= interval else { return false }
            last = p.elapsed
            return true
        }
    }
}
