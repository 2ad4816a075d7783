import Foundation
import SystemCall

/// The Hugging Face hub cache, in `huggingface_hub`'s layout, so that files either tool downloaded serve both:
///
///     models--OWNER--NAME/blobs/ETAG                    the file, named by its hash (sha256 or git sha1)
///     models--OWNER--NAME/blobs/ETAG.incomplete         a download in progress, resumed from its length
///     models--OWNER--NAME/snapshots/COMMIT/PATH         a relative link to ../../blobs/ETAG
///     models--OWNER--NAME/refs/REVISION                 the commit REVISION named when last asked
public struct HubCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public func repository(_ repo: String) -> URL {
        root.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
    }

    public func blob(_ repo: String, etag: String) -> URL {
        repository(repo).appendingPathComponent("blobs/" + etag)
    }

    public func incomplete(_ repo: String, etag: String) -> URL {
        repository(repo).appendingPathComponent("blobs/" + etag + ".incomplete")
    }

    public func snapshot(_ repo: String, commit: String) -> URL {
        repository(repo).appendingPathComponent("snapshots/" + commit)
    }

    /// The commit `revision` named when it was last resolved, if the cache remembers it.
    public func commit(_ repo: String, revision: String) -> String? {
        if revision.count == 40, revision.allSatisfy(\.isHexDigit) { return revision }
        let ref = repository(repo).appendingPathComponent("refs/" + revision)
        guard let text = try? String(contentsOf: ref, encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    public func setCommit(_ repo: String, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let ref = repository(repo).appendingPathComponent("refs/" + revision)
        try FileManager.default.createDirectory(at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: ref, options: .atomic)
    }

    /// The etag a snapshot file's link points at, if the snapshot has the file.
    public func etag(_ repo: String, commit: String, file: String) -> String? {
        let link = snapshot(repo, commit: commit).appendingPathComponent(file)
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link.path) else { return nil }
        return (target as NSString).lastPathComponent
    }

    /// Makes `snapshots/COMMIT/FILE` a relative link to the blob, replacing what was there.
    public func link(_ repo: String, commit: String, file: String, etag: String) throws {
        let link = snapshot(repo, commit: commit).appendingPathComponent(file)
        try FileManager.default.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
        let depth = file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == target { return }
        unlink(link.path)
        try SystemCallError.check(symlink(target, link.path), "symlink", path: link.path)
    }
}
