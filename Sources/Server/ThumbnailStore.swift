import Catalog
import Foundation
import Media

/// Thumbnails (320 px wide JPEGs) by video and tenth of a second: from memory, else from the disk cache in the
/// library folder (`thumbnails/`, at most `limit` bytes, the least recently written dropped first), else decoded.
/// A video's content fingerprint is part of the key, so a changed file never shows an old picture. When the
/// library folder cannot be written, only memory caches them.
final class ThumbnailStore: @unchecked Sendable {
    static let width = 320
    let folder: String
    let limit: Int
    private let memory = LRUCache<String, [UInt8]>(capacity: 2048)
    private let decoders = WorkerPool<Void>(Array(repeating: (), count: 2))
    private let lock = NSLock()
    private var diskBytes: Int?

    init(folder: String, limit: Int) {
        self.folder = folder
        self.limit = limit
    }

    func jpeg(_ video: VideoRecord, at seconds: Double) async throws -> [UInt8] {
        let tenths = Int((seconds * 10).rounded(.down))
        let key = "\(video.id)-\(String(video.hash, radix: 16))-\(tenths)"
        let path = video.path
        return try await decoders.run { _ in
            try self.memory.value(for: key) {
                let file = self.folder + "/" + key + ".jpg"
                if let data = FileManager.default.contents(atPath: file), data.count > 4 { return [UInt8](data) }
                let jpeg = try Thumbnail.jpeg(path: path, at: Double(tenths) / 10, width: Self.width, threads: 1)
                self.store(jpeg, as: file)
                return jpeg
            }
        }
    }

    /// Writes atomically (a temporary name, then rename), then trims the folder back under the limit.
    private func store(_ jpeg: [UInt8], as file: String) {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let temporary = file + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(jpeg), attributes: [.posixPermissions: 0o600]),
              rename(temporary, file) == 0 else {
            unlink(temporary)
            return
        }
        lock.withLock {
            let total = (diskBytes ?? measure()) + jpeg.count
            diskBytes = total > limit ? trim(to: limit * 3 / 4) : total
        }
    }

    private func entries() -> [(path: String, bytes: Int, modified: Date)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".jpg") }.compactMap { name in
            let path = folder + "/" + name
            guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
            return (path, (a[.size] as? Int) ?? 0, (a[.modificationDate] as? Date) ?? .distantPast)
        }
    }

    private func measure() -> Int { entries().reduce(0) { $0 + $1.bytes } }

    /// Deletes the oldest files until at most `target` bytes are left; returns what is left.
    private func trim(to target: Int) -> Int {
        var files = entries().sorted { $0.modified < $1.modified }
        var total = files.reduce(0) { $0 + $1.bytes }
        while total > target, !files.isEmpty {
            let oldest = files.removeFirst()
            unlink(oldest.path)
            total -= oldest.bytes
        }
        return total
    }
}
