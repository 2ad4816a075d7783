import Foundation

/// Why a download from the hub failed; each names the repository or the file and says what to do.
public enum HubError: Error, CustomStringConvertible, Sendable {
    /// 401 or 403 on a gated repository: the licence is not accepted, or no token was given.
    case gated(repo: String, page: String, hadToken: Bool, licence: String?)
    /// 404: no such repository, revision or file.
    case notFound(repo: String, file: String, revision: String)
    /// Any other status the hub answered with.
    case status(url: String, code: UInt, body: String)
    /// The hub could not be reached (after retries), and the cache does not hold the files.
    case unreachable(url: String, cause: String)
    /// The bytes received do not hash to what the hub promised; nothing was kept.
    case checksum(file: String, expected: ExpectedDigest, got: String)
    /// The file's size differs from what the hub announced.
    case size(file: String, expected: Int64, got: Int64)
    /// Not enough free space for the download and the bundle, checked before anything is downloaded.
    case diskSpace(path: String, needed: Int64, free: Int64)

    public var description: String {
        switch self {
        case .gated(let repo, let page, let hadToken, let licence):
            let what = licence.map { "its licence (\($0))" } ?? "its licence"
            return hadToken
                ? "\(repo) is gated and your token has no access to it: accept \(what) at \(page) with the account the token belongs to, then run this again"
                : "\(repo) is gated: accept \(what) at \(page), then give a token (set HF_TOKEN, or run `huggingface-cli login`) and run this again"
        case .notFound(let repo, let file, let revision):
            return "\(repo): no file '\(file)' at revision '\(revision)' (or no such repository)"
        case .status(let url, let code, let body):
            return "\(url): the hub answered HTTP \(code)" + (body.isEmpty ? "" : " (\(body))")
        case .unreachable(let url, let cause):
            return "\(url): the hub cannot be reached (\(cause)); check the network, or --hub / HF_ENDPOINT"
        case .checksum(let file, let expected, let got):
            return "\(file): the download does not match the hub's \(expected) (got \(got)); it was deleted, run this again to download it anew"
        case .size(let file, let expected, let got):
            return "\(file): \(got) bytes received, the hub announced \(expected); it was deleted, run this again"
        case .diskSpace(let path, let needed, let free):
            return "\(path): not enough free space: \(Self.gigabytes(needed)) needed, \(Self.gigabytes(free)) free"
        }
    }

    static func gigabytes(_ bytes: Int64) -> String {
        bytes >= 100_000_000 ? String(format: "%.1f GB", Double(bytes) / 1e9) : String(format: "%.1f MB", Double(bytes) / 1e6)
    }
}
