import Catalog
import Foundation
import JEPA

/// The model bundles this installation can find, by name (the bundle's folder name).
///
/// Folders searched, in order (an earlier folder wins a name):
/// 1. `$VJSEARCH_MODELS` (colon-separated folders of bundles);
/// 2. `$XDG_DATA_HOME/vjsearch/models` (default `~/.local/share/vjsearch/models`);
/// 3. next to the executable: a build tree's `Models/` (`.build/<config>/vjsearch`) or an install's
///    `share/vjsearch/models` (`bin/vjsearch`).
struct ModelCatalog {
    /// The default model: the VL-JEPA.
    static let defaultName = "vljepa-mini"

    struct Entry {
        var name: String
        var directory: URL
        /// The bundle, or why it cannot be read.
        var bundle: Result<ModelBundle, any Error>
    }

    let folders: [URL]

    init(environment: [String: String] = ProcessInfo.processInfo.environment, executable: URL = ModelOptions.executable()) {
        var folders: [URL] = []
        if let list = environment["VJSEARCH_MODELS"] {
            folders += list.split(separator: ":").filter { !$0.isEmpty }.map { URL(fileURLWithPath: String($0)) }
        }
        userFolder = Self.userFolder(environment)
        folders.append(userFolder)
        let exe = executable.deletingLastPathComponent()
        // An install (PREFIX/bin/vjsearch) first, so that PREFIX/../Models is never read for one; then a build tree
        // (.build/debug/vjsearch, .build/x86_64-unknown-linux-gnu/debug/vjsearch).
        let shipped = [
            exe.appendingPathComponent("../share/vjsearch/models"),
            exe.appendingPathComponent("../../Models"),
            exe.appendingPathComponent("../../../Models"),
        ]
        folders += shipped
        var seen = Set<String>()
        self.folders = folders.map(\.standardizedFileURL).filter { seen.insert($0.path).inserted }
        // Recipes: the user's own first, then those shipped beside the bundles (`Models/recipes`).
        var seenRecipes = Set<String>()
        recipeFolders = ([Self.userFolder(environment).deletingLastPathComponent().appendingPathComponent("recipes")]
            + shipped.map { $0.appendingPathComponent("recipes") })
            .map(\.standardizedFileURL).filter { seenRecipes.insert($0.path).inserted }
    }

    /// Where `vjsearch model install` puts bundles: `$XDG_DATA_HOME/vjsearch/models`
    /// (default `~/.local/share/vjsearch/models`).
    let userFolder: URL

    /// Where recipes for `vjsearch model install` are found (`NAME.json` each).
    let recipeFolders: [URL]

    static func userFolder(_ environment: [String: String]) -> URL {
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: homeDirectory(environment)).appendingPathComponent(".local/share")
        return data.appendingPathComponent("vjsearch/models").standardizedFileURL
    }

    /// Every bundle folder (one holding `config.json`) in the search folders, first folder first, names unique.
    func entries() -> [Entry] {
        var out: [Entry] = []
        var names = Set<String>()
        for folder in folders {
            let children = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            // Hidden folders are installs in progress (`.NAME.partial-PID`) or being removed.
            for name in children.sorted() where !names.contains(name) && !name.hasPrefix(".") {
                let directory = folder.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) else { continue }
                names.insert(name)
                out.append(Entry(name: name, directory: directory, bundle: Result { try ModelBundle(directory: directory) }))
            }
        }
        return out
    }

    /// The bundle folder called `name`.
    func directory(named name: String) throws -> URL {
        let found = entries()
        if let entry = found.first(where: { $0.name == name }) { return entry.directory }
        let known = found.map(\.name)
        throw UnknownModel(description:
            "--model \(name): no such model bundle or folder"
                + (known.isEmpty ? "; no bundles found in " + folders.map(\.path).joined(separator: ", ")
                                 : " (installed: \(known.joined(separator: ", ")); `vjsearch model list` shows them)"))
    }

    /// A `--model` name that names no installed bundle: a usage error (exit status 64).
    struct UnknownModel: Error, CustomStringConvertible {
        let description: String
    }

    /// The installed bundle whose id is `modelID`, if any.
    func directory(forModelID modelID: String) -> URL? {
        entries().first { (try? $0.bundle.get().modelID) == modelID }?.directory
    }

    /// Bytes of the files directly inside `directory`.
    static func size(of directory: URL) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
            return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }
}
