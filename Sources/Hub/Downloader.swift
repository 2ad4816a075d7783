import Foundation
import SystemCall

/// How far a download (or the check of a cached file) got; `done` and `total` are bytes of `file`.
public struct DownloadProgress: Sendable {
    public enum Phase: Sendable { case checking, downloading }
    public var repo: String
    public var file: String
    public var phase: Phase
    public var done: Int64
    public var total: Int64
}

/// Fetches hub files into the hub cache: files already there are checked against their hash and used, partial
/// ones are resumed with HTTP Range, and nothing is moved into place before its hash matches what the hub said.
public struct Downloader: Sendable {
    public let client: HubClient
    public let cache: HubCache
    /// Tries per file after a dropped connection, a timeout or a 5xx; each resumes where the last stopped.
    public var attempts = 6
    /// The wait before the first retry, doubled after each.
    public var retryDelay: Duration = .seconds(1)

    public init(client: HubClient) {
        self.client = client
        cache = HubCache(root: client.settings.cache)
    }

    /// The metadata of every file of `source`; when the hub cannot be reached, what the cache remembers of them,
    /// if it has all of them (`offline` is then true).
    public func plan(_ source: Recipe.Source) async throws -> (files: [RemoteFile], offline: Bool) {
        var files: [RemoteFile] = []
        for file in source.files {
            do {
                files.append(try await retrying("\(source.repo)/\(file)") {
                    try await client.metadata(repo: source.repo, revision: source.revision, file: file, licence: source.licence)
                })
            } catch HubError.unreachable(let url, let cause) {
                guard let cached = cachedPlan(source) else { throw HubError.unreachable(url: url, cause: cause) }
                return (cached, true)
            }
        }
        return (files, false)
    }

    /// The cache's own record of `source` at its revision, if every file is linked in the snapshot.
    func cachedPlan(_ source: Recipe.Source) -> [RemoteFile]? {
        guard let commit = cache.commit(source.repo, revision: source.revision) else { return nil }
        var out: [RemoteFile] = []
        for file in source.files {
            guard let etag = cache.etag(source.repo, commit: commit, file: file),
                  let size = Self.size(of: cache.blob(source.repo, etag: etag)) else { return nil }
            out.append(RemoteFile(repo: source.repo, file: file, commit: commit, etag: etag, size: size,
                                  download: client.settings.resolveURL(repo: source.repo, revision: commit, file: file)))
        }
        return out
    }

    /// Bytes still to download for `files` (a verified blob costs nothing, a partial one its rest).
    public func missingBytes(_ files: [RemoteFile]) -> Int64 {
        files.reduce(0) { sum, f in
            if Self.size(of: cache.blob(f.repo, etag: f.etag)) == f.size { return sum }
            return sum + max(0, f.size - (Self.size(of: cache.incomplete(f.repo, etag: f.etag)) ?? 0))
        }
    }

    /// The file in the cache's snapshot, downloaded or resumed as needed and checked against its hash.
    public func fetch(_ remote: RemoteFile, revision: String, progress: @escaping @Sendable (DownloadProgress) -> Void) async throws -> URL {
        let blob = cache.blob(remote.repo, etag: remote.etag)
        let expected = ExpectedDigest(etag: remote.etag)
        try FileManager.default.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = try FileLock(path: blob.path + ".lock")
        defer { lock.release() }
        if Self.size(of: blob) != nil {
            if try verify(blob, remote, expected, progress: progress) == nil {
                try link(remote, revision: revision)
                return cache.snapshot(remote.repo, commit: remote.commit).appendingPathComponent(remote.file)
            }
            // A wrong file on disk is never trusted: download it again.
            try? FileManager.default.removeItem(at: blob)
        }
        var failures = 0
        while true {
            let partial = cache.incomplete(remote.repo, etag: remote.etag)
            try await download(remote, to: partial, expected, progress: progress)
            if let mismatch = try verify(partial, remote, expected, progress: nil) {
                try? FileManager.default.removeItem(at: partial)
                failures += 1
                if failures < 2 { continue }  // once more from the start: a corrupted transfer is not a corrupted hub
                throw mismatch
            }
            try SystemCallError.check(rename(partial.path, blob.path), "rename", path: blob.path)
            try link(remote, revision: revision)
            return cache.snapshot(remote.repo, commit: remote.commit).appendingPathComponent(remote.file)
        }
    }

    private func link(_ remote: RemoteFile, revision: String) throws {
        try cache.link(remote.repo, commit: remote.commit, file: remote.file, etag: remote.etag)
        try cache.setCommit(remote.repo, revision: revision, commit: remote.commit)
    }

    /// nil when `url` has the announced size and hash, else the error saying how it differs.
    private func verify(_ url: URL, _ remote: RemoteFile, _ expected: ExpectedDigest?,
                        progress: (@Sendable (DownloadProgress) -> Void)?) throws -> HubError? {
        let name = "\(remote.repo)/\(remote.file)"
        let size = Self.size(of: url) ?? -1
        guard size == remote.size else { return .size(file: name, expected: remote.size, got: size) }
        guard let expected else { return nil }
        var digest = RunningDigest(expected, size: remote.size)
        progress?(DownloadProgress(repo: remote.repo, file: remote.file, phase: .checking, done: 0, total: size))
        try digest.update(contentsOf: url, length: size)
        let got = digest.finish() ?? ""
        return got == expected.hex ? nil : .checksum(file: name, expected: expected, got: got)
    }

    /// Appends to `partial` until it has `remote.size` bytes, resuming after each failure.
    private func download(_ remote: RemoteFile, to partial: URL, _ expected: ExpectedDigest?,
                          progress: @escaping @Sendable (DownloadProgress) -> Void) async throws {
        var failure = 0
        while true {
            var have = Self.size(of: partial) ?? 0
            if have > remote.size {
                try? FileManager.default.removeItem(at: partial)
                have = 0
            }
            if have == remote.size { return }
            do {
                let fd = try FileDescriptor.open(FilePath(partial.path), .writeOnly, options: [.create, .append],
                                                 permissions: [.ownerReadWrite, .groupRead, .otherRead])
                defer { try? fd.close() }
                var done = have
                var last = ContinuousClock.now
                try await client.fetch(remote, from: have, restarted: { whole in
                    if whole, done > 0 {
                        _ = try fd.resize(to: 0)
                        done = 0
                    }
                }, write: { bytes in
                    do { try fd.writeAll(bytes) } catch let errno as Errno {
                        throw SystemCallError("write", path: partial.path, errno: errno)
                    }
                    done += Int64(bytes.count)
                    let now = ContinuousClock.now
                    if now - last > .milliseconds(200) || done == remote.size {
                        last = now
                        progress(DownloadProgress(repo: remote.repo, file: remote.file, phase: .downloading, done: done, total: remote.size))
                    }
                })
                if done >= remote.size { return }
                throw HubClient.Transient.status(url: remote.download.absoluteString, code: 0)  // the body ended early
            } catch let error where Self.isTransient(error) {
                failure += 1
                guard failure < attempts else {
                    throw HubError.unreachable(url: remote.download.absoluteString, cause: "\(error)")
                }
                try await Task.sleep(for: retryDelay * (1 << min(failure - 1, 6)))
            }
        }
    }

    /// Runs `body`, retrying transient failures; the last one becomes `HubError.unreachable`.
    private func retrying<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        var failure = 0
        while true {
            do { return try await body() } catch let error where Self.isTransient(error) {
                failure += 1
                guard failure < attempts else { throw HubError.unreachable(url: what, cause: "\(error)") }
                try await Task.sleep(for: retryDelay * (1 << min(failure - 1, 6)))
            }
        }
    }

    /// Network trouble and 5xx: worth retrying. Our own errors (gated, checksum, a write that failed) are not.
    static func isTransient(_ error: any Error) -> Bool {
        !(error is HubError) && !(error is SystemCallError) && !(error is CancellationError)
    }

    static func size(of url: URL) -> Int64? {
        var st = stat()
        guard stat(url.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }
}

/// An exclusive `flock` on a file, held until `release` (or the process's death, so kill -9 leaves no stale lock).
public struct FileLock: ~Copyable {
    private let fd: Int32

    /// Waits for the lock; `onWait` is called once first if another process holds it.
    public init(path: String, onWait: (() -> Void)? = nil) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCallError("open", path: path) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
        onWait?()
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let error = SystemCallError("flock", path: path)
                close(fd)
                throw error
            }
        }
    }

    public func release() { close(fd) }
}
