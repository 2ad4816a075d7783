import Foundation
import Testing
import TestSupport
@testable import SharedLibrary

/// Opening a shared library on a real PostgreSQL server (a throwaway cluster): the schema is created and
/// versioned, hosts opening at once wait in turn, a newer schema is refused, and a server that cannot be used
/// is one line naming the library and the cause.
@Suite(.serialized, .enabled(if: PostgresCluster.isAvailable, "needs PostgreSQL's server (make deps installs postgresql-15)"))
struct SharedDatabaseTests {
    @Test func openingCreatesTheSchemaOnceAndConcurrentOpenersAgree() async throws {
        let cluster = try PostgresCluster()
        let address = try PostgresAddress(cluster.url())
        // Four hosts open the new library at once: one migrates, the others wait on the lock and find it done.
        let versions = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let db = try await SharedDatabase.open(address)
                    let version = try await db.storedSchemaVersion()
                    await db.close()
                    return version
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(versions == [Int](repeating: SharedDatabase.schemaVersion, count: 4))
        #expect(try cluster.psql("SELECT count(*) FROM vjsearch_schema") == "1")
        let tables = try cluster.psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
        #expect(tables == "changes,library,roots,segments,video_paths,videos,vjsearch_schema,work_items,workers")
        // Over TCP with the password, too.
        let tcp = try await SharedDatabase.open(try PostgresAddress(cluster.url(tcp: true)))
        #expect(try await tcp.storedSchemaVersion() == SharedDatabase.schemaVersion)
        await tcp.close()
    }

    @Test func aSchemaFromANewerVersionIsRefusedAndLeftAlone() async throws {
        let cluster = try PostgresCluster()
        let address = try PostgresAddress(cluster.url())
        try await SharedDatabase.open(address).close()
        let newer = SharedDatabase.schemaVersion + 1
        try cluster.psql("UPDATE vjsearch_schema SET version = \(newer)")
        await #expect(throws: SharedLibraryError.newerSchema(address.description, found: newer, supported: SharedDatabase.schemaVersion)) {
            try await SharedDatabase.open(address)
        }
        #expect(try cluster.psql("SELECT version FROM vjsearch_schema") == "\(newer)")
    }

    @Test func aServerThatCannotBeUsedIsOneLineNamingTheCause() async throws {
        let cluster = try PostgresCluster()
        func failure(_ url: String) async throws -> String {
            do {
                try await SharedDatabase.open(try PostgresAddress(url)).close()
                return "opened"
            } catch {
                guard case .unavailable = error else { return "not unavailable: \(error)" }
                return error.description
            }
        }
        let wrongPassword = try await failure(cluster.url(tcp: true, password: "nope"))
        #expect(wrongPassword.contains("the server refused the login") && wrongPassword.contains("password authentication failed"), "\(wrongPassword)")
        #expect(!wrongPassword.contains("nope"))
        let noDatabase = try await failure(cluster.url(database: "missing"))
        #expect(noDatabase.contains("the server has no such database") && noDatabase.contains("missing"), "\(noDatabase)")
        let noPassword = try await failure(cluster.url(tcp: true, password: nil))
        #expect(noPassword.contains("asks for a password") || noPassword.contains("refused the login"), "\(noPassword)")
        try cluster.stop()
        let down = try await failure(cluster.url(tcp: true))
        #expect(down.hasPrefix("postgres://vjsearch@127.0.0.1:\(cluster.port)/vjsearch: cannot reach the server:"), "\(down)")
        #expect(!down.contains("\n"))
    }
}
