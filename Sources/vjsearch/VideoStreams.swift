import ArgumentParser
import Catalog
import Foundation
import JEPA
import Media
import Neural

/// `--labels a,b,c` or `--labels-file F`, shared by `chapters` and `classify`.
struct LabelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Label texts, separated by commas (texts with commas: --labels-file).", valueName: "a,b,c"))
    var labels: String?

    @Option(help: ArgumentHelp("Label texts, one per line.", valueName: "file"))
    var labelsFile: String?

    /// Whether either option was given.
    var given: Bool { labels != nil || labelsFile != nil }

    /// `--labels` split at commas, trimmed, blanks and repeats dropped (as `--labels-file` reads its lines).
    var labelTexts: [String]? {
        labels.map { list in
            var seen = Set<String>()
            return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && seen.insert($0).inserted }
        }
    }

    func validate() throws {
        if labels != nil && labelsFile != nil {
            throw ValidationError("--labels and --labels-file exclude each other; give one")
        }
        if labelTexts?.isEmpty == true {
            throw ValidationError("--labels is empty; give texts separated by commas, e.g. --labels \"a red star falls,a blue ring moves to the left\"")
        }
    }

    /// The texts given: `--labels`, or the lines of `--labels-file`; nil when neither option was. A file that
    /// cannot be read or holds no text is a usage error, reported here.
    func texts() throws -> [String]? {
        guard let labelsFile else { return labelTexts }
        let texts: [String]
        do {
            texts = try ModelBundle.texts(at: URL(fileURLWithPath: labelsFile))
        } catch {
            Diagnostics.error("\(error)")
            throw ExitCode.validationFailure
        }
        if texts.isEmpty {
            Diagnostics.error("\(labelsFile): holds no label texts; write one per line, e.g. \"a red star falls\"")
            throw ExitCode.validationFailure
        }
        return texts
    }
}

/// Where `chapters` and `classify` get a video's clip vectors and the embeddings of their labels. The clip vectors
/// are the library's stored ones when it holds the file (made by the model asked for), so nothing is decoded;
/// otherwise the file is decoded and embedded now, with progress on a terminal. A model loaded for that embeds the
/// labels too, and serves the next file.
///
/// Blocking (LMDB, FFmpeg, BLAS): use it on a thread of its own (`onThread`).
final class VideoStreams {
    /// `--model` or `$VJSEARCH_MODEL`.
    let requested: String?
    let libraryPath: String
    let library: Library?
    let catalog = ModelCatalog()
    /// The whole model, once a file had to be decoded.
    private var embedder: Embedder?
    private var labelSets: [URL: LabelSet] = [:]

    init(library: String, model: String?) throws {
        libraryPath = library
        requested = model
        self.library = try Self.openLibrary(library)
    }

    /// The clip stream of the video file at `path` (absolute) and the bundle that made its vectors. That bundle is
    /// nil only when the stream is stored and the library's model is not installed here: then a caller that
    /// `needsModel` (to embed labels) gets `ModelCatalog.UnknownModel`, and any other a warning.
    func stream(path: String, needsModel: Bool, stages: inout StageTimer) throws -> (stream: EmbeddingStream, model: URL?) {
        if let library {
            let stored = try library.storedStream(path: path)
            stages.mark("stored vectors")
            if let stored, let requested {
                let chosen = try ModelOptions.resolve(requested, libraryModelID: nil, catalog: catalog)
                if try ModelBundle(directory: chosen).modelID == library.meta.modelID { return (stored, chosen) }
            } else if let stored {
                guard let directory = catalog.directory(forModelID: library.meta.modelID) else {
                    let why = "\(libraryPath): the library's model \(library.meta.modelID) is not installed, so no label can be embedded"
                    if needsModel { throw ModelCatalog.UnknownModel(description: why + "; pass its bundle with --model DIR") }
                    Diagnostics.warning(why + "; the chapters are unlabelled")
                    return (stored, nil)
                }
                return (stored, directory)
            }
        }
        // Not indexed (or by another model): decode and embed the file now.
        let media = try MediaFile(path: path)  // a file that is no video fails before the model loads
        let chosen = try ModelOptions.resolve(requested, libraryModelID: library?.meta.modelID, catalog: catalog)
        let full = try wholeModel(chosen)
        stages.mark("load model")
        let stream = try full.stream(file: media, progress: EmbeddingProgress.start())
        EmbeddingProgress.clear()
        stages.mark("decode and embed")
        return (stream, chosen)
    }

    /// `texts` (nil: the bundle's vocabulary.txt) embedded by the Y-encoder of the bundle in `model`, read from the
    /// label cache when it holds them; nil when there are no texts.
    func labels(_ texts: [String]?, model: URL, stages: inout StageTimer) throws -> LabelSet? {
        if let texts, let set = labelSets[model], set.texts == texts { return set }
        let bundle = try ModelBundle(directory: model)
        let vocabulary = texts == nil
        let texts = try texts ?? bundle.loadVocabulary() ?? []
        stages.mark("read labels")
        guard !texts.isEmpty else { return nil }
        let set = try LabelSet.embedding(texts, modelID: bundle.modelID, dimension: bundle.config.sharedDim, cache: Self.labelCache) {
            if vocabulary && stderrIsTerminal {
                Diagnostics.write("note: embedding the \(texts.count) texts of \(bundle.vocabularyURL.path) once; later runs read them from \(Self.labelCache.path)")
            }
            if let embedder, embedder.bundle.directory == model { return embedder }
            _ = ThreadOptions.apply(nil)
            return try Embedder(directory: model, textOnly: true, streamHalfWeights: texts.count <= 64)
        }
        stages.mark("embed \(texts.count) labels")
        labelSets[model] = set
        return set
    }

    /// The whole model in `directory`, loaded once.
    private func wholeModel(_ directory: URL) throws -> Embedder {
        if let embedder, embedder.bundle.directory == directory { return embedder }
        _ = ThreadOptions.apply(nil)
        let loaded = try Embedder(directory: directory)
        embedder = loaded
        return loaded
    }

    /// The library at `path`, or nil when there is none yet (a file that is not indexed anywhere).
    static func openLibrary(_ path: String) throws -> Library? {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else { return nil }
        do {
            return try Library(path: path, model: nil, create: false)
        } catch CatalogError.emptyLibrary {
            return nil
        }
    }

    /// Where label embeddings are cached: `$XDG_CACHE_HOME/vjsearch/labels`, else `~/.cache/vjsearch/labels`.
    static var labelCache: URL {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: homeDirectory()).appendingPathComponent(".cache")
        return base.appendingPathComponent("vjsearch/labels")
    }
}

/// How far a decode and embedding got, on a terminal's stderr (minutes for a long video); nothing otherwise.
enum EmbeddingProgress {
    /// The callback for `Embedder.stream(file:progress:)`, nil when stderr is not a terminal.
    static func start() -> ((Double) -> Void)? {
        guard stderrIsTerminal else { return nil }
        return { seconds in FileHandle.standardError.write(Data("\r\u{1B}[Kembedding \(timestamp(seconds)) of video".utf8)) }
    }

    /// Clears the progress line.
    static func clear() {
        if stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// `warning: …` when the bundle in `model` declares the tasks it was trained for and `task` is not among them.
func warnUnlessTrained(_ model: URL, for task: ModelTask, doing: String) {
    guard let bundle = try? ModelBundle(directory: model), bundle.config.declares(task) == false else { return }
    let name = bundle.config.name ?? model.lastPathComponent
    Diagnostics.warning("\(model.path): model '\(name)' was not trained \(doing) (its config.json declares tasks: \(bundle.config.tasks?.map(\.rawValue).joined(separator: ", ") ?? "")); expect poor results")
}
