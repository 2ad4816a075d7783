import SystemCall

/// Errors a user can act on, each naming the file or library and the cause.
public enum CatalogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call on a video, a library file or the lock failed.
    case system(SystemCallError)
    /// Moving a library folder into place failed.
    case rename(from: String, to: String, errno: Errno)
    /// The library was built with another model; its vectors cannot be mixed with this one's.
    case modelMismatch(library: String, stored: String, requested: String)
    /// Another process holds the library's write lock.
    case locked(library: String)
    /// The library has nothing in it, or does not exist yet.
    case emptyLibrary(String)
    /// The library's file failed the page walk (`LMDBFileCheck`) in these trees: LMDB must not open it.
    case damaged(library: String, trees: [String])
    /// The library's stored data is not what this version writes.
    case incompatible(library: String, reason: String)
    /// Asked for another vector storage than the library was made with.
    case storageMismatch(library: String, stored: String, requested: String)
    /// A model bundle without its `tokenizer.json`.
    case tokenizerMissing(path: String)
    /// The model gave a NaN or infinite vector: its weights are damaged or it cannot take this input.
    case nonFiniteVector(model: String)
    /// A video cut into more segments than a library keeps per video.
    case tooManySegments(path: String, count: Int, limit: Int)
    /// A video that decoded to no frames at all.
    case noFrames(path: String)
    /// A model that cannot take a question as the predictor's query (`why` says what it lacks).
    case cannotTakeQuestions(model: String, path: String, why: String)
    /// No clip window of the video overlaps the span asked for (the video ends before it).
    case noClipsInSpan(path: String, start: Double)
    /// The library changed while `repair` read it (nothing was replaced).
    case changedDuringRepair(library: String, read: Int, expected: Int)

    public var description: String {
        switch self {
        case .system(let error): error.description
        case .rename(let from, let to, let errno): "\(to): cannot replace with \(from): \(errno.sentence)"
        case .modelMismatch(let library, let stored, let requested):
            "\(library): the library was built with model \(stored), not \(requested); "
                + "run `vjsearch reindex --model DIR` to re-embed it with the new model, or pass the old model with --model"
        case .locked(let library):
            "\(library): another `vjsearch` is writing to this library; wait for it, or pass --wait"
        case .emptyLibrary(let library): "\(library): the library is empty; index videos with `vjsearch index PATH…`"
        case .incompatible(let library, let reason): "\(library): \(reason)"
        case .storageMismatch(let library, let stored, let requested):
            "\(library): the library keeps \(stored) vectors, chosen when it was made; `vjsearch reindex --vectors \(requested)` rebuilds it"
        case .damaged(let library, let trees):
            "\(library): the library file is damaged (in \(trees.joined(separator: ", "))) and was not opened; run `vjsearch verify`"
        case .tokenizerMissing(let path): "\(path): missing: a model bundle needs its tokenizer.json"
        case .nonFiniteVector(let model): "\(model): the model produced a non-finite vector (NaN or infinite weights?)"
        case .tooManySegments(let path, let count, let limit): "\(path): \(count) segments, more than \(limit) per video"
        case .noFrames(let path): "\(path): \(VideoFailure.noFrames)"
        case .cannotTakeQuestions(let model, let path, let why): "\(path): model '\(model)' \(why)"
        case .noClipsInSpan(let path, let start): "\(path): the video holds no frames from \(start) s on"
        case .changedDuringRepair(let library, let read, let expected):
            "\(library): the library changed during the repair (\(read) of \(expected) vectors read); run it again"
        }
    }
}
