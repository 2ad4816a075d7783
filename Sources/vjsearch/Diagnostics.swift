import ArgumentParser
import Catalog
import Foundation
import JEPA

/// Exit statuses shared by all subcommands.
enum ExitStatus {
    /// Some input failed; the others were processed (also: `verify` found problems, a query failed).
    static let someFailed = ExitCode(1)
    /// The library was built with another model (sysexits' EX_DATAERR).
    static let mismatch = ExitCode(65)
    /// Another process is writing to the library (sysexits' EX_TEMPFAIL); retry later or pass --wait.
    static let locked = ExitCode(75)
    /// A service is unavailable: the hub for `model install`, the database of a postgres:// library (sysexits'
    /// EX_UNAVAILABLE).
    static let unavailable = ExitCode(69)

    /// The line each command's help ends with: the table itself is in `vjsearch --help` and the man page, once.
    static let pointer = "\nExit status: 0 on success; the others are listed in `vjsearch --help`."

    static let discussion = """
        Results go to stdout; diagnostics go to stderr as `error: <file>: <cause>` or \
        `warning: <file>: <cause>`.

        Exit status: 0 all inputs succeeded; 1 at least one input failed (the others were \
        still processed), or `verify` found problems; 64 usage error (bad option or value, empty \
        query); 65 the library was built with another model, or keeps another --vectors storage (see \
        `vjsearch reindex`); 69 `model install` cannot reach the hub, or a postgres:// library's server cannot \
        be reached, refuses the login or has no such database; 75 the \
        library is locked by another `vjsearch` writing to it (pass --wait to wait), or, for `index` and \
        `reindex`, a `vjsearch watch` daemon keeps it up to date (`index --wait` indexes anyway once the \
        daemon is idle), or, for `watch`, another daemon already watches into it; 77 a gated hub \
        repository refused `model install` (accept its licence on the hub, then give a token).
        """
}

/// Writes `error: <message>` or `warning: <message>` to stderr.
enum Diagnostics {
    static func error(_ message: String) { write("error: \(message)") }
    static func warning(_ message: String) { write("warning: \(message)") }

    /// The one note `index` and `watch` print when they create a library with a model of synthetic scenes only.
    static func noteDomain(_ config: ModelConfig) {
        guard config.isSynthetic else { return }
        write("note: \(config.name ?? "this model") knows only synthetic coloured shapes and will not find things in real footage; for real videos use --model objects (`vjsearch model list` shows the models)")
    }

    /// Writes one line to stderr, its control characters escaped (`String.escapingControlCharacters`).
    static func write(_ line: String) {
        FileHandle.standardError.write(Data((line.escapingControlCharacters + "\n").utf8))
    }
}

/// Seconds with a fixed number of decimals.
func seconds(_ value: Double?, decimals: Int = 3) -> String {
    guard let value else { return "-" }
    return String(format: "%.\(decimals)f", value)
}
