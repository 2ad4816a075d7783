import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A local stand-in for the Hugging Face hub over a folder of repositories (`ROOT/OWNER/NAME/FILE`), with the
/// hub's URL scheme and headers, so that `vjsearch model install --hub http://127.0.0.1:PORT` runs its real
/// download code without the internet:
///
/// - `HEAD|GET /OWNER/NAME/resolve/REVISION/FILE`: for a file kept in LFS, a 302 to `/lfs/SHA256` with
///   `X-Linked-Etag` (the sha256), `X-Linked-Size` and `X-Repo-Commit`; for another file, the bytes with its git
///   blob id as `ETag`.
/// - `GET /lfs/SHA256`: the bytes, with `Range` requests answered by 206.
/// - A gated repository answers 401 without `Authorization: Bearer TOKEN` and 403 with another token.
///
/// `faults` breaks transfers on purpose for the tests: a connection dropped after N bytes, a flipped byte, a
/// transfer that stalls until released.
public final class HubMirror: Sendable {
    public let root: URL
    let repositories: [String: MirrorRepository]
    /// Repository → the token it wants.
    let gated: [String: String]
    public let faults = Faults()

    public init(root: URL, gated: [String: String] = [:]) throws {
        self.root = root
        self.gated = gated
        var repositories: [String: MirrorRepository] = [:]
        for owner in try FileManager.default.contentsOfDirectory(atPath: root.path) where !owner.hasPrefix(".") {
            let ownerURL = root.appendingPathComponent(owner)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: ownerURL.path) else { continue }
            for name in names where !name.hasPrefix(".") {
                let repo = "\(owner)/\(name)"
                repositories[repo] = try MirrorRepository(name: repo, folder: ownerURL.appendingPathComponent(name))
            }
        }
        self.repositories = repositories
    }

    public var repositoryNames: [String] { repositories.keys.sorted() }

    /// Serves on 127.0.0.1:`port` (0: any free port) until the task is cancelled; `onRunning` gets the port.
    public func run(port: Int, onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        router.on("**", method: .head) { request, _ in try await self.respond(request) }
        router.on("**", method: .get) { request, _ in try await self.respond(request) }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "hub-mirror"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) })
        try await app.run()
    }

    func respond(_ request: Request) async throws -> Response {
        let path = request.uri.path
        faults.log(request.method == .head ? "HEAD" : "GET", path, request.headers[.range])
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        if parts.count == 2, parts[0] == "lfs" {
            guard let (repo, file) = lfsFile(sha256: parts[1]) else { return error(.notFound, "EntryNotFound", "no such object") }
            return try body(request, repo: repo, file: file, name: file.url.lastPathComponent)
        }
        guard parts.count >= 5, parts[2] == "resolve" else { return error(.notFound, nil, "not a hub URL: \(path)") }
        let name = "\(parts[0])/\(parts[1])"
        guard let repo = repositories[name] else { return error(.unauthorized, "RepoNotFound", "Repository Not Found for url: \(path)") }
        if let token = gated[name] {
            let auth = request.headers[.authorization]
            if auth == nil { return error(.unauthorized, "GatedRepo", "Access to model \(name) is restricted. You must be authenticated to access it.") }
            if auth != "Bearer \(token)" { return error(.forbidden, "GatedRepo", "Access to model \(name) is restricted and you are not in the authorized list.") }
        }
        guard parts[3] == "main" || parts[3] == repo.commit else { return error(.notFound, "RevisionNotFound", "Invalid rev id: \(parts[3])") }
        let filePath = parts[4...].joined(separator: "/")
        guard let file = repo.files[filePath] else { return error(.notFound, "EntryNotFound", "\(filePath) does not exist") }
        var headers = HTTPFields()
        headers[.init("X-Repo-Commit")!] = repo.commit
        if file.isLFS {
            let host = request.head.authority ?? "127.0.0.1"
            headers[.location] = "http://\(host)/lfs/\(file.sha256)"
            headers[.init("X-Linked-Etag")!] = "\"\(file.sha256)\""
            headers[.init("X-Linked-Size")!] = "\(file.size)"
            headers[.eTag] = "\"\(file.sha256)\""
            return Response(status: .found, headers: headers)
        }
        headers[.eTag] = "\"\(file.gitSHA1)\""
        return try body(request, repo: repo, file: file, name: filePath, extra: headers)
    }

    private func lfsFile(sha256: String) -> (MirrorRepository, MirrorRepository.File)? {
        for repo in repositories.values {
            if let file = repo.files.values.first(where: { $0.sha256 == sha256 && $0.isLFS }) { return (repo, file) }
        }
        return nil
    }

    /// The file's bytes (all, or the requested range), through the faults.
    private func body(_ request: Request, repo: MirrorRepository, file: MirrorRepository.File, name: String,
                      extra: HTTPFields = HTTPFields()) throws -> Response {
        var headers = extra
        headers[.acceptRanges] = "bytes"
        var start = 0, end = file.size - 1
        var status = HTTPResponse.Status.ok
        if let range = request.headers[.range] {
            guard let (s, e) = Self.parseRange(range, size: file.size) else {
                headers[.contentRange] = "bytes */\(file.size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            (start, end, status) = (s, e, .partialContent)
            headers[.contentRange] = "bytes \(s)-\(e)/\(file.size)"
        }
        let count = max(0, end - start + 1)
        headers[.contentLength] = "\(count)"
        guard request.method == .get else { return Response(status: status, headers: headers) }
        var content = [UInt8](try Data(contentsOf: file.url)[start..<(start + count)])
        let fault = faults.take(name)
        if fault.corrupt, !content.isEmpty { content[content.count / 2] ^= 0x01 }
        let bytes = content
        let faults = self.faults
        return Response(status: status, headers: headers, body: ResponseBody { writer in
            var sent = 0
            let chunk = 4096
            while sent < bytes.count {
                if let limit = fault.dropAfter, sent >= limit {
                    throw MirrorFault.dropped  // the connection closes with the body short of its Content-Length
                }
                if let limit = fault.stallAfter, sent >= limit {
                    await faults.stall(name)
                    throw MirrorFault.dropped
                }
                var next = min(bytes.count, sent + chunk)
                if let limit = fault.dropAfter ?? fault.stallAfter, sent < limit { next = min(next, limit) }
                try await writer.write(ByteBuffer(bytes: bytes[sent..<next]))
                sent = next
            }
            try await writer.finish(nil)
        })
    }

    /// `bytes=N-` or `bytes=N-M` within `size`.
    static func parseRange(_ value: String, size: Int) -> (Int, Int)? {
        guard value.hasPrefix("bytes="), !value.contains(",") else { return nil }
        let spec = value.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
        guard spec.count == 2, let start = Int(spec[0]), start >= 0, start < size else { return nil }
        let end = spec[1].isEmpty ? size - 1 : Int(spec[1]).map { min($0, size - 1) }
        guard let end, end >= start else { return nil }
        return (start, end)
    }

    private func error(_ status: HTTPResponse.Status, _ code: String?, _ message: String) -> Response {
        var headers = HTTPFields()
        if let code { headers[.init("X-Error-Code")!] = code }
        headers[.init("X-Error-Message")!] = message
        headers[.contentType] = "application/json"
        let body = "{\"error\":\"\(message)\"}"
        headers[.contentLength] = "\(body.utf8.count)"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

enum MirrorFault: Error { case dropped }

/// Breakage the tests ask for, one transfer at a time, and the log of requests the mirror saw.
public final class Faults: Sendable {
    public struct Request: Sendable, Equatable {
        public let method: String
        public let path: String
        public let range: String?
    }

    struct Plan: Sendable {
        var dropAfter: Int?
        var stallAfter: Int?
        var corrupt = false
    }

    private struct State {
        var once: [String: Plan] = [:]
        var corruptAlways: Set<String> = []
        var log: [Request] = []
        var stalled: [String: [CheckedContinuation<Void, Never>]] = [:]
        var stallWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The next transfer of `file` (its path in the repository) ends after `bytes` bytes: the connection closes.
    public func dropConnection(_ file: String, after bytes: Int) { state.withLock { $0.once[file, default: Plan()].dropAfter = bytes } }

    /// Every transfer of `file` has one byte flipped until `repair`.
    public func corrupt(_ file: String) { state.withLock { _ = $0.corruptAlways.insert(file) } }
    public func repair(_ file: String) { state.withLock { _ = $0.corruptAlways.remove(file) } }

    /// The next transfer of `file` stops after `bytes` bytes and waits until `releaseStalls` (then drops).
    public func stall(_ file: String, after bytes: Int) { state.withLock { $0.once[file, default: Plan()].stallAfter = bytes } }

    /// Returns once some transfer is stalled.
    public func waitForStall() async {
        await withCheckedContinuation { c in
            let ready = state.withLock { s -> Bool in
                if !s.stalled.isEmpty { return true }
                s.stallWaiters.append(c)
                return false
            }
            if ready { c.resume() }
        }
    }

    public func releaseStalls() {
        let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s.stalled = [:] }
            return s.stalled.values.flatMap { $0 }
        }
        waiting.forEach { $0.resume() }
    }

    /// Every request so far.
    public var requests: [Request] { state.withLock { $0.log } }

    func log(_ method: String, _ path: String, _ range: String?) {
        state.withLock { $0.log.append(Request(method: method, path: path, range: range)) }
    }

    func take(_ file: String) -> Plan {
        state.withLock { s in
            var plan = s.once.removeValue(forKey: file) ?? Plan()
            plan.corrupt = plan.corrupt || s.corruptAlways.contains(file)
            return plan
        }
    }

    func stall(_ file: String) async {
        await withCheckedContinuation { c in
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.stalled[file, default: []].append(c)
                defer { s.stallWaiters = [] }
                return s.stallWaiters
            }
            waiters.forEach { $0.resume() }
        }
    }
}
