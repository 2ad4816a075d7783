import Foundation
import PostgresNIO

/// Where a shared library lives: a `postgres://` URL, as libpq spells it, parsed into a connection configuration.
///
/// `postgres://[user[:password]@][host][:port]/database[?host=/socket/dir][&port=N]`: a TCP host, or with `?host=` (or no
/// host) the Unix socket `DIR/.s.PGSQL.PORT` (default folder /var/run/postgresql). The user defaults to `$PGUSER`,
/// else the login name; the password to `$PGPASSWORD`. Passwords never appear in messages.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case socket(path: String)
    }

    public let endpoint: Endpoint
    public let user: String
    public let password: String?
    public let database: String

    /// The URL without its password, for messages.
    public var description: String {
        switch endpoint {
        case .tcp(let host, let port):
            return "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        case .socket(let path):
            let port = (path as NSString).pathExtension
            return "postgres://\(user)@\(port == "5432" ? "" : ":" + port)/\(database)?host=\((path as NSString).deletingLastPathComponent)"
        }
    }

    /// Whether `text` names a PostgreSQL library rather than a folder.
    public static func isAddress(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// - Throws: `SharedLibraryError.invalidAddress` naming what is wrong (the text is shown without a password).
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(SharedLibraryError) {
        guard Self.isAddress(text), let components = URLComponents(string: text) else {
            throw .invalidAddress(Self.redacted(text), reason: "not a postgres://USER@HOST:PORT/DATABASE URL")
        }
        let shown = Self.redacted(text)
        let database = String(components.percentEncodedPath.dropFirst()).removingPercentEncoding ?? ""
        guard !database.isEmpty, !database.contains("/") else {
            throw .invalidAddress(shown, reason: "names no database (postgres://HOST/DATABASE)")
        }
        let socketFolder = components.queryItems?.first(where: { $0.name == "host" })?.value
        let portParameter = components.queryItems?.first(where: { $0.name == "port" })?.value
        for item in components.queryItems ?? [] where item.name != "host" && item.name != "port" {
            throw .invalidAddress(shown, reason: "unknown parameter '\(item.name)' (only host=/socket/folder and port=N are read)")
        }
        let port: Int
        if let portParameter {
            guard let n = Int(portParameter) else { throw .invalidAddress(shown, reason: "port=\(portParameter) is not a number") }
            port = n
        } else {
            port = components.port ?? 5432
        }
        guard (1...65_535).contains(port) else { throw .invalidAddress(shown, reason: "port \(port) is not 1…65535") }
        if let host = components.host, !host.isEmpty, socketFolder == nil {
            endpoint = .tcp(host: host, port: port)
        } else {
            let folder = socketFolder ?? "/var/run/postgresql"
            guard folder.hasPrefix("/") else {
                throw .invalidAddress(shown, reason: "host=\(folder): a socket folder must be an absolute path")
            }
            endpoint = .socket(path: (folder as NSString).appendingPathComponent(".s.PGSQL.\(port)"))
        }
        user = components.user.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        password = components.password ?? environment["PGPASSWORD"]
        self.database = database
    }

    /// The configuration PostgresNIO connects with (no TLS: a shared library is reached on a trusted network or
    /// a socket; TLS is not offered yet).
    public var configuration: PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        case .socket(let path):
            configuration = .init(unixSocketPath: path, username: user, password: password, database: database)
        }
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// `text` with the password of its user part replaced by `***`.
    public static func redacted(_ text: String) -> String {
        guard let at = text.firstIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at else { return text }
        let userInfo = text[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return text[..<text.index(after: colon)] + "***" + text[at...]
    }
}
