import Catalog
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import Watch

/// A `Watcher` run in this process over a temporary folder, with the tiny model, no inotify, no settling and a
/// rescan every 0.1 s: what it holds open across scans and cycles. Waits are on its log lines, never fixed sleeps.
@Suite(.serialized) struct WatcherTests {
    let dir: TemporaryDirectory
    let videos: URL
    let library: String
    let embedder: Embedder

    init() throws {
        dir = try TemporaryDirectory(prefix: "vjsearch-watcher")
        // Resolved, so that it reads as the targets of /proc/self/fd do.
        let root = dir.url.resolvingSymlinksInPath()
        videos = root.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        library = root.appendingPathComponent("library").path
        embedder = try Embedder(directory: LibraryFixtures.bundle(in: root.appendingPathComponent("model"), id: "tiny-watcher"))
    }

    var configuration: Watcher.Configuration {
        Watcher.Configuration(roots: [videos.path], library: library, settle: 0, rescan: 0.1, inotify: false)
    }

    /// Puts a video (or, with `garbage`, a file that only looks like one) into the watched folder in one rename, so
    /// that no scan sees it half-written.
    func add(_ name: String, seed: Int = 0, garbage: Bool = false) throws {
        let staging = dir.file("staging-" + name).path
        if garbage {
            try Data("not a video\n".utf8).write(to: URL(fileURLWithPath: staging))
        } else {
            try LibraryFixtures.video(staging, seconds: 1, seed: seed)
        }
        try FileManager.default.moveItem(atPath: staging, toPath: videos.appendingPathComponent(name).path)
    }

    @Test func oneLibraryServesEveryScanAndCycle() throws {
        let dataFile = library + "/data.mdb"
        do {
            let watcher = try RunningWatcher(configuration, embedder: embedder)
            #expect(watcher.log.eventually { $0.count("scanned") >= 1 }, "\(watcher.log)")
            let held = Self.descriptors(on: dataFile)
            #expect(!held.isEmpty, "the library is open from the start")

            try add("a.mp4", seed: 1)
            #expect(watcher.log.eventually { $0.count("indexed") == 1 }, "\(watcher.log)")
            try add("b.mp4", garbage: true)
            #expect(watcher.log.eventually { $0.count("failed; retried when the file changes") == 1 }, "\(watcher.log)")
            try add("c.mp4", seed: 2)
            #expect(watcher.log.eventually { $0.count("indexed") == 2 }, "\(watcher.log)")
            let scans = watcher.log.count("scanned")
            #expect(watcher.log.eventually { $0.count("scanned") >= scans + 5 }, "\(watcher.log)")

            // Three cycles that wrote and a dozen scans later, the same descriptors: nothing reopened or leaked.
            #expect(Self.descriptors(on: dataFile) == held)
            try watcher.stop()
            #expect(!watcher.log.contains("reopening"), "\(watcher.log)")
        }
        #expect(Self.descriptors(on: dataFile).isEmpty, "the library closes with the watcher")
    }

    enum Change: String, CaseIterable { case replaced, removed }

    /// A library folder swapped under the daemon (`reindex` or `repair` forced past it, a restore) or deleted is
    /// noticed at the next scan: the old environment is closed and the new one opened (or created) instead of
    /// writing on into a file that is no longer the library.
    @Test(arguments: Change.allCases) func aReplacedOrRemovedLibraryIsReopened(change: Change) throws {
        let dataFile = library + "/data.mdb"
        let aside = library + ".new"
        try add("a.mp4", seed: 1)
        do {
            let watcher = try RunningWatcher(configuration, embedder: embedder)
            #expect(watcher.log.eventually { $0.count("indexed") == 1 }, "\(watcher.log)")
            let before = Watcher.FileID(path: dataFile)
            switch change {
            case .replaced:
                // As `reindex` does: an empty library with the same model, made beside it (and closed), exchanged
                // with it in one rename.
                _ = try Library(path: aside, model: embedder.identity, create: true)
                try Self.exchange(aside, library)
                #expect(watcher.log.eventually { $0.contains("warning the library was replaced; reopening it") }, "\(watcher.log)")
            case .removed:
                // As `rm -rf` would, again while the daemon's status file (`watch.json`) lands in the folder mid-removal.
                for _ in 0..<100 where FileManager.default.fileExists(atPath: library) {
                    try? FileManager.default.removeItem(atPath: library)
                }
                #expect(!FileManager.default.fileExists(atPath: library))
                #expect(watcher.log.eventually { $0.contains("warning the library was removed") }, "\(watcher.log)")
            }
            // The new library has no record of a.mp4, so it is indexed again, into the new file.
            #expect(watcher.log.eventually { $0.count("indexed") == 2 }, "\(watcher.log)")
            let after = try #require(Watcher.FileID(path: dataFile))
            // A removed file's inode number may be handed to the new one once the old environment is closed; a
            // replaced one still exists (aside), so its number cannot be.
            if change == .replaced { #expect(after != before) }
            let held = Self.descriptors(on: dataFile)
            #expect(!held.isEmpty && held.allSatisfy { Self.identity(of: $0) == after })
            #expect(Self.descriptors(on: aside + "/data.mdb").isEmpty && Self.descriptors(on: dataFile + " (deleted)").isEmpty,
                    "the old environment is closed")
            try watcher.stop()
        }
        #expect(Self.descriptors(on: dataFile).isEmpty)
    }

    /// Swaps two folders in one `renameat2(RENAME_EXCHANGE)` (looked up at run time: glibc declares it only under
    /// _GNU_SOURCE).
    static func exchange(_ a: String, _ b: String) throws {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2"),
              unsafeBitCast(symbol, to: RenameAt2.self)(AT_FDCWD, a, AT_FDCWD, b, 1 << 1) == 0
        else { throw TestFailure(description: "cannot exchange \(a) and \(b): \(String(cString: strerror(errno)))") }
    }

    /// This process's file descriptors open on `path` (as /proc/self/fd shows their targets).
    static func descriptors(on path: String) -> Set<Int32> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(names.compactMap { name in
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name)
            return target == path ? Int32(name) : nil
        })
    }

    /// The file open on descriptor `fd`.
    static func identity(of fd: Int32) -> Watcher.FileID? {
        Watcher.FileID(path: "/proc/self/fd/\(fd)")
    }
}

/// A `Watcher` running on a thread of its own, as `WatchService` runs it, logging into `log`.
final class RunningWatcher: Sendable {
    let control: WatchControl
    let log = CapturedLog()
    private let outcome = Mutex<Result<Void, any Error>?>(nil)
    private let finished = DispatchSemaphore(value: 0)

    init(_ configuration: Watcher.Configuration, embedder: Embedder) throws {
        control = try WatchControl()
        let logger = Logger(label: "test") { [log] _ in CapturedLog.Handler(log: log) }
        let thread = Thread { [self] in
            // The watcher, and the library it opened, end with this closure.
            let result = Result {
                try Watcher(configuration: configuration, embedder: embedder, control: control, logger: logger).run()
            }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Asks it to stop, waits for its thread and rethrows what `Watcher.run` threw.
    func stop() throws {
        control.requestStop()
        guard finished.wait(timeout: .now() + 30) == .success else {
            throw TestFailure(description: "the watcher did not stop within 30 s:\n\(log)")
        }
        try outcome.withLock { $0 }?.get()
    }
}

/// Log lines as `level message`, metadata left out, for waiting on events.
final class CapturedLog: Sendable, CustomStringConvertible {
    private let lines = Mutex<[String]>([])
    /// Broadcast after each line, for `eventually`.
    private let changed = NSCondition()

    struct Handler: LogHandler {
        let log: CapturedLog
        var logLevel: Logger.Level = .debug
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.lines.withLock { $0.append("\(event.level) \(event.message)") }
            log.changed.lock()
            log.changed.broadcast()
            log.changed.unlock()
        }
    }

    var description: String { lines.withLock { $0.joined(separator: "\n") } }

    /// Lines whose message is exactly `message`.
    func count(_ message: String) -> Int {
        lines.withLock { all in all.count { line in line.split(separator: " ", maxSplits: 1).last == Substring(message) } }
    }

    func contains(_ text: String) -> Bool { lines.withLock { all in all.contains { line in line.contains(text) } } }

    /// Waits until `condition` holds, checking it again after each new line, or until `timeout` seconds pass;
    /// returns whether it held.
    func eventually(timeout: Double = 30, _ condition: (CapturedLog) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        changed.lock()
        defer { changed.unlock() }
        while !condition(self) {
            if !changed.wait(until: deadline) { return condition(self) }
        }
        return true
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}
