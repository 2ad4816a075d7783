import Foundation
import JEPA

/// One repository of the mirror's folder (`ROOT/OWNER/NAME/…`), with what the hub says about each file.
struct MirrorRepository: Sendable {
    struct File: Sendable {
        let url: URL
        let size: Int
        let sha256: String
        let gitSHA1: String
        /// Kept in LFS on the hub: answered with a redirect to the CDN, named by its sha256.
        let isLFS: Bool
    }

    let name: String
    /// A stable fake commit: the hash of every file's path and git id.
    let commit: String
    let files: [String: File]

    /// Extensions the hub's repositories keep in LFS (as their .gitattributes do).
    static let lfsExtensions: Set<String> = ["pt", "pth", "bin", "safetensors", "gguf", "onnx", "h5", "msgpack"]

    init(name: String, folder: URL) throws {
        self.name = name
        var files: [String: File] = [:]
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
            let data = try Data(contentsOf: url)
            var sha = SHA256()
            data.withUnsafeBytes { sha.update($0) }
            files[path] = File(url: url, size: data.count, sha256: SHA256.hex(sha.finalize()), gitSHA1: Self.gitBlobID(data),
                               isLFS: Self.lfsExtensions.contains(url.pathExtension))
        }
        var listing = SHA256()
        for path in files.keys.sorted() { listing.update(Array((path + " " + files[path]!.gitSHA1 + "\n").utf8)) }
        commit = String(SHA256.hex(listing.finalize()).prefix(40))
        self.files = files
    }

    /// git's blob id: sha1 of `blob <size>\0` and the bytes (the hub's ETag of a file not kept in LFS).
    static func gitBlobID(_ data: Data) -> String {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mirror-\(UUID().uuidString)")
        // Foundation has no SHA-1 on Linux; `git hash-object` computes exactly this id.
        defer { try? FileManager.default.removeItem(at: tmp) }
        guard (try? data.write(to: tmp)) != nil else { return "" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "hash-object", tmp.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let id = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: id, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
