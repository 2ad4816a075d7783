import Foundation
import Logging
import PostgresNIO
import Synchronization

/// An open connection to a shared library's database, its schema brought up to date.
///
/// A connection that breaks (a server restarted, a network lost) is replaced on the next statement; `retrying`
/// waits for the server to come back. One statement runs at a time on it: a worker that renews its lease while it
/// commits uses a second `SharedDatabase`, so that the renewal never lands inside the commit's transaction.
public final class SharedDatabase: Sendable {
    public let address: PostgresAddress
    private let current: Mutex<PostgresConnection?>
    let logger: Logger

    /// The schema version this build reads and writes.
    public static var schemaVersion: Int { Schema.latest }

    private init(address: PostgresAddress, connection: PostgresConnection, logger: Logger) {
        self.address = address
        self.current = Mutex(connection)
        self.logger = logger
    }

    /// Connects and applies the migrations the database lacks.
    /// - Throws: `SharedLibraryError`: `.unavailable` when the server cannot be reached, refuses the login or has no
    ///   such database; `.newerSchema` for a schema from a newer vjsearch; `.server` for a statement refused.
    public static func open(_ address: PostgresAddress, logger: Logger = Logger(label: "vjsearch.shared")) async throws(SharedLibraryError) -> SharedDatabase {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: address.configuration, id: 1, logger: logger)
        } catch {
            throw describe(error, address: address)
        }
        let database = SharedDatabase(address: address, connection: connection, logger: logger)
        do {
            try await database.migrate()
        } catch {
            try? await connection.close()
            throw error
        }
        return database
    }

    /// Opens the library at `address`, runs `body` on it and closes it, whether `body` returns or throws.
    public static func with<R>(_ address: PostgresAddress, _ body: (SharedDatabase) async throws -> R) async throws -> R {
        let database = try await open(address)
        do {
            let result = try await body(database)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    public func close() async {
        let connection = current.withLock { c in defer { c = nil }; return c }
        try? await connection?.close()
    }

    /// The open connection, or a new one when the last one broke.
    private func connection() async throws -> PostgresConnection {
        if let c = current.withLock({ $0 }), !c.isClosed { return c }
        let c = try await PostgresConnection.connect(configuration: address.configuration, id: 1, logger: logger)
        let replaced = current.withLock { old in defer { old = c }; return old }
        try? await replaced?.close()
        return c
    }

    /// Runs `body` again while the server is unavailable (restarting, unreachable), waiting 0.25 s, then twice as
    /// long each time up to 5 s, for at most `patience` seconds in all; `onRetry` hears each wait's cause first.
    public func retrying<R: Sendable>(patience: Double, onRetry: (SharedLibraryError) -> Void = { _ in },
                                      _ body: () async throws(SharedLibraryError) -> R) async throws(SharedLibraryError) -> R {
        let deadline = ContinuousClock.now + .seconds(patience)
        var wait = 0.25
        while true {
            do {
                return try await body()
            } catch {
                guard case .unavailable = error, ContinuousClock.now + .seconds(wait) < deadline else { throw error }
                onRetry(error)
                try? await Task.sleep(for: .seconds(wait))  // backoff: nothing to await but the server's return
                wait = min(wait * 2, 5)
            }
        }
    }

    /// The version the database's schema is at (0 before the first migration).
    public func storedSchemaVersion() async throws(SharedLibraryError) -> Int {
        try await run { c in try await Self.version(c, logger: self.logger) }
    }

    private func migrate() async throws(SharedLibraryError) {
        // Up to date (the usual case): nothing is written, nor locked.
        let found = try await storedSchemaVersion()
        guard found != Schema.latest else { return }
        try await transaction { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Schema.lockKey))", logger: self.logger)
            try await c.query("CREATE TABLE IF NOT EXISTS vjsearch_schema (version integer NOT NULL)", logger: self.logger)
            let found = try await Self.version(c, logger: self.logger)
            guard found <= Schema.latest else {
                throw SharedLibraryError.newerSchema(self.address.description, found: found, supported: Schema.latest)
            }
            guard found < Schema.latest else { return }
            for version in found..<Schema.latest {
                for statement in Schema.migrations[version] {
                    try await c.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
            }
            if found == 0 {
                try await c.query("INSERT INTO vjsearch_schema (version) VALUES (\(Schema.latest))", logger: self.logger)
            } else {
                try await c.query("UPDATE vjsearch_schema SET version = \(Schema.latest)", logger: self.logger)
            }
        }
    }

    private static func version(_ c: PostgresConnection, logger: Logger) async throws -> Int {
        let exists = try await c.query("SELECT to_regclass('vjsearch_schema') IS NOT NULL", logger: logger)
        for try await present in exists.decode(Bool.self) where !present { return 0 }
        var version = 0
        for try await v in try await c.query("SELECT version FROM vjsearch_schema", logger: logger).decode(Int.self) {
            version = max(version, v)
        }
        return version
    }

    /// Runs `body` in a transaction (committed when it returns, rolled back when it throws); with `snapshot`, every
    /// statement in it sees the database as of its first one (REPEATABLE READ).
    @discardableResult
    func transaction<R: Sendable>(snapshot: Bool = false, _ body: (PostgresConnection) async throws -> R) async throws(SharedLibraryError) -> R {
        try await run { c in
            try await c.query(snapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN", logger: self.logger)
            do {
                let result = try await body(c)
                try await c.query("COMMIT", logger: self.logger)
                return result
            } catch {
                _ = try? await c.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// Runs `body`, turning what PostgresNIO throws into a `SharedLibraryError` naming the library; a connection
    /// that broke is dropped, so that the next call connects again.
    @discardableResult
    func run<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws(SharedLibraryError) -> R {
        do {
            return try await body(try await connection())
        } catch {
            let described = Self.describe(error, address: address)
            if case .unavailable = described {
                let broken = current.withLock { c in defer { c = nil }; return c }
                try? await broken?.close()
            }
            throw described
        }
    }

    /// One line for what went wrong, in the server's words where it gave some.
    static func describe(_ error: any Error, address: PostgresAddress) -> SharedLibraryError {
        if let error = error as? SharedLibraryError { return error }
        let shown = address.description
        guard let error = error as? PSQLError else { return .unavailable(shown, reason: "\(error)") }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "refused"
            switch state {
            case "28P01", "28000": return .unavailable(shown, reason: "the server refused the login: \(message)")
            case "3D000": return .unavailable(shown, reason: "the server has no such database: \(message)")
            case "57P01", "57P02", "57P03": return .unavailable(shown, reason: "the server is shutting down or starting: \(message)")
            default: return .server(shown, reason: "\(message) (SQLSTATE \(state))")
            }
        case .authMechanismRequiresPassword:
            return .unavailable(shown, reason: "the server asks for a password: put it in the URL or $PGPASSWORD")
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            let cause = error.underlying.map { "\($0)" } ?? "\(error.code)"
            return .unavailable(shown, reason: "cannot reach the server: \(cause)")
        default:
            return .unavailable(shown, reason: "\(error.code)")
        }
    }
}
