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

    /// Writes `input` as the file `name`, replacing the previous input, and returns its path.
    static func write(_ input: UnsafeRawBufferPointer, to name: String) -> String {
        let path = file(name)
        guard FileManager.default.createFile(atPath: path, contents: Data(input)) else { fatalError("cannot write \(path)") }
        return path
    }
}
