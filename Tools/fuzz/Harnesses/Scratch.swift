import Foundation

/// The one scratch folder per process for harnesses whose input must be a file on disk, removed at exit. Each
/// harness rewrites its file for every input, so the folder never grows.
enum Scratch {
    static let directory: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vjsearch-fuzz-\(getpid())").path
        atexit { try? FileManager.default.removeItem(atPath: Scratch.directory) }
        return directory
    }()

    /// `name` inside the scratch folder (a relative path; its folders are created).
    static func file(_ name: String) -> String {
        let path = directory + "/" + name
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        return path
    }
}
