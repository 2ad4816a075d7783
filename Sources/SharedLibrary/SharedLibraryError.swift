/// Why a shared (PostgreSQL) library cannot be used; each message names the library's address.
public enum SharedLibraryError: Error, Equatable, CustomStringConvertible {
    /// The text is not a usable `postgres://` URL (a usage error).
    case invalidAddress(String, reason: String)
    /// The server cannot be reached, refused the login, or has no such database (sysexits' EX_UNAVAILABLE, 69).
    case unavailable(String, reason: String)
    /// The database holds a schema from a newer vjsearch.
    case newerSchema(String, found: Int, supported: Int)
    /// The server answered a statement with an error.
    case server(String, reason: String)

    public var description: String {
        switch self {
        case .invalidAddress(let address, let reason): return "\(address): \(reason)"
        case .unavailable(let address, let reason): return "\(address): \(reason)"
        case .newerSchema(let address, let found, let supported):
            return "\(address): the library's schema is version \(found), from a newer vjsearch; this one reads versions up to \(supported)"
        case .server(let address, let reason): return "\(address): \(reason)"
        }
    }
}
