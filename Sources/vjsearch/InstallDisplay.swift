import Foundation
import Hub
import Synchronization

/// `model install`'s progress on stderr: bytes, rate and time left per file on a line redrawn on a terminal, or a
/// line every 10 seconds (and one per file) for logs.
final class InstallDisplay: Sendable {
    let mode: ProgressMode
    private struct State {
        var file = ""
        var started = ContinuousClock.now
        var startBytes: Int64 = 0
        var lastPlain = ContinuousClock.now
        var drawn = false
    }
    private let state = Mutex(State())

    init(_ mode: ProgressMode) { self.mode = mode.resolved }

    func show(_ p: DownloadProgress) {
        let name = "\(p.repo)/\(p.file)"
        let verb = p.phase == .checking ? "checking" : "downloading"
        let line: String = state.withLock { s in
            let now = ContinuousClock.now
            if s.file != name + verb {
                s.file = name + verb
                s.started = now
                s.startBytes = p.done
            }
            let seconds = Self.seconds(now - s.started)
            let rate = seconds > 0.5 ? Double(p.done - s.startBytes) / seconds : 0
            var line = "\(verb) \(name)  \(Self.bytes(p.done)) / \(Self.bytes(p.total))"
            if p.phase == .downloading, rate > 0 {
                let left = Double(p.total - p.done) / rate
                line += "  \(Self.bytes(Int64(rate)))/s  ETA \(Self.duration(left))"
            }
            return line
        }
        emit(line, force: p.done == p.total)
    }

    func showConversion(done: Int64, total: Int64) {
        emit("converting: \(Self.bytes(done)) / \(Self.bytes(total)) of weights written", force: done == total)
    }

    func status(_ line: String) { emit(line, force: true) }

    /// A line that stays (a terminal line in progress is cleared first).
    func note(_ line: String) {
        finish()
        Diagnostics.write("note: " + line)
    }

    /// Clears a terminal line before the summary.
    func finish() {
        let drawn = state.withLock { s -> Bool in defer { s.drawn = false }; return s.drawn }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func emit(_ line: String, force: Bool) {
        switch mode {
        case .tty:
            state.withLock { $0.drawn = true }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        case .plain:
            let due = state.withLock { s -> Bool in
                let now = ContinuousClock.now
                guard force || now - s.lastPlain >= .seconds(10) else { return false }
                s.lastPlain = now
                return true
            }
            if due { FileHandle.standardError.write(Data(("progress: " + line + "\n").utf8)) }
        case .auto, .none:
            break
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func bytes(_ n: Int64) -> String {
        switch n {
        case ..<1_000_000: return String(format: "%.0f kB", Double(n) / 1e3)
        case ..<1_000_000_000: return String(format: "%.1f MB", Double(n) / 1e6)
        default: return String(format: "%.2f GB", Double(n) / 1e9)
        }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" : t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }
}
