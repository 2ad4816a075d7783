/// Errors a user can act on, each naming the file or library and the cause.
public enum CatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be read or examined.
    case file(String, String)

    public var description: String {
        switch self {
        case .file(let path, let cause): "\(path): \(cause)"
        }
    }
}
