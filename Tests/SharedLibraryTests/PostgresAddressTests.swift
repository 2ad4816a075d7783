import Testing
@testable import SharedLibrary

/// `postgres://` URLs as libpq spells them: TCP or a socket folder, users and passwords from the URL or the
/// environment, and one-line refusals that never show a password.
@Suite struct PostgresAddressTests {
    let environment = ["USER": "me"]

    @Test func tcpAndSocketForms() throws {
        let tcp = try PostgresAddress("postgres://ann:secret@db.local:6543/footage", environment: environment)
        #expect(tcp.endpoint == .tcp(host: "db.local", port: 6543) && tcp.user == "ann" && tcp.password == "secret")
        #expect(tcp.database == "footage" && tcp.description == "postgres://ann@db.local:6543/footage")
        let socket = try PostgresAddress("postgresql:///footage?host=/tmp/pg", environment: environment)
        #expect(socket.endpoint == .socket(path: "/tmp/pg/.s.PGSQL.5432") && socket.user == "me" && socket.password == nil)
        let defaults = try PostgresAddress("postgres://h/db", environment: ["PGUSER": "bob", "PGPASSWORD": "pw", "USER": "me"])
        #expect(defaults.endpoint == .tcp(host: "h", port: 5432) && defaults.user == "bob" && defaults.password == "pw")
        #expect(try PostgresAddress("postgres:///db", environment: [:]).endpoint == .socket(path: "/var/run/postgresql/.s.PGSQL.5432"))
        let port = try PostgresAddress("postgres://me@/db?host=/tmp/pg&port=5499", environment: [:])
        #expect(port.endpoint == .socket(path: "/tmp/pg/.s.PGSQL.5499") && port.description == "postgres://me@:5499/db?host=/tmp/pg")
        #expect(try PostgresAddress(port.description, environment: [:]) == port)
    }

    @Test(arguments: [
        ("postgres://ann:secret@h:5432/", "postgres://ann:***@h:5432/: names no database (postgres://HOST/DATABASE)"),
        ("postgres://h:0/db", "postgres://h:0/db: port 0 is not 1…65535"),
        ("postgres://h/db?sslmode=require", "postgres://h/db?sslmode=require: unknown parameter 'sslmode' (only host=/socket/folder and port=N are read)"),
        ("postgres:///db?host=relative", "postgres:///db?host=relative: host=relative: a socket folder must be an absolute path"),
        ("mysql://h/db", "mysql://h/db: not a postgres://USER@HOST:PORT/DATABASE URL"),
    ])
    func badAddressesAreRefusedInOneLine(_ text: String, _ message: String) {
        #expect(throws: SharedLibraryError.self) { try PostgresAddress(text, environment: environment) }
        do {
            _ = try PostgresAddress(text, environment: environment)
        } catch {
            #expect(error.description == message)
            #expect(!error.description.contains("secret"))
        }
    }
}
