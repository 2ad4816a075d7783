/// Errors a user can act on, each naming the file or library and the cause.
public enum CatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be read or examined.
    case file(String, String)
    /// The library was built with another model; its vectors cannot be mixed with this one's.
    case modelMismatch(library: String, stored: String, requested: String)
    /// Another process holds the library's write lock.
    case locked(library: String)
    /// The library has nothing in it, or does not exist yet.
    case emptyLibrary(String)
    /// The library's stored data is not what this version writes.
    case incompatible(library: String, reason: String)
    /// Anything else, already described.
    case other(String)

    public var description: String {
        switch self {
        case .file(let path, let cause): "\(path): \(cause)"
        case .modelMismatch(let library, let stored, let requested):
            "\(library): the library was built with model \(stored), not \(requested); "
                + "run `vjsearch reindex --model DIR` to re-embed it with the new model, or pass the old model with --model"
        case .locked(let library):
            "\(library): another `vjsearch` is writing to this library; wait for it, or pass --wait"
        case .emptyLibrary(let library): "\(library): the library is empty; index videos with `vjsearch index PATH…`"
        case .incompatible(let library, let reason): "\(library): \(reason)"
        case .other(let message): message
        }
    }
}
