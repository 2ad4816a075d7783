import Foundation

/// Hosts for multi-machine tests: network namespaces joined by veth pairs, a database host and `workers` worker
/// hosts, each worker on its own link to the database host (10.77.i.2 ↔ 10.77.i.1). Their traffic never leaves
/// the addresses made here. The files stay shared (only the network is per host). The namespaces are deleted when
/// the value goes away. Making them needs CAP_NET_ADMIN: `make` throws, with the reason, without it.
public final class NetworkHosts: @unchecked Sendable {
    public let database: String
    public let workers: [String]
    /// The database host's address as worker i sees it.
    public func databaseAddress(forWorker i: Int) -> String { "10.77.\(i + 1).1" }
    /// Every database-side address, for the server's `listen_addresses`.
    public var databaseAddresses: [String] { workers.indices.map(databaseAddress(forWorker:)) }
    public static let network = "10.77.0.0/16"

    static let ip = "/usr/sbin/ip"

    /// The command prefix that runs a program in namespace `name`.
    public static func exec(in name: String) -> [String] { [ip, "netns", "exec", name] }

    public init(workers count: Int) throws {
        let tag = "vj\(getpid() % 100_000)\(UInt8.random(in: 0...255))"
        database = tag + "db"
        workers = (0..<count).map { tag + "w\($0)" }
        var made: [String] = []
        do {
            for name in [database] + workers {
                try Tool.run(Self.ip, ["netns", "add", name])
                made.append(name)
                try Tool.run(Self.ip, ["-n", name, "link", "set", "lo", "up"])
            }
            for (i, worker) in workers.enumerated() {
                let link = "to\(i)"
                try Tool.run(Self.ip, ["-n", database, "link", "add", link, "type", "veth", "peer", "name", "db", "netns", worker])
                try Tool.run(Self.ip, ["-n", database, "addr", "add", "10.77.\(i + 1).1/24", "dev", link])
                try Tool.run(Self.ip, ["-n", database, "link", "set", link, "up"])
                try Tool.run(Self.ip, ["-n", worker, "addr", "add", "10.77.\(i + 1).2/24", "dev", "db"])
                try Tool.run(Self.ip, ["-n", worker, "link", "set", "db", "up"])
            }
        } catch {
            for name in made { try? Tool.run(Self.ip, ["netns", "del", name]) }
            throw error
        }
    }

    deinit {
        for name in [database] + workers { try? Tool.run(Self.ip, ["netns", "del", name]) }
    }
}
