import Foundation

/// A small tmpfs for full-disk tests; mounting needs root (as `make test` runs in CI), so tests check `canMount`.
public enum Tmpfs {
    public static let canMount: Bool = {
        guard let dir = try? TemporaryDirectory(prefix: "vjsearch-mount-probe") else { return false }
        guard (try? Tool.run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.url.path])) != nil else { return false }
        try? Tool.run("umount", [dir.url.path])
        return true
    }()

    /// Mounts a tmpfs of `size` (e.g. `3m`) on `directory`, creating it.
    public static func mount(_ directory: URL, size: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Tool.run("mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", directory.path])
    }

    public static func unmount(_ directory: URL) { try? Tool.run("umount", [directory.path]) }
}
