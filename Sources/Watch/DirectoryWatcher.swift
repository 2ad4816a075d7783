import Catalog
import Foundation
import SystemCall
import Logging

/// Recursive inotify watching of the folders a daemon keeps indexed, turned into path-level changes.
///
/// inotify watches one directory at a time, so every folder under the roots gets a watch, and folders that appear
/// later are watched as they are created or moved in. Junk and hidden folders are skipped, as `VideoFinder` skips
/// them. A folder that cannot be watched (watch limit reached, a file system without inotify) is logged and left
/// to the periodic rescan.
public final class DirectoryWatcher {
    public enum Change: Equatable, Sendable {
        /// A file was created, written, closed or moved in: settle it.
        case touched(String)
        /// A file or folder was deleted or moved away.
        case gone(String)
        /// A folder appeared (created or moved in); it is watched now, and what it already holds must be scanned.
        case folder(String)
        /// The kernel dropped events (queue overflow): only a full rescan can catch up.
        case overflow
    }

    public let inotify: Inotify
    private let logger: Logger
    /// Watch descriptor → the folder's path.
    private var folders: [Int32: String] = [:]
    /// Folders that could not be watched, with the cause, reported once each.
    public private(set) var unwatched: [String: String] = [:]

    public init(logger: Logger) throws(SystemCallError) {
        inotify = try Inotify()
        self.logger = logger
    }

    public var watchedFolders: Int { folders.count }

    /// Whether `path` is a folder watched now.
    public func isWatched(_ path: String) -> Bool { folders.values.contains(path) }

    /// Watches `folder` and every folder under it.
    public func watch(tree folder: String) {
        let wd: Int32
        do {
            wd = try inotify.add(folder)
        } catch {
            if unwatched.updateValue(error.description, forKey: folder) == nil {
                let hint = error.errno == .noSpace ? " (raise fs.inotify.max_user_watches)" : ""
                logger.warning("cannot watch folder; relying on rescans",
                               metadata: ["path": "\(folder)", "cause": "\(error)\(hint)"])
            }
            return
        }
        unwatched[folder] = nil
        let known = folders[wd]
        folders[wd] = folder
        if known == folder { return }  // already watched (a link loop, or watched twice)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in entries.sorted() where !VideoFinder.isJunk(name) {
            let path = folder + "/" + name
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                watch(tree: path)
            }
        }
    }

    /// Drops the watches on `folder` and the folders under it (it moved away; the kernel keeps watching it there).
    private func unwatch(tree folder: String) {
        let prefix = folder + "/"
        for (wd, path) in folders where path == folder || path.hasPrefix(prefix) {
            inotify.remove(wd)
            folders[wd] = nil
        }
    }

    /// The changes queued now, in order; folders that appeared are watched before this returns.
    public func changes() throws(SystemCallError) -> [Change] {
        var changes: [Change] = []
        for event in try inotify.read() {
            if event.has(IN_Q_OVERFLOW) {
                logger.warning("inotify queue overflowed; rescanning")
                changes.append(.overflow)
                continue
            }
            if event.has(IN_IGNORED) {
                folders[event.watch] = nil
                continue
            }
            guard let folder = folders[event.watch], !event.name.isEmpty else { continue }  // the folder itself
            if VideoFinder.isJunk(event.name) { continue }
            let path = folder == "/" ? "/" + event.name : folder + "/" + event.name
            if event.has(IN_ISDIR) {
                if event.has(IN_CREATE) || event.has(IN_MOVED_TO) {
                    watch(tree: path)
                    changes.append(.folder(path))
                } else if event.has(IN_DELETE) || event.has(IN_MOVED_FROM) {
                    unwatch(tree: path)
                    changes.append(.gone(path))
                }
            } else if event.has(IN_DELETE) || event.has(IN_MOVED_FROM) {
                changes.append(.gone(path))
            } else {
                changes.append(.touched(path))
            }
        }
        return changes
    }
}
