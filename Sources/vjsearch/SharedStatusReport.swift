import Catalog
import Foundation
import SharedLibrary

/// `vjsearch status` on a `postgres://` library.
struct SharedStatusReport {
    var address: PostgresAddress
    var roots: [String: String]
    var json: Bool

    struct JSONForm: Encodable {
        struct Worker: Encodable {
            var name, host: String
            var pid: Int
            var item: String?
            var leaseLeftSeconds: Double?
            var silentSeconds: Double
            enum CodingKeys: String, CodingKey {
                case name, host, pid, item
                case leaseLeftSeconds = "lease_left_seconds", silentSeconds = "silent_seconds"
            }
        }
        var library: String
        var model: String?
        var dimension: Int?
        var roots: [String]
        var videos, segments: Int
        var hours: Double
        var lastChange: Int64
        var replicaChange: Int64?
        var queue: [String: Int]
        var workers: [Worker]
        var failures: [IndexReport.Failure]
        enum CodingKeys: String, CodingKey {
            case library, model, dimension, roots, videos, segments, hours, queue, workers, failures
            case lastChange = "last_change", replicaChange = "replica_change"
        }
    }

    func print() async throws {
        let status = try await SharedDatabase.with(address) { try await $0.status() }
        let replica = Replica.state(at: Replica.folder(address: address, roots: roots))
        let replicaSeq = replica?.library == status.libraryID ? replica?.seq : nil
        if json {
            Swift.print(JSONLines.encode(JSONForm(
                library: address.description, model: status.model?.id, dimension: status.model?.dimension, roots: status.roots,
                videos: status.videos, segments: status.segments, hours: status.seconds / 3600, lastChange: status.lastChange,
                replicaChange: replicaSeq,
                queue: ["queued": status.queued, "claimed": status.claimed, "done": status.done, "failed": status.failed],
                workers: status.workers.map { .init(name: $0.name, host: $0.host, pid: $0.pid, item: $0.item, leaseLeftSeconds: $0.leaseLeft, silentSeconds: $0.silentFor) },
                failures: status.failures.map { .init(path: $0.path, cause: $0.cause) })))
            return
        }
        let model = status.model.map { m in "\(m.name ?? m.id) (\(m.id), \(m.dimension) dimensions)" } ?? "none yet (nothing indexed)"
        let lag = replicaSeq.map { $0 >= status.lastChange ? "up to date (change \($0))" : "\(status.lastChange - $0) changes behind (at \($0) of \(status.lastChange)); the next query catches up" }
            ?? "none on this host yet (the first query builds it)"
        Swift.print("""
            library    \(address.description)
            model      \(model)
            roots      \(status.roots.isEmpty ? "none yet" : status.roots.joined(separator: ", "))
            videos     \(status.videos) (\(String(format: "%.2f", status.seconds / 3600)) hours)
            segments   \(status.segments)
            changes    \(status.lastChange)
            replica    \(lag)
            queue      \(status.queued) queued, \(status.claimed) claimed, \(status.done) done, \(status.failed) failed
            workers    \(status.workers.count)
            """)
        for w in status.workers {
            let holding = w.item.map { item in
                "holds \(item)" + (w.leaseLeft.map { $0 >= 0 ? String(format: ", lease %.0f s left", $0) : String(format: ", lease ran out %.0f s ago", -$0) } ?? "")
            } ?? "idle"
            Swift.print("  " + "\(w.name): \(holding); last heartbeat \(String(format: "%.0f", w.silentFor)) s ago".escapingControlCharacters)
        }
        if !status.failures.isEmpty { Swift.print("failures   \(status.failed)") }
        for f in status.failures { Swift.print("  " + "\(f.path): \(f.cause)".escapingControlCharacters) }
    }
}
