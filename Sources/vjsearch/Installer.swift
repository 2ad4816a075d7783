import ArgumentParser
import Convert
import Foundation
import Hub
import JEPA
import SystemCall

extension ConvertOptions.DType: ExpressibleByArgument {}

/// `vjsearch model install`: a recipe's files into the hub cache, then the bundle built beside `dest` in a hidden
/// folder and renamed into place, with a record (`INSTALL.json`) of what it was built from.
struct Installer: Sendable {
    static let recordName = "INSTALL.json"

    let recipe: Recipe
    let dest: URL
    let dtype: ConvertOptions.DType
    let display: InstallDisplay

    /// What an install was built from: a second install of the same recipe with the same choices is a no-op.
    struct Record: Codable, Equatable {
        var recipe: String
        /// SHA-256 of the recipe's canonical JSON (so an edited recipe installs again).
        var recipeHash: String
        var dtype: String
        /// Role → repository, commit and files with their etags.
        var sources: [String: Source]
        var modelId: String

        struct Source: Codable, Equatable {
            var repo: String
            var commit: String
            var files: [String: String]
        }

        enum CodingKeys: String, CodingKey {
            case recipe, dtype, sources
            case recipeHash = "recipe_hash", modelId = "model_id"
        }
    }

    func run(settings: HubSettings, force: Bool) async throws {
        let parent = dest.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let lock = try FileLock(path: parent.appendingPathComponent(".\(dest.lastPathComponent).install.lock").path) {
            Diagnostics.write("note: another `vjsearch model install` is building \(dest.path); waiting for it")
        }
        defer { lock.release() }
        if !force, let existing = existingRecord() {
            print("\(recipe.name) is already installed in \(dest.path) (model id \(existing.modelId)); --force builds it again")
            return
        }
        if FileManager.default.fileExists(atPath: dest.path), existingRecordFile() == nil {
            throw RecipeError(path: dest.path, reason: "exists and is not an install of a recipe; remove it or choose --dest")
        }
        removeLeftovers(in: parent)

        let client = HubClient(settings: settings)
        do {
            let record = try await install(client: client, parent: parent)
            try await client.shutdown()
            display.finish()
            let size = ModelCatalog.size(of: dest)
            print("installed \(recipe.name) in \(dest.path): model id \(record.modelId), \(ModelCommand.List.megabytes(size))")
            print("use it with: vjsearch index DIR --model \(dest.deletingLastPathComponent() == ModelCatalog().userFolder ? recipe.name : dest.path)")
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func install(client: HubClient, parent: URL) async throws -> Record {
        var downloader = Downloader(client: client)
        // Tests shorten the waits between retries (`VJSEARCH_HUB_RETRY_MS`); users keep 1 s, doubling.
        if let ms = ProcessInfo.processInfo.environment["VJSEARCH_HUB_RETRY_MS"].flatMap(Int.init), (0...60_000).contains(ms) {
            downloader.retryDelay = .milliseconds(ms)
        }
        // Everything the hub says first: nothing is downloaded before the free space is known to suffice.
        var plans: [(role: String, source: Recipe.Source, files: [RemoteFile])] = []
        for role in recipe.sources.keys.sorted() {
            let source = recipe.sources[role]!
            display.status("asking \(settings(client).endpoint.absoluteString) for \(source.repo)")
            let (files, offline) = try await downloader.plan(source)
            if offline { display.note("\(source.repo): the hub cannot be reached; using the files already in \(client.settings.cache.path)") }
            plans.append((role, source, files))
        }
        let download = downloader.missingBytes(plans.flatMap(\.files))
        let bundle = recipe.bundleBytes * Int64(dtype == .f32 ? 4 : 2) / 4
        try checkSpace(download: download, cache: client.settings.cache, bundle: bundle, parent: parent)

        var folders: [String: URL] = [:]
        var sources: [String: Record.Source] = [:]
        for plan in plans {
            var paths: [URL] = []
            for file in plan.files {
                paths.append(try await downloader.fetch(file, revision: plan.source.revision) { display.show($0) })
            }
            // The checkpoint role names one file; the others are folders (the snapshot, as the hub lays it out).
            folders[plan.role] = plan.role == "checkpoint" && paths.count == 1
                ? paths[0] : downloader.cache.snapshot(plan.source.repo, commit: plan.files.first?.commit ?? "")
            sources[plan.role] = Record.Source(repo: plan.source.repo, commit: plan.files.first?.commit ?? "",
                                               files: Dictionary(uniqueKeysWithValues: plan.files.map { ($0.file, $0.etag) }))
        }

        let partial = parent.appendingPathComponent(".\(dest.lastPathComponent).partial-\(getpid())")
        try? FileManager.default.removeItem(at: partial)
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: false)
        // The converter names its source folders in the model card, as `huggingface-cli download --local-dir NAME`
        // would have them: links named after the repositories, to the snapshot folders.
        let named = parent.appendingPathComponent(".\(dest.lastPathComponent).sources-\(getpid())")
        try? FileManager.default.removeItem(at: named)
        try FileManager.default.createDirectory(at: named, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: named) }
        for plan in plans where plan.role != "checkpoint" {
            let link = named.appendingPathComponent(String(plan.source.repo.split(separator: "/").last!))
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: folders[plan.role]!)
            folders[plan.role] = link
        }
        do {
            let modelID = try convert(folders: folders, into: partial)
            let record = Record(recipe: recipe.name, recipeHash: recipeHash(), dtype: dtype.rawValue, sources: sources, modelId: modelID)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try (encoder.encode(record) + Data("\n".utf8)).write(to: partial.appendingPathComponent(Self.recordName))
            try syncFolder(partial)
            if FileManager.default.fileExists(atPath: dest.path) {
                let old = parent.appendingPathComponent(".\(dest.lastPathComponent).old-\(getpid())")
                try SystemCallError.check(rename(dest.path, old.path), "rename", path: dest.path)
                try SystemCallError.check(rename(partial.path, dest.path), "rename", path: dest.path)
                try? FileManager.default.removeItem(at: old)
            } else {
                try SystemCallError.check(rename(partial.path, dest.path), "rename", path: dest.path)
            }
            try syncFolder(parent)
            return record
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
    }

    private func settings(_ client: HubClient) -> HubSettings { client.settings }

    /// Runs the recipe's converter on the downloaded files.
    private func convert(folders: [String: URL], into directory: URL) throws -> String {
        switch recipe.converter {
        case "open-vljepa":
            func folder(_ role: String) throws -> URL {
                guard let url = folders[role] else {
                    throw RecipeError(path: recipe.name, reason: "the open-vljepa converter needs a source called '\(role)'")
                }
                return url
            }
            let sources = OpenVLJEPASources(checkpoint: try folder("checkpoint"), vjepa2: try folder("vjepa2"),
                                            llama: try folder("llama"), gemma: try folder("gemma"))
            var options = ConvertOptions(dtype: dtype)
            options.name = recipe.name
            if let frames = recipe.convert.frames { options.frames = frames }
            if let fps = recipe.convert.fps { options.fps = fps }
            if let stride = recipe.convert.stride { options.stride = stride }
            if let prompt = recipe.convert.prompt { options.prompt = prompt }
            display.status("converting")
            return try convertOpenVLJEPA(sources, options: options, to: directory) { done, total in
                display.showConversion(done: Int64(done), total: Int64(total))
            }
        default:
            throw RecipeError(path: recipe.name, reason: "unknown converter '\(recipe.converter)' (known: open-vljepa)")
        }
    }

    /// The download into the cache and the bundle beside `dest` must both fit (together when on one file system).
    private func checkSpace(download: Int64, cache: URL, bundle: Int64, parent: URL) throws {
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let c = try FreeSpace(cache.path), d = try FreeSpace(parent.path)
        // A margin of 1% and 64 MB, for metadata and the file system's own needs.
        func margin(_ n: Int64) -> Int64 { n + n / 100 + 64_000_000 }
        if c.device == d.device {
            if margin(download + bundle) > c.available { throw HubError.diskSpace(path: parent.path, needed: margin(download + bundle), free: c.available) }
        } else {
            if download > 0, margin(download) > c.available { throw HubError.diskSpace(path: cache.path, needed: margin(download), free: c.available) }
            if margin(bundle) > d.available { throw HubError.diskSpace(path: parent.path, needed: margin(bundle), free: d.available) }
        }
    }

    private func existingRecordFile() -> Record? {
        guard let data = try? Data(contentsOf: dest.appendingPathComponent(Self.recordName)) else { return nil }
        return try? JSONDecoder().decode(Record.self, from: data)
    }

    /// The record of an install of this recipe with these choices whose bundle is still there.
    private func existingRecord() -> Record? {
        guard let record = existingRecordFile(), record.recipe == recipe.name, record.recipeHash == recipeHash(),
              record.dtype == dtype.rawValue,
              FileManager.default.fileExists(atPath: dest.appendingPathComponent("model.safetensors").path) else { return nil }
        return record
    }

    private func recipeHash() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var sha = SHA256()
        sha.update(Array((try? encoder.encode(RecipeFingerprint(recipe))) ?? Data()))
        return SHA256.hex(sha.finalize())
    }

    /// Folders an earlier install left when it was killed (`.NAME.partial-PID`, `.NAME.old-PID`).
    private func removeLeftovers(in parent: URL) {
        let prefix = ".\(dest.lastPathComponent)."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        where name.hasPrefix(prefix) && [".partial-", ".old-", ".removing-", ".sources-"].contains(where: name.contains) {
            try? FileManager.default.removeItem(at: parent.appendingPathComponent(name))
        }
    }

    private func syncFolder(_ url: URL) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
            let fd = open(url.appendingPathComponent(name).path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { fsync(fd); close(fd) }
        }
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", path: url.path) }
        defer { close(fd) }
        try SystemCallError.check(fsync(fd), "fsync", path: url.path)
    }
}

/// The parts of a recipe that change what an install builds, encodable in a stable order.
private struct RecipeFingerprint: Encodable {
    let name, converter: String
    let sources: [String: [String]]
    let convert: [String: String]

    init(_ r: Recipe) {
        name = r.name
        converter = r.converter
        sources = r.sources.mapValues { [$0.repo, $0.revision] + $0.files }
        var c: [String: String] = [:]
        if let v = r.convert.dtype { c["dtype"] = v }
        if let v = r.convert.frames { c["frames"] = "\(v)" }
        if let v = r.convert.fps { c["fps"] = "\(v)" }
        if let v = r.convert.stride { c["stride"] = "\(v)" }
        if let v = r.convert.prompt { c["prompt"] = v }
        convert = c
    }
}

/// Free bytes for an unprivileged user on the file system holding `path`, and which file system it is.
struct FreeSpace {
    let available: Int64
    let device: UInt64

    init(_ path: String) throws {
        var fs = statvfs()
        try SystemCallError.check(statvfs(path, &fs), "statvfs", path: path)
        available = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        var st = stat()
        try SystemCallError.check(stat(path, &st), "stat", path: path)
        device = UInt64(st.st_dev)
    }
}
