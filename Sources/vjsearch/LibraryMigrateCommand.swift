import ArgumentParser
import Catalog
import Foundation
import SharedLibrary

/// `vjsearch library …`: operations on a library as a whole.
struct LibraryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "library", abstract: "Move a library between a folder and PostgreSQL.",
        subcommands: [Migrate.self])

    /// `vjsearch library migrate --from A --to B`.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a folder library into a postgres:// one, or back, without re-embedding.",
            discussion: """
                Folder to PostgreSQL: every indexed video whose file lies under a --root is copied with \
                its segments and vectors, each in one transaction (partial and failed videos are \
                skipped, and listed); videos the shared library already has only gain the path. A rerun \
                copies what is missing.

                PostgreSQL to folder: the folder (new, or made by an earlier migrate) becomes a copy of \
                the shared library, paths under each --root's folder; a rerun catches up.

                Examples:
                  vjsearch library migrate --from ~/.local/share/vjsearch \\
                      --to postgres://vj@db/vj --root footage=/mnt/nas/footage
                  vjsearch library migrate --from postgres://vj@db/vj \\
                      --to ~/vj-copy --root footage=/mnt/nas/footage

                """ + ExitStatus.pointer)

        @Option(help: ArgumentHelp("The library to copy: a folder or a postgres:// URL.", valueName: "dir|url"))
        var from: String

        @Option(help: ArgumentHelp("Where to copy it: a postgres:// URL or a folder.", valueName: "url|dir"))
        var to: String

        @Option(name: .customLong("root"), help: ArgumentHelp(
            "A named root, NAME=DIR (repeatable): the folder part of the paths that becomes NAME in the shared library.",
            valueName: "name=dir"))
        var roots: [String] = []

        func validate() throws {
            guard PostgresAddress.isAddress(from) != PostgresAddress.isAddress(to) else {
                throw ValidationError("--from and --to: one must be a folder and the other a postgres:// URL")
            }
            guard !roots.isEmpty else {
                throw ValidationError("--root NAME=DIR is needed: shared paths are relative to named roots")
            }
            _ = try LibraryOptions.rootMap(roots)
        }

        func run() async throws {
            let roots = try LibraryOptions.rootMap(roots)
            do {
                if PostgresAddress.isAddress(to) {
                    try await toShared(roots)
                } else {
                    try await fromShared(roots)
                }
            } catch {
                throw reportFailure(error)
            }
        }

        private func toShared(_ roots: [String: String]) async throws {
            let folder = LibraryOptions.absolute(from)
            let library = try Library(path: folder, model: nil, create: false)
            let report = try await SharedDatabase.with(try PostgresAddress(to)) { database in
                try await LibraryTransfer.copy(library, to: database, roots: roots, progress: { done, total in
                    if done == total || done % 100 == 0 { Diagnostics.write("\(done)/\(total) videos") }
                })
            }
            for s in report.skipped { Diagnostics.warning("\(s.path): not copied: \(s.reason)") }
            print("copied \(report.copied) videos (\(report.segments) segments), linked \(report.linked) already there, skipped \(report.skipped.count)")
        }

        private func fromShared(_ roots: [String: String]) async throws {
            let folder = LibraryOptions.absolute(to)
            if FileManager.default.fileExists(atPath: folder + "/data.mdb") && Replica.state(at: folder) == nil {
                throw UsageError("\(folder): holds a library already; copy into a new folder")
            }
            let report = try await SharedDatabase.with(try PostgresAddress(from)) { database in
                try await Replica.sync(database, into: folder, roots: roots, progress: { done, total in
                    if done == total || done % 256 == 0 { Diagnostics.write("\(done)/\(total) videos") }
                })
            }
            print("copied \(report.copied) videos (\(report.segments) segments) into \(folder), dropped \(report.dropped); at change \(report.seq)")
        }
    }
}
