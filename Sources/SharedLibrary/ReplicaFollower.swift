import Catalog
import Foundation
import PostgresNIO

/// Keeps a replica following its shared library while a server runs (`vjsearch serve`): it listens for the
/// changes' NOTIFY, catches up after subscribing (so that nothing committed in between is missed) and after
/// each notification. A lost connection is reopened with backoff; meanwhile searches see the replica as it was.
public enum ReplicaFollower {
    /// What the follower reports.
    public enum Event: Sendable {
        case synced(Replica.SyncReport)
        case lost(SharedLibraryError, retryIn: Double)
    }

    /// Runs until the task is cancelled, copying into `library` (the replica in `folder`, open in this process).
    public static func follow(_ address: PostgresAddress, folder: String, roots: [String: String], library: Library,
                              events: @escaping @Sendable (Event) -> Void) async {
        var wait = 1.0
        while !Task.isCancelled {
            do {
                try await SharedDatabase.with(address) { listener in
                    try await SharedDatabase.with(address) { reader in
                        try await listener.listen(Schema.changesChannel) { notifications in
                            events(.synced(try await Replica.sync(reader, into: folder, roots: roots, open: library)))
                            wait = 1
                            for try await _ in notifications {
                                // A burst of commits sends a burst of notices: the first sync takes them all, the rest are cheap.
                                let report = try await Replica.sync(reader, into: folder, roots: roots, open: library)
                                if report.changes > 0 { events(.synced(report)) }
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                events(.lost(error as? SharedLibraryError ?? SharedDatabase.describe(error, address: address), retryIn: wait))
                try? await Task.sleep(for: .seconds(wait))  // backoff: nothing to await but the server's return
                wait = min(wait * 2, 30)
            }
        }
    }
}

extension SharedDatabase {
    /// Runs `body` with the notifications of `channel` on this connection (unlistened when it returns).
    func listen<R: Sendable>(_ channel: String, _ body: (PostgresNotificationSequence) async throws -> R) async throws(SharedLibraryError) -> R {
        try await run { c in try await c.listen(on: channel, consume: body) }
    }
}
