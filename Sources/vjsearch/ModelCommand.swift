import ArgumentParser
import Catalog
import Foundation
import Hub
import JEPA
import Neural

/// `vjsearch model …`: look inside a model bundle and embed with it.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "List, install, remove or inspect model bundles.",
        discussion: """
            Examples:
              vjsearch model list             # the bundles found, and those installable
              vjsearch model install open-vljepa
              vjsearch model inspect objects  # families, sizes, clip spec, domain
              vjsearch index ~/videos --model objects

            """ + ExitStatus.pointer,
        subcommands: [List.self, Install.self, Remove.self, Inspect.self, Embed.self, EmbedVideo.self, EmbedTexts.self, Stamp.self, Bench.self])

    /// Exit status for an unusable bundle or input (argument errors keep ArgumentParser's 64).
    static let failure: Int32 = 1

    static func fail(_ error: Error) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        return ExitCode(failure)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the model bundles this installation finds: name, id, domain, dimensions and size.",
            discussion: """
                Folders searched, first wins a name: $VJSEARCH_MODELS (colon-separated), \
                $XDG_DATA_HOME/vjsearch/models (default ~/.local/share/vjsearch/models), then the Models/ folder \
                next to the executable (a build tree) or share/vjsearch/models (an install). Any listed name \
                works as --model NAME.
                """)

        @Flag(help: "One JSON object per bundle and line.")
        var json = false

        func run() async throws {
            let catalog = ModelCatalog()
            let entries = catalog.entries()
            if entries.isEmpty {
                Diagnostics.error("no model bundles found in " + catalog.folders.map(\.path).joined(separator: ", "))
                throw ExitStatus.someFailed
            }
            var rows: [[String]] = []
            for entry in entries {
                let size = ModelCatalog.size(of: entry.directory)
                switch entry.bundle {
                case .success(let bundle):
                    let c = bundle.config
                    if json {
                        print(JSONLines.encode(Listed(name: entry.name, path: entry.directory.path, modelId: bundle.modelID,
                                                      domain: c.domainName, family: c.vision.family, dimensions: c.sharedDim,
                                                      bytes: size, isDefault: entry.name == ModelCatalog.defaultName, error: nil)))
                    }
                    rows.append([entry.name + (entry.name == ModelCatalog.defaultName ? " (default)" : ""), bundle.modelID,
                                 c.domainName, "\(c.sharedDim)", Self.megabytes(size), entry.directory.path])
                case .failure(let error):
                    if json {
                        print(JSONLines.encode(Listed(name: entry.name, path: entry.directory.path, modelId: nil, domain: nil,
                                                      family: nil, dimensions: nil, bytes: size, isDefault: false, error: "\(error)")))
                    }
                    rows.append([entry.name, "unreadable: \(error)", "-", "-", Self.megabytes(size), entry.directory.path])
                }
            }
            // Recipes whose bundle is not installed: what `model install` can add.
            let installed = Set(entries.map(\.name))
            let installable = RecipeBook(folders: catalog.recipeFolders).all().compactMap { entry -> (String, Recipe)? in
                guard !installed.contains(entry.name), let recipe = try? entry.recipe.get() else { return nil }
                return (entry.name, recipe)
            }
            if json {
                for (name, recipe) in installable {
                    print(JSONLines.encode(Installable(name: name, summary: recipe.summary, bytes: recipe.bundleBytes)))
                }
                return
            }
            let header = ["NAME", "ID", "DOMAIN", "DIMS", "SIZE", "PATH"]
            let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
            for row in [header] + rows {
                print(row.enumerated().map { i, cell in
                    i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                }.joined(separator: "  "))
            }
            if !installable.isEmpty {
                print("\nInstallable with `vjsearch model install NAME` (downloads from the Hugging Face hub):")
                for (name, recipe) in installable { print("  \(name)  \(recipe.summary)") }
            }
        }

        /// A recipe `model install` can build, in `--json`.
        struct Installable: Encodable {
            var name, summary: String
            var bytes: Int64
            var installable = true
        }

        static func megabytes(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

        struct Listed: Encodable {
            var name, path: String
            var modelId, domain, family: String?
            var dimensions: Int?
            var bytes: Int64
            var isDefault: Bool
            var error: String?

            enum CodingKeys: String, CodingKey {
                case name, path, domain, family, dimensions, bytes, error
                case modelId = "model_id", isDefault = "default"
            }
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the domain, families, sizes, parameter counts, the clip spec and the model id.",
            discussion: "Examples:\n  vjsearch model inspect objects\n  vjsearch model inspect Models/vljepa-mini --verify")

        @Argument(help: ArgumentHelp("A bundle name from `vjsearch model list`, or a bundle folder.", valueName: "name|dir"),
                  completion: ModelOptions.completion)
        var model: String

        @Flag(help: "Recompute the content hash and compare it with a stamped model_id.")
        var verify = false

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func run() async throws {
            do {
                let bundle = try ModelBundle(directory: ModelOptions.resolve(model, libraryModelID: nil))
                let model = try bundle.load()
                let computed = verify ? try ModelBundle.computeModelID(directory: bundle.directory, config: bundle.config) : nil
                print(json ? try Self.json(bundle, model, computed) : Self.table(bundle, model, computed))
                if let computed, computed != bundle.modelID {
                    throw BundleError(path: bundle.configURL.path, reason: "model_id \(bundle.modelID) does not match the content hash \(computed)")
                }
            } catch let error as ExitCode {
                throw error
            } catch {
                throw ModelCommand.fail(error)
            }
        }

        static func table(_ bundle: ModelBundle, _ model: any ClipModel, _ computed: String?) -> String {
            let c = bundle.config, t = c.text
            func millions(_ n: Int) -> String { String(format: "%.2fM", Double(n) / 1e6) }
            let counts = Dictionary(model.parts.map { ($0.name, $0.parameters) }, uniquingKeysWith: +)
            var lines = [
                "model id      \(bundle.modelID)" + (computed.map { $0 == bundle.modelID ? " (verified)" : " (content hash \($0))" } ?? ""),
                "name          \(c.name ?? "-")",
                "domain        \(c.domainName): \(c.domainSummary)",
                "tasks         \(c.tasks.map { $0.map(\.rawValue).joined(separator: ", ") } ?? "not declared by this bundle")",
                "shared dim    \(c.sharedDim)",
            ]
            let crop: String
            switch c.vision {
            case .vjepa2(let v):
                lines.append("x-encoder     vjepa2: hidden \(v.hiddenSize), \(v.numHiddenLayers) layers, \(v.numAttentionHeads) heads, patch \(v.tubeletSize)×\(v.patchSize)×\(v.patchSize), crop \(v.cropSize); \(millions(counts["x-encoder"] ?? 0)) parameters")
                if let p = c.predictor {
                    lines.append("predictor     \(p.family): hidden \(p.hiddenSize), \(p.numHiddenLayers) layers, \(p.numAttentionHeads)/\(p.numKeyValueHeads) heads, vocab \(p.vocabSize), pool \(p.pool.rawValue), final norm \(p.finalNorm ? "yes" : "no"); \(millions(counts["predictor"] ?? 0)) parameters")
                }
                crop = "\((model as? VLJEPA)?.vision.tokenCount(frames: c.clip.frames) ?? 0) visual tokens"
            case .efficientnet(let v):
                lines.append("x-encoder     efficientnet: image \(v.imageSize), stem \(v.stemChannels), \(v.blocks.count) MBConv blocks, head \(v.headChannels), \(v.numClasses) classes, padding \(v.padding); \(millions(counts["x-encoder"] ?? 0)) parameters")
                if let k = c.concepts {
                    lines.append("concepts      \(k.count) class-name embeddings, top \(k.topK) per clip (ConSE); \(millions(counts["concepts"] ?? 0)) parameters")
                }
                crop = "one image per frame"
            }
            lines += [
                "y-encoder     \(t.family): hidden \(t.hiddenSize), \(t.numHiddenLayers) layers, \(t.numAttentionHeads) heads, vocab \(t.vocabSize), dense \(t.dense.isEmpty ? "none" : t.dense.map { "\($0.inFeatures)→\($0.outFeatures)" }.joined(separator: ", ")), projector \(t.projector == false ? "none" : "yes"); \(millions(counts["y-encoder"] ?? 0)) parameters",
                "parameters    \(millions(model.parts.reduce(0) { $0 + $1.parameters })) in total",
                "clip          \(c.clip.frames) frames at \(c.clip.fps) fps, window \(c.clip.windowSeconds) s, stride \(c.clip.strideSeconds) s, resize \(c.clip.resize) → crop \(c.clip.size), \(crop)",
            ]
            if let prompt = c.retrievalPrompt, c.predictor != nil { lines.append("prompt        \"\(prompt)\"") }
            if !FileManager.default.fileExists(atPath: bundle.tokenizerURL.path) { lines.append("tokenizer     missing") }
            return lines.joined(separator: "\n")
        }

        static func json(_ bundle: ModelBundle, _ model: any ClipModel, _ computed: String?) throws -> String {
            var object: [String: Any] = [
                "schema": JSONSchema.version,
                "model_id": bundle.modelID,
                "domain": bundle.config.domainName,
                "tasks": bundle.config.tasks.map { $0.map(\.rawValue) as Any } ?? NSNull(),
                "config": try JSONSerialization.jsonObject(with: bundle.config.encoded()),
                // Keys snake_case like every other (the table shows the parts as "x-encoder").
                "parameters": Dictionary(model.parts.map { ($0.name.replacingOccurrences(of: "-", with: "_"), $0.parameters) },
                                         uniquingKeysWith: +),
            ]
            if let model = model as? VLJEPA { object["visual_tokens"] = model.vision.tokenCount(frames: bundle.config.clip.frames) }
            if let computed { object["content_hash"] = computed }
            return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
    }

    struct Embed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the query vector of a text as JSON (Y-encoder and head).",
            shouldDisplay: false)  // a developer tool, like embed-video, embed-texts, stamp and bench

        @Argument(help: "The bundle folder.")
        var directory: String

        @Option(help: "Token ids of the text, comma-separated (as the bundle's tokenizer produces them).")
        var ids: String?

        @Option(help: "The text, tokenized with the bundle's tokenizer.json.")
        var text: String?

        func validate() throws {
            if (ids == nil) == (text == nil) { throw ValidationError("give exactly one of --ids and --text") }
        }

        func run() async throws {
            do {
                let bundle = try ModelBundle(directory: URL(fileURLWithPath: directory))
                let tokens: [Int]
                if let text {
                    tokens = try Tokenizer.load(contentsOf: bundle.tokenizerURL)
                        .encode(text, maxLength: bundle.config.text.maxTokens)
                } else {
                    tokens = try (ids ?? "").split(separator: ",").map { part -> Int in
                        guard let id = Int(part.trimmingCharacters(in: .whitespaces)) else {
                            throw ValidationError("--ids: '\(part)' is not an integer")
                        }
                        return id
                    }
                }
                let vector = try bundle.loadTextEncoder().embed([tokens], workspace: Workspace())
                print("[" + vector.scalars.map { "\($0)" }.joined(separator: ",") + "]")
            } catch let error as ValidationError {
                throw error
            } catch {
                throw ModelCommand.fail(error)
            }
        }
    }

    struct Stamp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the bundle's content hash into config.json as model_id, and print it.",
            shouldDisplay: false)

        @Argument(help: "The bundle folder.")
        var directory: String

        func run() async throws {
            do {
                print(try ModelBundle.stamp(directory: URL(fileURLWithPath: directory)))
            } catch {
                throw ModelCommand.fail(error)
            }
        }
    }

    /// Times the X-encoder (and, for vjepa2 bundles, the Y-encoder and with `--predictor` the predictor) on
    /// synthetic input for `Tools/bench/encoder` and `Tools/bench/fullsize`; prints one JSON line. A clip has
    /// `clip.frames` frames, as indexing feeds it (not `vision.frames_per_clip`, the encoder's pretraining length).
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the encoders of a bundle on synthetic input (used by Tools/bench/encoder).",
            shouldDisplay: false)

        @Argument(help: "The bundle folder.")
        var directory: String

        @Option(help: "Clips per X-encoder call (an efficientnet bundle runs clips × clip.frames images).") var clips = 1
        @Option(help: "Queries per Y-encoder call.") var queries = 32
        @Option(help: "Tokens per query.") var queryTokens = 16
        @Option(help: "OpenBLAS threads.") var threads = 2
        @Option(help: "Timed repetitions (the best is reported).") var repeats = 3
        @Flag(help: "Also time the predictor (vis_proj, the Llama layers over [visual; retrieval prompt], pooling, out_proj) on the X-encoder's output.")
        var predictor = false
        @Option(help: "16-bit weights: stream (kept 16-bit, converted per product), convert (to Float32 at load) or auto (as indexing loads them).")
        var halfWeights = "auto"

        func validate() throws {
            guard ["auto", "stream", "convert"].contains(halfWeights) else {
                throw ValidationError("--half-weights '\(halfWeights)': use auto, stream or convert")
            }
            guard (1...1024).contains(clips), (1...4096).contains(queries), (1...4096).contains(queryTokens),
                  (1...1024).contains(threads), (1...1000).contains(repeats) else {
                throw ValidationError("--clips 1-1024, --queries 1-4096, --query-tokens 1-4096, --threads 1-1024, --repeats 1-1000")
            }
        }

        func run() async throws {
            Neural.setThreads(threads)
            let bundle = try ModelBundle(directory: URL(fileURLWithPath: directory))
            if case .efficientnet(let config) = bundle.config.vision {
                do { return try benchEfficientNet(bundle, config) } catch { throw ModelCommand.fail(error) }
            }
            guard case .vjepa2(let v) = bundle.config.vision, let model = try bundle.load(streamHalfWeights: ["stream": true, "convert": false][halfWeights]) as? VLJEPA else {
                throw ModelCommand.fail(BundleError(path: directory, reason: "bench times vjepa2 and efficientnet bundles only"))
            }
            var rng = SystemRandomNumberGenerator()
            let frames = bundle.config.clip.frames
            let clip = Tensor(shape: [frames, v.inChans, v.cropSize, v.cropSize],
                              scalars: (0..<(frames * v.inChans * v.cropSize * v.cropSize)).map { _ in Float.random(in: -2...2, using: &rng) })
            let batch = [Tensor](repeating: clip, count: clips)
            let texts = (0..<queries).map { _ in (0..<queryTokens).map { _ in Int.random(in: 1..<model.config.text.vocabSize, using: &rng) } }
            let workspace = Workspace()
            var tokens: Tensor?
            let vision = try best { tokens = try model.vision.encode(batch, workspace: workspace) }
            let text = try best { _ = try model.embedTexts(texts, workspace: workspace) }
            var report: [String: Any] = [
                "threads": threads, "clips": clips, "frames": frames, "vision_seconds": vision.wall, "vision_cpu_seconds": vision.cpu,
                "tokens_per_clip": model.vision.tokenCount(frames: frames),
                "queries": queries, "query_tokens": queryTokens, "text_seconds": text.wall, "text_cpu_seconds": text.cpu,
                "half_weights": halfWeights,
            ]
            if predictor, let tokens {
                let prompt = try model.config.retrievalPromptIds
                    ?? model.config.retrievalPromptTokens(tokenizer: Tokenizer.load(contentsOf: bundle.tokenizerURL))
                let predicted = try best {
                    _ = try model.predictor.predict(visualTokens: tokens, clips: clips, prompt: prompt, workspace: workspace)
                }
                report["prompt_tokens"] = prompt.count
                report["predictor_seconds"] = predicted.wall
                report["predictor_cpu_seconds"] = predicted.cpu
            }
            report["sgemm_gflops"] = GEMM.measureGFLOPS(n: 1536, repeats: 5, threads: threads)
            if let peak = Self.peakResidentBytes() { report["peak_rss_bytes"] = peak }
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        }

        /// The X-encoder alone on `clips × clip.frames` random images (the concept head and text side are not timed).
        func benchEfficientNet(_ bundle: ModelBundle, _ config: EfficientNetConfig) throws {
            let binder = ParameterBinder(file: try SafeTensorsFile(url: bundle.weightsURL))
            let net = try EfficientNet(config: config, binder: binder)
            try binder.finish(prefixes: ["x_encoder."])
            let (images, overflow) = clips.multipliedReportingOverflow(by: bundle.config.clip.frames)
            guard !overflow, (1...4096).contains(images) else {
                throw ValidationError("--clips \(clips) × clip.frames \(bundle.config.clip.frames) is not in 1...4096 images")
            }
            let count = images * config.inChans * config.imageSize * config.imageSize
            var rng = SystemRandomNumberGenerator()
            let batch = Tensor(shape: [images, config.inChans, config.imageSize, config.imageSize],
                               scalars: (0..<count).map { _ in Float.random(in: -1...1, using: &rng) })
            let workspace = Workspace()
            let vision = try best { _ = try net.logits(batch, workspace: workspace) }
            let report: [String: Any] = [
                "threads": threads, "clips": clips, "images": images, "vision_seconds": vision.wall, "vision_cpu_seconds": vision.cpu,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        }

        /// This process's peak resident set in bytes (`VmHWM` of /proc/self/status), nil without procfs. Not
        /// getrusage's `ru_maxrss`, which also counts the parent's pages when it forked this process before exec.
        static func peakResidentBytes() -> Int? {
            guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                  let kB = Int(line.dropFirst("VmHWM:".count).split(whereSeparator: \.isWhitespace).first ?? "") else { return nil }
            return kB * 1024
        }

        /// Best wall-clock time and best process CPU time over `repeats` runs after a warm-up (which grows the
        /// workspace and faults in the weights); CPU time is steadier on a shared machine.
        func best(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
            func cpuSeconds() -> Double {
                var t = timespec()
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
                return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
            }
            try body()
            var wall = Double.infinity, cpu = Double.infinity
            for _ in 0..<repeats {
                let start = ContinuousClock.now, cpuStart = cpuSeconds()
                try body()
                let d = ContinuousClock.now - start
                wall = min(wall, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
                cpu = min(cpu, cpuSeconds() - cpuStart)
            }
            return (wall, cpu)
        }
    }
}
