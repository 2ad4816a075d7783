import Catalog
import Foundation
import Logging
import SharedLibrary
import Synchronization
import Watch

/// `vjsearch watch` on a `postgres://` library: a pass of `SharedIndexing` (queue what this host's roots hold that
/// the library lacks, then work the shared queue with the other hosts), then a wait for a change under the roots
/// (inotify, or every `rescan` seconds) and `settle` seconds of quiet, and again. SIGTERM or SIGINT stops it after
/// the file in flight is abandoned (its lease runs out and another worker takes it).
struct SharedWatch {
    var indexing: SharedIndexing
    var settle: Double
    var rescan: Double
    var inotify: Bool
    var logger: Logger

    /// Set by a stop signal.
    final class Stop: Sendable {
        private let flag = Atomic<Bool>(false)
        let wakeup: Wakeup
        init() throws { wakeup = try Wakeup() }
        var requested: Bool { flag.load(ordering: .acquiring) }
        func request() {
            flag.store(true, ordering: .releasing)
            wakeup.signal()
        }
    }

    func run() async throws {
        let stop = try Stop()
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.request() }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        nonisolated(unsafe) let watcher = inotify ? try DirectoryWatcher(logger: logger) : nil
        for folder in indexing.roots.values.sorted() { watcher?.watch(tree: folder) }
        logger.info("watching", metadata: ["library": "\(indexing.address)", "roots": "\(indexing.roots.keys.sorted().joined(separator: ","))"])
        while !stop.requested {
            let s = try await indexing.pass(isCancelled: { stop.requested })
            logger.info("pass", metadata: [
                "queued": "\(s.queued)", "linked": "\(s.linked)", "unchanged": "\(s.unchanged)", "indexed": "\(s.indexed)",
                "failed": "\(s.failed)", "lost_leases": "\(s.lostLeases)", "seconds": "\(String(format: "%.1f", s.wallSeconds))",
            ])
            if stop.requested { break }
            let (rescan, settle) = (self.rescan, self.settle)
            try await onThread { try Self.waitForChange(watcher, stop: stop, rescan: rescan, settle: settle) }
        }
        logger.info("stopped")
    }

    /// Returns after a change under the roots followed by `settle` quiet seconds, after `rescan` seconds, or on stop.
    private static func waitForChange(_ watcher: DirectoryWatcher?, stop: Stop, rescan: Double, settle: Double) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(rescan)
        var changed = false
        while !stop.requested, clock.now < deadline, !changed {
            if stop.wakeup.wait(other: watcher?.inotify.fd, timeout: Ingestor.seconds(deadline - clock.now)) {
                changed = try !(watcher?.changes().isEmpty ?? true)
            }
        }
        // Quiet for `settle` seconds: a file still being copied keeps sending events.
        while changed, !stop.requested, stop.wakeup.wait(other: watcher?.inotify.fd, timeout: settle) {
            _ = try watcher?.changes()
        }
    }
}
