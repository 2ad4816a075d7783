import ArgumentParser
import Catalog
import Foundation
import JEPA
import Media
import Neural

/// `vjsearch chapters FILE`: a video cut into chapters of like clips, each labelled with its nearest text.
struct ChaptersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chapters",
        abstract: "Cut a video into chapters of like clips, and label them.",
        discussion: """
            The video's clip vectors (read from the library when the file is indexed there, otherwise \
            decoded and embedded now) are clustered in time order by Ward's method, merging only \
            neighbouring stretches, the selective-decoding segmentation of VL-JEPA (arXiv 2512.10942 §4.6). \
            Each chapter is labelled with the text nearest (cosine) to the average of its clip vectors: \
            one of --labels or --labels-file, else of the model's vocabulary.txt when its bundle has one, \
            else none.

            With --auto (the default) the number of chapters is the knee of the merge costs: with k \
            chapters, W(k) is the squared distance of the clip vectors to their chapter means; k is the \
            point of the curve W(k)/W(1) against (k-1)/(clips-1) farthest below the straight line from \
            k = 1 to k = clips, where more chapters stop explaining much.

            Prints `  start–end  label  (score s)` per chapter (times as h:mm:ss.s), or with --json one \
            {"start", "end", "label", "score"} object per line (seconds; label and score null without \
            labels). A chapter ends where the next begins, midway between the centres of the clip windows \
            on either side.

            Examples:
              vjsearch chapters Samples/synth/samples_000000.mp4
              vjsearch chapters talk.mp4 --count 12 --json
              vjsearch chapters reel.mp4 --labels "a red star falls,a blue ring moves to the left"
              vjsearch chapters reel.mp4 --labels-file captions.txt --library ~/videos/.vjsearch

            """ + ExitStatus.discussion)

    @Argument(help: "The video file.")
    var file: String

    @Option(help: "Cut exactly this many chapters (at most one per clip), 1-100000.")
    var count: Int?

    @Flag(help: "Choose the number of chapters from the merge costs (the default).")
    var auto = false

    @Option(help: ArgumentHelp("Label texts, separated by commas (texts with commas: --labels-file).", valueName: "a,b,c"))
    var labels: String?

    @Option(help: ArgumentHelp("Label texts, one per line.", valueName: "file"))
    var labelsFile: String?

    @OptionGroup var library: LibraryOptions
    @OptionGroup var model: ModelOptions

    @Flag(help: "One JSON object per chapter and line.")
    var json = false

    static let countRange = 1...100_000

    /// `--labels` split at commas, trimmed, blanks dropped.
    var labelTexts: [String]? {
        labels.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    func validate() throws {
        try OptionCheck.count(count, "--count", in: Self.countRange)
        if count != nil && auto {
            throw ValidationError("--count and --auto exclude each other; give one, e.g. --count 8")
        }
        if labels != nil && labelsFile != nil {
            throw ValidationError("--labels and --labels-file exclude each other; give one")
        }
        if labelTexts?.isEmpty == true {
            throw ValidationError("--labels is empty; give texts separated by commas, e.g. --labels \"a red star falls,a blue ring moves to the left\"")
        }
    }

    private struct Line: Encodable {
        var start: Double, end: Double, label: String?, score: Float?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(start, forKey: .start)
            try c.encode(end, forKey: .end)
            try c.encode(label, forKey: .label)  // null, not absent, without labels
            try c.encode(score, forKey: .score)
        }

        enum CodingKeys: String, CodingKey { case start, end, label, score }
    }

    func run() async throws {
        var texts = labelTexts
        if let labelsFile {
            do {
                texts = try ModelBundle.texts(at: URL(fileURLWithPath: labelsFile))
            } catch {
                Diagnostics.error("\(error)")
                throw ExitCode.validationFailure
            }
            if texts?.isEmpty == true {
                Diagnostics.error("\(labelsFile): holds no label texts; write one per line, e.g. \"a red star falls\"")
                throw ExitCode.validationFailure
            }
        }
        let path = LibraryOptions.absolute(file)
        let request = Request(path: path, library: library.path, model: model.requested, count: count, labels: texts)
        let chapters: [Chapter]
        do {
            chapters = try await onThread { try request.chapters() }
        } catch {
            throw reportFailure(error)
        }
        for c in chapters {
            if json {
                print(JSONLines.encode(Line(start: c.start, end: c.end, label: c.label, score: c.score)))
            } else {
                var line = "  \(timestamp(c.start))–\(timestamp(c.end))"
                if let label = c.label, let score = c.score {
                    line += "  \(label.escapingControlCharacters)  " + String(format: "(score %.2f)", score)
                }
                print(line)
            }
        }
    }

    /// What one run does, off the cooperative pool.
    struct Request: Sendable {
        var path: String
        var library: String
        /// `--model` or `$VJSEARCH_MODEL`.
        var model: String?
        var count: Int?
        /// `--labels` or `--labels-file`; nil for the bundle's vocabulary.
        var labels: [String]?

        func chapters() throws -> [Chapter] {
            var stages = StageTimer()
            let catalog = ModelCatalog()
            // The stored stream, when the library holds this file and was made by the model asked for.
            var stream: EmbeddingStream?
            var directory: URL?
            var libraryModelID: String?
            if let lib = try Self.openLibrary(library) {
                libraryModelID = lib.meta.modelID
                if let stored = try lib.storedStream(path: path) {
                    if let model {
                        let chosen = try ModelOptions.resolve(model, libraryModelID: nil, catalog: catalog)
                        if try ModelBundle(directory: chosen).modelID == lib.meta.modelID { stream = stored }
                        directory = chosen
                    } else {
                        stream = stored
                        directory = catalog.directory(forModelID: lib.meta.modelID)
                        if directory == nil {
                            let why = "\(library): the library's model \(lib.meta.modelID) is not installed, so no label can be embedded"
                            if labels != nil { throw ModelCatalog.UnknownModel(description: why + "; pass its bundle with --model DIR") }
                            Diagnostics.warning(why + "; the chapters are unlabelled")
                        }
                    }
                }
                stages.mark("stored vectors")
            }
            var embedder: Embedder?
            if stream == nil {
                // Not indexed (or by another model): decode and embed the file now.
                let media = try MediaFile(path: path)  // a file that is no video fails before the model loads
                let chosen = try directory ?? ModelOptions.resolve(model, libraryModelID: libraryModelID, catalog: catalog)
                directory = chosen
                _ = ThreadOptions.apply(nil)
                let full = try Embedder(directory: chosen)
                embedder = full
                stages.mark("load model")
                // Minutes for a long video: a terminal sees how far it got.
                stream = try full.stream(file: media, progress: stderrIsTerminal ? { seconds in
                    FileHandle.standardError.write(Data("\r\u{1B}[Kembedding \(timestamp(seconds)) of video".utf8))
                } : nil)
                if stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                stages.mark("decode and embed")
            }
            guard let stream else { return [] }
            var labelSet: LabelSet?
            if let directory {
                let bundle = try ModelBundle(directory: directory)
                let texts = try labels ?? bundle.loadVocabulary() ?? []
                stages.mark("read labels")
                if !texts.isEmpty {
                    labelSet = try LabelSet.embedding(texts, modelID: bundle.modelID, dimension: bundle.config.sharedDim,
                                                      cache: Self.labelCache) {
                        if labels == nil && stderrIsTerminal {
                            Diagnostics.write("note: embedding the \(texts.count) texts of \(bundle.vocabularyURL.path) once; later runs read them from \(Self.labelCache.path)")
                        }
                        if let embedder { return embedder }
                        _ = ThreadOptions.apply(nil)
                        return try Embedder(directory: directory, textOnly: true, streamHalfWeights: texts.count <= 64)
                    }
                    stages.mark("embed \(texts.count) labels")
                }
            }
            let runs = stream.runs(count: count)
            stages.mark("cluster")
            let chapters = stream.chapters(runs, labels: labelSet)
            stages.mark("label")
            stages.report()
            return chapters
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
                ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache")
            return base.appendingPathComponent("vjsearch/labels")
        }
    }
}
