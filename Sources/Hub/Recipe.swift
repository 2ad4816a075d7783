import Foundation

/// What `vjsearch model install NAME` downloads and how it builds the bundle: data, read from `NAME.json`, so a new
/// model is a new recipe file, not new code.
///
/// ```json
/// { "name": "open-vljepa", "summary": "…", "converter": "open-vljepa",
///   "sources": { "checkpoint": { "repo": "cun-bjy/open-vljepa", "files": ["best.pt"] }, … },
///   "convert": { "dtype": "f32" }, "bundle_bytes": 5400000000 }
/// ```
public struct Recipe: Decodable, Sendable, Equatable {
    /// One hub repository and the files of it the converter reads.
    public struct Source: Decodable, Sendable, Equatable {
        /// `owner/name` on the hub.
        public var repo: String
        /// A branch, tag or commit; `main` when absent.
        public var revision: String
        public var files: [String]
        /// The repository asks users to accept a licence on its page before it serves files.
        public var gated: Bool
        /// The licence's name, for messages and the install summary.
        public var licence: String?

        enum CodingKeys: String, CodingKey { case repo, revision, files, gated, licence }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            repo = try c.decode(String.self, forKey: .repo)
            revision = try c.decodeIfPresent(String.self, forKey: .revision) ?? "main"
            files = try c.decode([String].self, forKey: .files)
            gated = try c.decodeIfPresent(Bool.self, forKey: .gated) ?? false
            licence = try c.decodeIfPresent(String.self, forKey: .licence)
        }
    }

    /// Converter settings; absent values take the converter's defaults.
    public struct Convert: Decodable, Sendable, Equatable {
        public var dtype: String?
        public var frames: Int?
        public var fps: Double?
        public var stride: Double?
        public var prompt: String?
    }

    public var name: String
    /// One line for `model list` and the install summary.
    public var summary: String
    /// Which converter builds the bundle (`open-vljepa`).
    public var converter: String
    /// The converter's inputs by role (for `open-vljepa`: checkpoint, vjepa2, llama, gemma).
    public var sources: [String: Source]
    public var convert: Convert
    /// The bundle's size on disk, for the free-space check before anything is downloaded.
    public var bundleBytes: Int64

    enum CodingKeys: String, CodingKey {
        case name, summary, converter, sources, convert
        case bundleBytes = "bundle_bytes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        summary = try c.decode(String.self, forKey: .summary)
        converter = try c.decode(String.self, forKey: .converter)
        sources = try c.decode([String: Source].self, forKey: .sources)
        convert = try c.decodeIfPresent(Convert.self, forKey: .convert) ?? Convert()
        bundleBytes = try c.decodeIfPresent(Int64.self, forKey: .bundleBytes) ?? 0
    }

    /// Reads and checks a recipe file; errors name the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RecipeError(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        do { self = try JSONDecoder().decode(Recipe.self, from: data) } catch let error as DecodingError {
            throw RecipeError(path: url.path, reason: "not a recipe: \(Self.describe(error))")
        }
        for (role, source) in sources {
            let parts = source.repo.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(".") }) else {
                throw RecipeError(path: url.path, reason: "sources.\(role).repo '\(source.repo)' is not owner/name")
            }
            guard !source.files.isEmpty else { throw RecipeError(path: url.path, reason: "sources.\(role).files is empty") }
            for file in source.files where !Self.isSafeRelativePath(file) {
                throw RecipeError(path: url.path, reason: "sources.\(role).files: '\(file)' is not a relative path inside the repository")
            }
            guard Self.isSafeRelativePath(source.revision) else {
                throw RecipeError(path: url.path, reason: "sources.\(role).revision '\(source.revision)' is not a plain name")
            }
        }
        guard bundleBytes >= 0 else { throw RecipeError(path: url.path, reason: "bundle_bytes is negative") }
    }

    /// `a/b.json`, never absolute, empty, `..` or `.` components: hub paths also name files in the cache.
    static func isSafeRelativePath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return !path.isEmpty && !parts.contains { $0.isEmpty || $0 == "." || $0 == ".." } && !path.contains("\0")
    }

    static func describe(_ error: DecodingError) -> String {
        func at(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "" : " at \(path)"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)'\(at(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type\(at(context))"
        case .dataCorrupted(let context): return "invalid JSON\(at(context))"
        @unknown default: return "invalid"
        }
    }
}

/// A recipe file that cannot be used, or a recipe name that names none.
public struct RecipeError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

/// The recipes found in `folders` (each `NAME.json`), first folder first, names unique.
public struct RecipeBook: Sendable {
    public let folders: [URL]

    public init(folders: [URL]) { self.folders = folders }

    /// Every readable recipe file by name; unreadable ones are reported with their error.
    public func all() -> [(name: String, url: URL, recipe: Result<Recipe, any Error>)] {
        var out: [(String, URL, Result<Recipe, any Error>)] = []
        var seen = Set<String>()
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for file in names.sorted() where file.hasSuffix(".json") && !file.hasPrefix(".") {
                let name = String(file.dropLast(5))
                guard seen.insert(name).inserted else { continue }
                let url = folder.appendingPathComponent(file)
                out.append((name, url, Result { try Recipe(contentsOf: url) }))
            }
        }
        return out
    }

    /// The recipe called `name`, or a recipe file given by path (`./my-model.json`).
    public func recipe(_ nameOrPath: String) throws -> Recipe {
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            return try Recipe(contentsOf: URL(fileURLWithPath: nameOrPath))
        }
        let found = all()
        if let entry = found.first(where: { $0.name == nameOrPath }) { return try entry.recipe.get() }
        let known = found.map(\.name)
        throw RecipeError(path: "", reason: "no recipe called '\(nameOrPath)'"
            + (known.isEmpty ? "; no recipes found in " + folders.map(\.path).joined(separator: ", ")
                             : " (known: \(known.joined(separator: ", ")))"))
    }
}
