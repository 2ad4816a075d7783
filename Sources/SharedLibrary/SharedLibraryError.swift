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
    /// The library was made with another model (exit 65, as for a folder library).
    case modelMismatch(String, stored: String, requested: String)
    /// The library has no model yet: nothing was indexed into it.
    case empty(String)
    /// Another worker holds the work item now (this one's lease ran out): its embedding is dropped.
    case lostLease(String, path: String)

    public var description: String {
        switch self {
        case .invalidAddress(let address, let reason): return "\(address): \(reason)"
        case .unavailable(let address, let reason): return "\(address): \(reason)"
        case .newerSchema(let address, let found, let supported):
            return "\(address): the library's schema is version \(found), from a newer vjsearch; this one reads versions up to \(supported)"
        case .server(let address, let reason): return "\(address): \(reason)"
        case .modelMismatch(let address, let stored, let requested):
            return "\(address): the library holds vectors of model \(stored), not \(requested); use that model (--model) or another library"
        case .empty(let address):
            return "\(address): the library is empty; index videos into it first (vjsearch index --library \(address) FOLDER)"
        case .lostLease(let address, let path):
            return "\(address): \(path): the lease ran out and another worker took the file; this worker's copy is dropped"
        }
    }
}
