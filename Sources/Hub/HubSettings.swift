import Foundation

/// Where the hub is, who the user is on it, and where its files are kept, as `huggingface_hub` decides them, so
/// that vjsearch and the Hugging Face tools share one cache and one login.
public struct HubSettings: Sendable {
    /// `--hub URL`, else `$HF_ENDPOINT`, else https://huggingface.co.
    public var endpoint: URL
    /// `$HF_TOKEN`, else the file `huggingface-cli login` writes (`$HF_TOKEN_PATH`, default `$HF_HOME/token`).
    public var token: String?
    /// The hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub` (default `~/.cache/huggingface/hub`).
    public var cache: URL

    public static let defaultEndpoint = "https://huggingface.co"

    public init(endpoint: URL, token: String?, cache: URL) {
        self.endpoint = endpoint
        self.token = token
        self.cache = cache
    }

    /// The settings from `hub` (the option) and the environment; a malformed URL is an error naming its source.
    public static func resolve(hub: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HubSettings {
        func nonEmpty(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        let (text, origin) = hub.map { ($0, "--hub") } ?? nonEmpty("HF_ENDPOINT").map { ($0, "HF_ENDPOINT") } ?? (defaultEndpoint, "")
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host?.isEmpty == false else {
            throw RecipeError(path: "", reason: "\(origin) \(text): not an http:// or https:// URL")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let cacheHome = nonEmpty("XDG_CACHE_HOME") ?? home + "/.cache"
        let hfHome = nonEmpty("HF_HOME") ?? cacheHome + "/huggingface"
        let cache = nonEmpty("HF_HUB_CACHE") ?? nonEmpty("HUGGINGFACE_HUB_CACHE") ?? hfHome + "/hub"
        var token = nonEmpty("HF_TOKEN")
        if token == nil {
            let path = nonEmpty("HF_TOKEN_PATH") ?? hfHome + "/token"
            token = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if token?.isEmpty == true { token = nil }
        }
        return HubSettings(endpoint: url, token: token, cache: URL(fileURLWithPath: cache))
    }

    /// The URL of `file` in `repo` at `revision`: `{endpoint}/{repo}/resolve/{revision}/{file}`.
    public func resolveURL(repo: String, revision: String, file: String) -> URL {
        let escaped = file.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? String($0) }
        let rev = revision.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? revision
        return URL(string: endpoint.absoluteString + "/\(repo)/resolve/\(rev)/" + escaped.joined(separator: "/"))!
    }

    /// The page whose licence a gated repository asks users to accept.
    public func page(of repo: String) -> String { endpoint.absoluteString + "/" + repo }
}
