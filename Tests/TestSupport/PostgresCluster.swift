import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` (Debian's postgresql-15) in a temporary folder,
/// listening on a Unix socket there and on a free loopback port, stopped and deleted when the value goes away.
/// The user `vjsearch` may log in over the socket without a password and over TCP with `password`. PostgreSQL
/// refuses to run as root, so under root the server runs as the `postgres` user the Debian package creates.
public final class PostgresCluster: @unchecked Sendable {
    public static let user = "vjsearch"
    public static let password = "vjsearch-test"
    public static let database = "vjsearch"

    public let directory: TemporaryDirectory
    public let port: Int
    /// Addresses the server listens on (TCP), and the network namespace it runs in (nil: this host's).
    public let listen: [String]
    public let namespace: String?
    public var socketFolder: String { directory.file("socket").path }
    private var data: String { directory.file("data").path }

    /// The folder of `initdb` and `pg_ctl`, nil when PostgreSQL's server is not installed.
    public static let binFolder: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }()

    public static var isAvailable: Bool { binFolder != nil }

    /// Creates, starts and fills the cluster with the empty database `database`. With `namespace`, the server runs
    /// in that network namespace and listens on `listen` there, taking password logins from `network` (CIDR).
    public init(listen: [String] = ["127.0.0.1"], namespace: String? = nil, network: String? = nil, port: Int? = nil) throws {
        self.listen = listen
        self.namespace = namespace
        guard let bin = Self.binFolder else { throw Tool.Failure(description: "PostgreSQL's server is not installed (make deps)") }
        directory = try TemporaryDirectory(prefix: "vjsearch-pg")
        try FileManager.default.createDirectory(at: directory.file("socket"), withIntermediateDirectories: false)
        try Data("\(Self.password)\n".utf8).write(to: directory.file("pwfile"))
        if getuid() == 0 { try Self.run("/bin/chown", ["-R", "postgres:postgres", directory.path], asServer: false) }
        try Self.run("\(bin)/initdb", ["-D", directory.file("data").path, "-U", Self.user, "--pwfile", directory.file("pwfile").path,
                                       "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
        if let network {
            let hba = directory.file("data/pg_hba.conf")
            let rules = try String(contentsOf: hba, encoding: .utf8) + "host all all \(network) scram-sha-256\n"
            try Data(rules.utf8).write(to: hba)
        }
        self.port = try port ?? Self.freePort()
        try start()
        try Self.run("\(bin)/createdb", ["-h", socketFolder, "-p", "\(self.port)", "-U", Self.user, Self.database])
    }

    /// `postgres://` for the socket (no password needed), or over TCP with the password.
    public func url(database: String = PostgresCluster.database, tcp: Bool = false, password: String? = PostgresCluster.password) -> String {
        tcp ? "postgres://\(Self.user)\(password.map { ":" + $0 } ?? "")@\(listen[0]):\(port)/\(database)"
            : "postgres://\(Self.user)@localhost:\(port)/\(database)?host=\(socketFolder)"
    }

    /// Starts the server and waits until it accepts connections.
    public func start() throws {
        try Self.run("\(Self.binFolder!)/pg_ctl", [
            "-D", data, "-l", directory.file("server.log").path, "-w", "-t", "60",
            "-o", "-k \(socketFolder) -p \(port) -c listen_addresses=\(listen.joined(separator: ",")) -c fsync=off", "start",
        ], namespace: namespace)
    }

    /// Stops the server: `immediate` is a crash as far as clients can tell (no goodbye, recovery on the next start).
    public func stop(immediate: Bool = false) throws {
        try Self.run("\(Self.binFolder!)/pg_ctl", ["-D", data, "-w", "-t", "60", "-m", immediate ? "immediate" : "fast", "stop"])
    }

    /// Runs SQL through `psql` over the socket, failing on the first error; returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String = PostgresCluster.database) throws -> String {
        let out = try Self.run("\(Self.binFolder!)/psql", ["-h", socketFolder, "-p", "\(port)", "-U", Self.user, "-d", database,
                                                          "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { try? stop(immediate: true) }

    /// Runs a tool to its exit with posix_spawn and waitpid, its output in a file and no other descriptor of this
    /// process. Not `Process`: the server that `pg_ctl start` leaves running inherits the child's descriptors, and
    /// `Process` then never sees the end.
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String], asServer: Bool = true, namespace: String? = nil) throws -> String {
        let user = asServer && getuid() == 0 ? ["/sbin/runuser", "-u", "postgres", "--"] : []
        let argv = (namespace.map { NetworkHosts.exec(in: $0) } ?? []) + user + [executable] + arguments
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("vjsearch-pg-out-\(UUID().uuidString)").path
        defer { unlink(capture) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process: a server holding other tests' sockets and pipes would keep them from closing.
        guard let closeFrom = Self.addCloseFrom, closeFrom(&actions, 3) == 0 else {
            throw Tool.Failure(description: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later needed)")
        }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw Tool.Failure(description: "\(argv[0]): posix_spawn failed: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Tool.Failure(description: "waitpid: errno \(errno)") }
        }
        let output = (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
        // Exited normally with status 0: the low 7 bits (the signal) and the exit code are both zero.
        guard status == 0 else {
            throw Tool.Failure(description: "\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(output)")
        }
        return output
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module leaves out.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Tool.Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Tool.Failure(description: "bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
