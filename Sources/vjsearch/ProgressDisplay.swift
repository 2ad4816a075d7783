import ArgumentParser
import Catalog
import Foundation
import Synchronization

/// `--progress auto|tty|plain|none`: how a long run reports how far it got, always on stderr.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// `tty` when stderr is a terminal, else `plain`.
    case auto
    /// One line, redrawn in place.
    case tty
    /// A line every 10 seconds, for logs and cron mail.
    case plain
    case none

    /// `auto` resolved against stderr.
    var resolved: ProgressMode { self == .auto ? (stderrIsTerminal ? .tty : .plain) : self }
}

/// Shows `IndexProgress` on stderr in one of the modes; thread-safe (the ingestor calls it from its thread).
final class ProgressDisplay: Sendable {
    let mode: ProgressMode
    /// When plain lines are due.
    let plain: ProgressThrottle
    private let drawn = Mutex<Bool>(false)

    init(_ mode: ProgressMode, interval: Double = 10) {
        self.mode = mode.resolved
        plain = ProgressThrottle(interval: interval)
    }

    /// The ingestor's progress callback, or nil when nothing is shown.
    var callback: (@Sendable (IndexProgress) -> Void)? {
        guard mode != .none else { return nil }
        return { @Sendable [self] progress in show(progress) }
    }

    func show(_ p: IndexProgress) {
        switch mode {
        case .tty:
            drawn.withLock { $0 = true }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + p.line).utf8))
        case .plain:
            if plain.isDue(p) { FileHandle.standardError.write(Data(("progress: " + p.line + "\n").utf8)) }
        case .auto, .none:
            break
        }
    }

    /// Clears a terminal line before the summary.
    func finish() {
        if drawn.withLock({ $0 }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
