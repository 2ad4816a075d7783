import Foundation
import Logging
import Testing
import TestSupport
@testable import Watch

@Suite struct StatusTests {
    @Test func statusFileRoundTrip() throws {
        let dir = try TemporaryDirectory()
        #expect(WatchStatus.read(library: dir.path) == nil)
        var s = WatchStatus(pid: 42, roots: ["/v"], inotify: true, settleSeconds: 5, rescanSeconds: 600, now: 1000)
        s.state = .indexing
        s.file = "/v/a b.mp4"
        s.queued = 3
        s.lastError = "/v/bad.mp4: not a media file"
        s.videoSeconds = 30
        s.busySeconds = 10
        try s.write(library: dir.path)
        let back = try #require(WatchStatus.read(library: dir.path))
        #expect(back == s)
        #expect(back.stateDescription == "indexing /v/a b.mp4")
        #expect(back.realtimeFactor == 3)
        // Written by rename: no temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["watch.json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.file("watch.json"))) as? [String: Any])
        #expect(object["state"] as? String == "indexing" && object["last_error"] as? String == s.lastError)
    }

    @Test func aTornStatusFileReadsAsNone() throws {
        let dir = try TemporaryDirectory()
        try Data("{\"pid\": 4".utf8).write(to: dir.file("watch.json"))
        #expect(WatchStatus.read(library: dir.path) == nil)
    }

    @Test func thePresenceLockTellsLivenessAndRefusesASecondDaemon() throws {
        let dir = try TemporaryDirectory()
        #expect(WatchLock.holder(library: dir.path) == nil)
        var lock: WatchLock? = try WatchLock(library: dir.path)
        #expect(WatchLock.holder(library: dir.path) == getpid())
        #expect(throws: WatchError.alreadyRunning(library: dir.path, pid: getpid())) { try WatchLock(library: dir.path) }
        withExtendedLifetime(lock) {}
        lock = nil
        #expect(WatchLock.holder(library: dir.path) == nil)  // the file remains; the lock went with its holder
        #expect(FileManager.default.fileExists(atPath: WatchLock.path(library: dir.path)))
        _ = try WatchLock(library: dir.path)
    }

    @Test func logLinesCarryTimeLevelAndSortedMetadata() {
        let line = StderrLogHandler.format(
            date: Date(timeIntervalSince1970: 1_795_000_000.25), level: .warning, label: "vjsearch.watch",
            message: "failed", metadata: ["path": "/v/a b.mp4", "cause": "bad", "n": "3"])
        #expect(line == "2026-11-18T11:06:40.250Z warning vjsearch.watch: failed cause=bad n=3 path=\"/v/a b.mp4\"")
    }
}

@Suite struct DirectoryWatcherTests {
    /// Collects changes until `done` holds or `timeout` seconds pass.
    func collect(_ w: DirectoryWatcher, timeout: Double = 5, until done: ([DirectoryWatcher.Change]) -> Bool) throws
        -> [DirectoryWatcher.Change]
    {
        var all: [DirectoryWatcher.Change] = []
        let deadline = Date().addingTimeInterval(timeout)
        while !done(all) && Date() < deadline {
            all += try w.changes()
            if !done(all) { usleep(20_000) }
        }
        return all
    }

    @Test func followsNewFoldersFilesDeletesAndMoves() throws {
        let dir = try TemporaryDirectory()
        let root = dir.file("root").path
        try FileManager.default.createDirectory(atPath: root + "/old", withIntermediateDirectories: true)
        let w = try DirectoryWatcher(logger: Logger(label: "test"))
        w.watch(tree: root)
        #expect(w.watchedFolders == 2)

        try FileManager.default.createDirectory(atPath: root + "/new/deeper", withIntermediateDirectories: true)
        var changes = try collect(w) { $0.contains(.folder(root + "/new")) }
        #expect(changes.contains(.folder(root + "/new")))
        #expect(w.isWatched(root + "/new/deeper"))

        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/new/deeper/a.mp4"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/.hidden.mp4"))
        changes = try collect(w) { $0.contains(.touched(root + "/new/deeper/a.mp4")) }
        #expect(changes.contains(.touched(root + "/new/deeper/a.mp4")))
        #expect(!changes.contains(.touched(root + "/.hidden.mp4")))

        try FileManager.default.moveItem(atPath: root + "/new/deeper/a.mp4", toPath: root + "/old/b.mp4")
        changes = try collect(w) { $0.contains(.touched(root + "/old/b.mp4")) }
        #expect(changes == [.gone(root + "/new/deeper/a.mp4"), .touched(root + "/old/b.mp4")])

        try FileManager.default.removeItem(atPath: root + "/old/b.mp4")
        try FileManager.default.moveItem(atPath: root + "/new", toPath: dir.file("outside").path)
        changes = try collect(w) { $0.contains(.gone(root + "/new")) }
        #expect(changes.contains(.gone(root + "/old/b.mp4")) && changes.contains(.gone(root + "/new")))
        #expect(!w.isWatched(root + "/new/deeper"))
        // Moved out of the tree: what happens there is no longer reported.
        try Data("x".utf8).write(to: dir.file("outside/deeper/c.mp4"))
        #expect(try collect(w, timeout: 0.3) { _ in false }.isEmpty)
    }

    @Test func anUnwatchableFolderIsRecorded() throws {
        let w = try DirectoryWatcher(logger: Logger(label: "test"))
        w.watch(tree: "/nonexistent-\(UUID().uuidString)")
        #expect(w.watchedFolders == 0)
        #expect(w.unwatched.count == 1)
        #expect(w.unwatched.values.first?.contains("no such file") == true)
    }
}
