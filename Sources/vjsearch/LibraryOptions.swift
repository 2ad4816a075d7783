import ArgumentParser
import Catalog
import Foundation
import Media
import Neural
import SharedLibrary

/// `--library DIR|postgres://…` and `--root NAME=DIR`, shared by the library commands.
struct LibraryOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The library: a folder (default: $VJSEARCH_LIBRARY, else $XDG_DATA_HOME/vjsearch, else ~/.local/share/vjsearch), or a postgres://USER@HOST:PORT/DATABASE URL for a library shared by many machines (index, watch, query, serve, status, chapters, classify and library migrate take one).",
        valueName: "dir|url"), completion: .directory)
    var library: String?

    @Option(name: .customLong("root"), help: ArgumentHelp(
        "For a postgres:// library: where this host mounts a named root, NAME=DIR (repeatable). Paths are stored relative to their root, so hosts that mount a share in different places agree. `index` names a folder it is given after its last component when no --root covers it.",
        valueName: "name=dir"), completion: .directory)
    var roots: [String] = []

    /// `--library`, else `$VJSEARCH_LIBRARY`, when either is a `postgres://` URL.
    var sharedText: String? {
        let text = library ?? ProcessInfo.processInfo.environment["VJSEARCH_LIBRARY"]
        return text.flatMap { PostgresAddress.isAddress($0) ? $0 : nil }
    }

    /// The shared library's address, or nil for a folder library.
    func sharedAddress() throws -> PostgresAddress? {
        guard let sharedText else { return nil }
        return try PostgresAddress(sharedText)
    }

    /// The library folder this run uses. A command that takes only folder libraries ends here, with status 64,
    /// when given a `postgres://` one.
    var path: String {
        if let shared = sharedText {
            let command = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") } ?? "this command"
            Diagnostics.error("\(PostgresAddress.redacted(shared)): `vjsearch \(command)` works on a library folder; a postgres:// library takes index, watch, query, serve, status, chapters, classify and library migrate")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        if let library { return Self.absolute(library) }
        let env = ProcessInfo.processInfo.environment
        if let dir = env["VJSEARCH_LIBRARY"], !dir.isEmpty { return Self.absolute(dir) }
        if let data = env["XDG_DATA_HOME"], !data.isEmpty { return Self.absolute(data) + "/vjsearch" }
        return homeDirectory() + "/.local/share/vjsearch"
    }

    /// `--root` options as root name → absolute folder.
    func rootMap() throws -> [String: String] { try Self.rootMap(roots) }

    /// `NAME=DIR` texts as root name → absolute folder.
    static func rootMap(_ roots: [String]) throws -> [String: String] {
        var map: [String: String] = [:]
        for text in roots {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
                throw ValidationError("--root \(text): expected NAME=DIR, such as footage=/mnt/nas/footage")
            }
            let name = String(text[..<eq]), folder = absolute(String(text[text.index(after: eq)...]))
            guard isRootName(name) else {
                throw ValidationError("--root \(text): a root name takes letters, digits, '.', '_' and '-' only")
            }
            if let other = map[name], other != folder {
                throw ValidationError("--root \(name) is given twice, as \(other) and \(folder)")
            }
            map[name] = folder
        }
        return map
    }

    static func isRootName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    func validate() throws {
        _ = try rootMap()
        if let sharedText {
            do { _ = try PostgresAddress(sharedText) } catch { throw ValidationError("--library \(error)") }
        }
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// The folder a query reads: the library folder, or for a shared library its replica, brought up to date
    /// first. When the database cannot be reached, an existing replica is used as it is, with a warning.
    func readablePath() async throws -> String {
        guard let address = try sharedAddress() else { return path }
        let roots = try rootMap()
        let folder = Replica.folder(address: address, roots: roots)
        let report: Replica.SyncReport
        do {
            report = try await SharedDatabase.with(address) { database in
                try await Replica.sync(database, into: folder, roots: roots, progress: { done, total in
                    if total >= 64 && (done == total || done % 256 == 0) {
                        Diagnostics.write("replica: \(done)/\(total) videos copied")
                    }
                })
            }
        } catch SharedLibraryError.unavailable(let shown, let reason) {
            // Down, or lost mid-sync (the replica then holds whole videos up to where it got; the next run goes on).
            guard let state = Replica.state(at: folder) else { throw SharedLibraryError.unavailable(shown, reason: reason) }
            Diagnostics.warning("\(shown): \(reason); searching this host's replica as of change \(state.seq)")
            return folder
        }
        if report.changes > 0 && report.copied + report.dropped >= 64 {
            Diagnostics.write("replica: \(report.copied) videos copied, \(report.dropped) dropped (change \(report.seq))")
        }
        return folder
    }
}

/// `--model NAME|DIR`, shared by the commands that embed.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The model: a bundle name from `vjsearch model list` (vljepa-mini, objects) or a bundle folder (default: $VJSEARCH_MODEL, else the model that made the library, else vljepa-mini).",
        valueName: "name|dir"), completion: ModelOptions.completion)
    var model: String?

    /// Shell completion of a model: the installed bundles' names, or, for a word with a `/`, the folders it starts.
    static let completion = CompletionKind.custom { @Sendable (_: [String], _: Int, word: String) -> [String] in
        guard word.contains("/") else { return ModelCatalog().entries().map(\.name).filter { $0.hasPrefix(word) } }
        let parent = word.hasSuffix("/") ? word : (word as NSString).deletingLastPathComponent + "/"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        return names.filter { !$0.hasPrefix(".") }.map { parent + $0 }.filter { path in
            var folder: ObjCBool = false
            return path.hasPrefix(word) && FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
        }.sorted().map { $0 + "/" }
    }

    /// `--model`, else `$VJSEARCH_MODEL`: a bundle name or folder as the user gave it.
    var requested: String? {
        if let model { return model }
        if let env = ProcessInfo.processInfo.environment["VJSEARCH_MODEL"], !env.isEmpty { return env }
        return nil
    }

    /// The bundle folder: `--model` or `$VJSEARCH_MODEL` (a name or a folder), else the installed bundle that made
    /// the library at `library` (when it exists and that bundle is installed), else the default `vljepa-mini`.
    func directory(library: String? = nil) throws -> URL {
        // The library is opened (and walked) only when no model was named.
        try Self.resolve(requested, libraryModelID: requested == nil ? library.flatMap(Library.storedModelID(path:)) : nil)
    }

    /// `directory(library:)` for a library already open, whose model id is `libraryModelID`.
    static func resolve(_ requested: String?, libraryModelID: String?, catalog: ModelCatalog = ModelCatalog()) throws -> URL {
        if let requested {
            // A path (or an existing folder of that name here) is taken as given; anything else is a bundle name.
            if requested.contains("/") || FileManager.default.fileExists(atPath: requested + "/config.json") {
                return URL(fileURLWithPath: requested)
            }
            return try catalog.directory(named: requested)
        }
        if let id = libraryModelID, let directory = catalog.directory(forModelID: id) {
            return directory
        }
        return try catalog.directory(named: ModelCatalog.defaultName)
    }

    static func executable() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }
}

/// `--window` and `--stride`: clip windows other than the model's (`index`, `segments`).
struct ClipWindowOptions: ParsableArguments {
    @Option(help: "Clip window in seconds, 0.05-3600 (default: the model's).")
    var window: Double?

    @Option(help: "Seconds between window starts, 0.05-3600 (default: the model's).")
    var stride: Double?

    func validate() throws {
        try OptionCheck.seconds(window, "--window")
        try OptionCheck.seconds(stride, "--stride")
    }
}

/// `--threads N`.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for the model and the decoder, 1-256 (default: all cores).")
    var threads: Int?

    /// Worker threads a command may ask for: more only adds stacks and contention (and 10⁵ hangs the start-up).
    static let range = 1...Neural.maxThreads

    func validate() throws {
        try OptionCheck.count(threads, "--threads", in: Self.range)
    }

    /// Applies the cap and returns it.
    func apply() -> Int { Self.apply(threads) }

    /// Sets `threads` (default: all cores, at most `range`'s end) as the model's worker count and returns it.
    static func apply(_ threads: Int?) -> Int {
        let n = threads ?? min(ProcessInfo.processInfo.activeProcessorCount, Neural.maxThreads)
        Neural.setThreads(n)
        return n
    }
}

/// Range checks for option values: a value out of range is a `ValidationError` (exit status 64) whose one line
/// names the option and the range, never a trap or a hang later on.
enum OptionCheck {
    static func count(_ value: Int?, _ option: String, in range: ClosedRange<Int>, unit: String = "") throws {
        guard let value, !range.contains(value) else { return }
        throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound)\(unit)")
    }

    /// Seconds within `range`; NaN and infinities are out of every range.
    static func seconds(_ value: Double?, _ option: String, in range: ClosedRange<Double> = ClipSpec.secondsRange) throws {
        guard let value, !range.contains(value) else { return }
        throw ValidationError("\(option) must be between \(number(range.lowerBound)) and \(number(range.upperBound)) seconds")
    }

    static func number(_ value: Double) -> String { String(format: "%g", value) }
}

/// An option value that is wrong only for the input it meets (a time past the end of the video): status 64.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Maps library errors to their documented exit statuses after printing `error: …`.
func reportFailure(_ error: Error) -> ExitCode {
    if let code = error as? ExitCode { return code }
    Diagnostics.error("\(error)")
    if error is ModelCatalog.UnknownModel || error is UsageError { return ExitCode.validationFailure }
    if let error = error as? SharedLibraryError {
        switch error {
        case .unavailable: return ExitStatus.unavailable
        case .modelMismatch: return ExitStatus.mismatch
        case .invalidAddress: return ExitCode.validationFailure
        default: return ExitStatus.someFailed
        }
    }
    switch error as? CatalogError {
    case .modelMismatch?, .storageMismatch?: return ExitStatus.mismatch
    case .locked?: return ExitStatus.locked
    case .cannotTakeQuestions?: return ExitCode.validationFailure
    default: return ExitStatus.someFailed
    }
}

/// `h:mm:ss.s`.
func timestamp(_ seconds: Double) -> String {
    let tenths = Int((max(0, seconds) * 10).rounded())
    return String(format: "%d:%02d:%02d.%d", tenths / 36000, tenths / 600 % 60, tenths / 10 % 60, tenths % 10)
}

/// `$HOME` when set (Foundation's home directory on Linux is the password file's, whatever `$HOME` says), else the
/// password file's.
func homeDirectory(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let home = environment["HOME"], !home.isEmpty { return home }
    return NSHomeDirectory()
}

let stdoutIsTerminal = isatty(STDOUT_FILENO) == 1
let stderrIsTerminal = isatty(STDERR_FILENO) == 1
