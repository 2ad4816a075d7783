import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A file on the hub as a HEAD on its resolve URL describes it, before any byte is downloaded.
public struct RemoteFile: Sendable, Equatable {
    public var repo: String
    public var file: String
    /// The commit the revision resolved to (`X-Repo-Commit`).
    public var commit: String
    /// The blob's name in the cache: the LFS sha256 (`X-Linked-Etag`) or the git blob id (`ETag`).
    public var etag: String
    public var size: Int64
    /// Where the bytes are: the LFS redirect's target, or the resolve URL itself.
    public var download: URL
}

/// HTTP against the hub with AsyncHTTPClient: metadata by HEAD without following redirects (the LFS hash and size
/// are on the redirect), and ranged GETs that append to a partial file.
public final class HubClient: Sendable {
    public let settings: HubSettings
    let http: HTTPClient

    public init(settings: HubSettings) {
        self.settings = settings
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(20), read: .seconds(60))
        // Our own retries (Downloader) resume and back off; the pool's would hold each request for the whole
        // connect timeout when the hub refuses connections.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async throws { try await http.shutdown() }

    /// The commit, etag, size and download URL of `file`; follows the hub's own (non-LFS) redirects, e.g. of a
    /// renamed repository, at most 5.
    public func metadata(repo: String, revision: String, file: String, licence: String? = nil) async throws -> RemoteFile {
        var url = settings.resolveURL(repo: repo, revision: revision, file: file)
        for _ in 0..<6 {
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .HEAD
            addHeaders(&request, for: url)
            let response = try await http.execute(request, timeout: .seconds(60))
            _ = try? await response.body.collect(upTo: 1 << 16)
            let headers = response.headers
            let commit = headers.first(name: "X-Repo-Commit")
            let etag = (headers.first(name: "X-Linked-Etag") ?? headers.first(name: "ETag")).map(Self.normalise)
            let size = (headers.first(name: "X-Linked-Size") ?? headers.first(name: "Content-Length")).flatMap { Int64($0) }
            switch response.status.code {
            case 200..<300:
                guard let commit, let etag, let size else { throw HubError.status(url: url.absoluteString, code: 200, body: "no X-Repo-Commit, ETag or size") }
                return RemoteFile(repo: repo, file: file, commit: commit, etag: etag, size: size, download: url)
            case 300..<400:
                guard let location = headers.first(name: "Location"), let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    throw HubError.status(url: url.absoluteString, code: response.status.code, body: "a redirect without Location")
                }
                if let commit, let etag, let size {
                    return RemoteFile(repo: repo, file: file, commit: commit, etag: etag, size: size, download: next)
                }
                url = next
            case 401, 403:
                if headers.first(name: "X-Error-Code") == "RepoNotFound" {
                    throw HubError.notFound(repo: repo, file: file, revision: revision)
                }
                throw HubError.gated(repo: repo, page: settings.page(of: repo), hadToken: settings.token != nil, licence: licence)
            case 404:
                throw HubError.notFound(repo: repo, file: file, revision: revision)
            default:
                throw Transient.status(url: url.absoluteString, code: response.status.code)
            }
        }
        throw HubError.status(url: url.absoluteString, code: 310, body: "too many redirects")
    }

    /// GETs `remote.download` from byte `offset` and hands each chunk to `write`; returns whether the server sent
    /// the range (206) or the whole file again (200), before the first chunk.
    public func fetch(_ remote: RemoteFile, from offset: Int64, restarted: (Bool) throws -> Void,
                      write: (UnsafeRawBufferPointer) throws -> Void) async throws {
        var request = HTTPClientRequest(url: remote.download.absoluteString)
        addHeaders(&request, for: remote.download)
        if offset > 0 { request.headers.add(name: "Range", value: "bytes=\(offset)-") }
        let response = try await http.execute(request, timeout: .hours(24))
        switch response.status.code {
        case 200:
            try restarted(true)
        case 206:
            let range = response.headers.first(name: "Content-Range") ?? ""
            guard range.hasPrefix("bytes \(offset)-") else {
                throw HubError.status(url: remote.download.absoluteString, code: 206, body: "Content-Range '\(range)' for a request from byte \(offset)")
            }
            try restarted(false)
        case 416:
            throw Transient.rangeNotSatisfiable
        case 401, 403:
            throw HubError.gated(repo: remote.repo, page: settings.page(of: remote.repo), hadToken: settings.token != nil, licence: nil)
        case 404:
            throw HubError.notFound(repo: remote.repo, file: remote.file, revision: remote.commit)
        default:
            throw Transient.status(url: remote.download.absoluteString, code: response.status.code)
        }
        for try await buffer in response.body {
            try buffer.withUnsafeReadableBytes { try write($0) }
        }
    }

    /// A User-Agent, and the token for the hub's own host only (as huggingface_hub does, a CDN redirect target on
    /// another host never sees it).
    private func addHeaders(_ request: inout HTTPClientRequest, for url: URL) {
        request.headers.add(name: "User-Agent", value: "vjsearch")
        if let token = settings.token, url.host == settings.endpoint.host, url.port == settings.endpoint.port {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
    }

    /// `W/"abc"` → `abc`.
    static func normalise(_ etag: String) -> String {
        var e = Substring(etag)
        if e.hasPrefix("W/") { e = e.dropFirst(2) }
        return e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// Failures worth another try: a 5xx or 429, a range the server refuses.
    enum Transient: Error, CustomStringConvertible {
        case status(url: String, code: UInt)
        case rangeNotSatisfiable

        var description: String {
            switch self {
            case .status(let url, let code): return "\(url): HTTP \(code)"
            case .rangeNotSatisfiable: return "the server refused the resume range"
            }
        }
    }
}
