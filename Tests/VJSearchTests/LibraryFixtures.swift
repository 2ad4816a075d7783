import Foundation
import TestSupport

/// A temporary folder holding `videos/`, a library path and a tiny model bundle: the set-up the end-to-end
/// suites share. A suite keeps one in `workspace` and reads the parts through `UsesLibraryWorkspace`.
struct LibraryWorkspace {
    let dir: TemporaryDirectory
    let videos: URL
    let library: String
    let model: String

    init(prefix: String, modelFolder: String, modelID: String) throws {
        dir = try TemporaryDirectory(prefix: prefix)
        videos = dir.file("videos")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        library = dir.file("library").path
        model = try LibraryFixtures.bundle(in: dir.file(modelFolder), id: modelID).path
    }
}

protocol UsesLibraryWorkspace {
    var workspace: LibraryWorkspace { get }
}

extension UsesLibraryWorkspace {
    var dir: TemporaryDirectory { workspace.dir }
    var videos: URL { workspace.videos }
    var library: String { workspace.library }
    var model: String { workspace.model }
}
