import Foundation
import JEPA
import Neural
import Testing
import TestSupport
@testable import Convert

/// The Swift open-vljepa converter against `Tools/convert/convert.py open-vljepa`. Every fixture comes from
/// `Tools/convert/make_fixtures.py` (`hub_fixtures`): look-alike downloads under `hub/`, the Python converter's
/// stamped bundles made from them, and what Python answers for broken checkpoints, config.json variants,
/// `json.dump` and torch's casts.
@Suite struct OpenVLJEPAConverterTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let hub = fixtures.appendingPathComponent("hub")
    static let sources = OpenVLJEPASources(
        checkpoint: hub.appendingPathComponent("cun-bjy/open-vljepa/best.pt"),
        vjepa2: hub.appendingPathComponent("facebook/vjepa2-vitl-fpc64-256"),
        llama: hub.appendingPathComponent("meta-llama/Llama-3.2-1B"),
        gemma: hub.appendingPathComponent("google/embeddinggemma-300m"))
    static let bundleFiles = ["config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md"]

    static func json(_ name: String) throws -> PythonJSON {
        try PythonJSON.parse([UInt8](Data(contentsOf: fixtures.appendingPathComponent(name))))
    }

    // MARK: - The bundle, byte for byte

    @Test(arguments: [(ConvertOptions.DType.f32, "open-vljepa-expected"), (.bf16, "open-vljepa-expected-bf16")])
    func bundleEqualsPythonByteForByte(dtype: ConvertOptions.DType, expected: String) throws {
        let out = try TemporaryDirectory()
        var reports: [(done: Int, total: Int)] = []
        let id = try convertOpenVLJEPA(Self.sources, options: ConvertOptions(dtype: dtype), to: out.url) {
            reports.append(($0, $1))
        }
        let reference = Self.fixtures.appendingPathComponent(expected)
        for file in Self.bundleFiles {
            let ours = try Data(contentsOf: out.file(file))
            let theirs = try Data(contentsOf: reference.appendingPathComponent(file))
            #expect(ours == theirs, "\(expected)/\(file) differs (\(ours.count) bytes, Python's \(theirs.count))")
        }
        #expect(id == (try ModelBundle(directory: reference).config.modelId))

        let weights = try SafeTensorsFile(url: out.file("model.safetensors"))
        let dataBytes = weights.entries.values.reduce(0) { $0 + $1.end - $1.begin }
        #expect(reports.last.map { $0.done == dataBytes && $0.total == dataBytes } == true)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.done <= $1.done })
    }

    /// Before stamping, `config.json` is `json.dump(indent=2, sort_keys=True)` of convert.py's config, prompt ids
    /// from Neural's tokenizer equal to those of Python's `tokenizers` included.
    @Test func configBeforeStampingEqualsPythonJSONDump() throws {
        let checkpoint = try TorchCheckpoint(path: Self.sources.checkpoint.path)
        let contents = try OpenVLJEPAConverter(sources: Self.sources, options: ConvertOptions())
            .assemble(checkpoint: checkpoint.root, path: Self.sources.checkpoint.path)
        let expected = try String(contentsOf: Self.fixtures.appendingPathComponent("open-vljepa-unstamped-config.json"),
                                  encoding: .utf8)
        #expect(contents.config.pythonDump() == expected)
    }

    @Test func convertedBundleLoadsAndEmbeds() throws {
        let out = try TemporaryDirectory()
        _ = try convertOpenVLJEPA(Self.sources, to: out.url)
        let bundle = try ModelBundle(directory: out.url)
        let model = try bundle.load()
        let tokenizer = try Tokenizer.load(contentsOf: bundle.tokenizerURL)
        let ids = tokenizer.encode("a red ball rolls to the left.", maxLength: bundle.config.text.maxTokens)
        let texts = try model.embedTexts([ids])
        #expect(texts.shape == [1, 12])
        #expect(texts.scalars.allSatisfy { $0.isFinite })

        var random = SplitMix64(seed: 3)
        let clip = Tensor(shape: [4, 3, 16, 16], scalars: (0..<(4 * 3 * 16 * 16)).map { _ in
            Float(Double(random.next() % 2001) / 1000 - 1)
        })
        let clips = try model.embedClips([clip], prompt: try #require(bundle.config.retrievalPromptIds))
        #expect(clips.shape == [1, 12])
        #expect(clips.scalars.allSatisfy { $0.isFinite })
    }

    /// The V-JEPA 2 folder as shards with an index (written here) or as `pytorch_model.bin` (older transformers,
    /// from make_fixtures.py) gives the same bundle.
    @Test(arguments: ["sharded", "pytorch-bin"])
    func otherWeightLayoutsGiveTheSameBundle(layout: String) throws {
        let scratch = try TemporaryDirectory()
        var sources = Self.sources
        if layout == "sharded" {
            let folder = scratch.file("vjepa2-vitl-fpc64-256")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.sources.vjepa2.appendingPathComponent("config.json"),
                                             to: folder.appendingPathComponent("config.json"))
            let single = try SafeTensorsFile(url: Self.sources.vjepa2.appendingPathComponent("model.safetensors"))
            var map: [String: String] = [:]
            for (i, names) in [single.names.filter { $0.hasPrefix("encoder.layer.") },
                               single.names.filter { !$0.hasPrefix("encoder.layer.") }].enumerated() {
                let shard = "model-0000\(i + 1)-of-00002.safetensors"
                let tensors = try Dictionary(uniqueKeysWithValues: names.map { ($0, try #require(try single.parameter($0)).tensor) })
                try SafeTensors.serialize(tensors).write(to: folder.appendingPathComponent(shard))
                for name in names { map[name] = shard }
            }
            try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": map])
                .write(to: folder.appendingPathComponent("model.safetensors.index.json"))
            sources.vjepa2 = folder
        } else {
            sources.vjepa2 = Self.fixtures.appendingPathComponent("hub-variants/pytorch-bin/vjepa2-vitl-fpc64-256")
        }
        let out = scratch.file("bundle")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        _ = try convertOpenVLJEPA(sources, to: out)
        for file in Self.bundleFiles {
            let expected = Self.fixtures.appendingPathComponent("open-vljepa-expected").appendingPathComponent(file)
            #expect(try Data(contentsOf: out.appendingPathComponent(file)) == Data(contentsOf: expected), "\(file)")
        }
    }

    // MARK: - Refusals

    /// `best.pt`'s state dict, named in order, with its training config's data section.
    static func checkpointState() throws -> (tensors: [(name: String, tensor: SourceTensor)], data: PickleValue) {
        let root = try TorchCheckpoint(path: sources.checkpoint.path).root
        guard case .dict(let items)? = root["model_state_dict"] else { throw ConvertError(path: "best.pt", reason: "no state") }
        let tensors = items.compactMap { key, value -> (name: String, tensor: SourceTensor)? in
            guard case .string(let name) = key, case .tensor(let tensor) = value else { return nil }
            return (name, SourceTensor(tensor))
        }
        return (tensors, root["config"]?["data"] ?? .dict([]))
    }

    /// As open-vljepa's train.py saves it with bf16: the Llama and Gemma parts in BF16, the new heads in F32, the
    /// RoPE table as a stray buffer, no X-encoder.
    @Test func checkpointIsLaidOutLikeOpenVLJEPAs() throws {
        let (tensors, data) = try Self.checkpointState()
        let dtypes = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor.dtype) })
        #expect(dtypes["predictor.layers.1.self_attn.q_proj.weight"] == .bf16)
        #expect(dtypes["y_encoder.model.embed_tokens.weight"] == .bf16)
        #expect(dtypes["predictor.vis_proj.weight"] == .f32)
        #expect(dtypes["predictor.rotary_emb.inv_freq"] != nil)
        #expect(!dtypes.keys.contains { $0.hasPrefix("x_encoder.") })
        #expect(data["num_frames"] != nil)
    }

    /// The operations of a case of `open-vljepa-cases.json`, as make_fixtures.py's `mutated` applies them.
    static func mutated(_ tensors: [(name: String, tensor: SourceTensor)], _ spec: PythonJSON) throws
        -> [(name: String, tensor: SourceTensor)] {
        func strings(_ key: String) -> [String] {
            guard case .array(let items)? = spec[key] else { return [] }
            return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        func pairs(_ key: String) -> [(String, String)] {
            guard case .object(let members)? = spec[key] else { return [] }
            return members.compactMap { if case .string(let s) = $0.value { ($0.key, s) } else { nil } }
        }
        var out = tensors.filter { !strings("delete").contains($0.name) }
        for name in strings("transpose") {
            let i = try #require(out.firstIndex { $0.name == name })
            guard case .torch(let t) = out[i].tensor.origin else { throw ConvertError(path: name, reason: "not from best.pt") }
            out[i].tensor = SourceTensor(TorchTensor(dtype: t.dtype, shape: t.shape.reversed(), strides: t.strides.reversed(),
                                                     storageOffset: t.storageOffset, storage: t.storage, file: t.file))
        }
        for (new, source) in pairs("copy") {
            out.append((new, try #require(out.first { $0.name == source }).tensor))
        }
        for (old, new) in pairs("rename") {
            out = out.map { ($0.name.hasPrefix(old) ? new + $0.name.dropFirst(old.count) : $0.name, $0.tensor) }
        }
        return out
    }

    @Test func brokenCheckpointsAreRefusedAsPythonRefusesThem() throws {
        let (tensors, data) = try Self.checkpointState()
        let path = Self.sources.checkpoint.path
        let converter = OpenVLJEPAConverter(sources: Self.sources, options: ConvertOptions())
        guard case .array(let cases)? = try Self.json("open-vljepa-cases.json")["cases"] else {
            Issue.record("no cases")
            return
        }
        #expect(cases.count >= 10)
        for spec in cases {
            guard case .string(let name)? = spec["name"], case .string(let message)? = spec["message"] else {
                Issue.record("malformed case")
                continue
            }
            let state = WeightSource(path: path, tensors: try Self.mutated(tensors, spec))
            let error = #expect(throws: ConvertError.self, "\(name)") { try converter.assemble(state: state, data: data) }
            #expect(error?.description == message.replacingOccurrences(of: "{checkpoint}", with: path), "\(name)")
        }
    }

    /// With `x_encoder.model.*` in the checkpoint, the V-JEPA 2 folder supplies only its config.json.
    @Test func encoderInsideTheCheckpointIsUsed() throws {
        let (tensors, data) = try Self.checkpointState()
        let encoder = try SafeTensorsFile(url: Self.sources.vjepa2.appendingPathComponent("model.safetensors"))
        let withEncoder = tensors + encoder.names.map { ("x_encoder.model." + $0, SourceTensor(file: encoder, entry: encoder.entries[$0]!)) }
        let configOnly = try TemporaryDirectory()
        try FileManager.default.copyItem(at: Self.sources.vjepa2.appendingPathComponent("config.json"),
                                         to: configOnly.file("config.json"))
        var sources = Self.sources
        sources.vjepa2 = configOnly.url
        let converter = OpenVLJEPAConverter(sources: sources, options: ConvertOptions())

        let path = Self.sources.checkpoint.path
        let contents = try converter.assemble(state: WeightSource(path: path, tensors: withEncoder), data: data)
        guard case .string(let card)? = try Self.json("open-vljepa-cases.json")["x_encoder_card"] else {
            Issue.record("no x_encoder_card")
            return
        }
        #expect(contents.card == card)
        let out = try TemporaryDirectory()
        _ = try BundleWriter.write(contents, dtype: .f32, to: out.url, progress: nil)
        let expected = Self.fixtures.appendingPathComponent("open-vljepa-expected/model.safetensors")
        #expect(try Data(contentsOf: out.file("model.safetensors")) == Data(contentsOf: expected))

        // Without them, the folder's missing weights are the error.
        #expect(throws: ConvertError(path: configOnly.path,
                                     reason: "no model.safetensors, model.safetensors.index.json or pytorch_model.bin")) {
            try converter.assemble(state: WeightSource(path: path, tensors: tensors), data: data)
        }
    }

    @Test func missingSourcesNameTheirFiles() throws {
        let empty = try TemporaryDirectory()
        var sources = Self.sources
        sources.checkpoint = empty.file("best.pt")
        #expect(throws: ConvertError(path: empty.file("best.pt").path, reason: "not found")) {
            try convertOpenVLJEPA(sources, to: empty.url)
        }
        sources = Self.sources
        sources.llama = empty.url
        #expect(throws: ConvertError(path: empty.file("config.json").path, reason: "not found")) {
            try convertOpenVLJEPA(sources, to: empty.url)
        }
    }

    @Test func optionsOverrideTheCheckpointsDataSection() throws {
        let checkpoint = try TorchCheckpoint(path: Self.sources.checkpoint.path)
        let options = ConvertOptions(name: "mine", frames: 6, fps: 3, stride: 0.5, resize: 20, maxPromptTokens: 32,
                                     maxTextTokens: 40)
        let config = try OpenVLJEPAConverter(sources: Self.sources, options: options)
            .assemble(checkpoint: checkpoint.root, path: Self.sources.checkpoint.path).config
        #expect(config["name"] == .string("mine"))
        #expect(config["clip"]?["frames"] == .int(6))
        #expect(config["clip"]?["window_seconds"] == .float(2))
        #expect(config["clip"]?["stride_seconds"] == .float(0.5))
        #expect(config["clip"]?["resize"] == .int(20))
        #expect(config["predictor"]?["max_prompt_tokens"] == .int(32))
        #expect(config["text"]?["max_tokens"] == .int(40))

        let zero = OpenVLJEPAConverter(sources: Self.sources, options: ConvertOptions(frames: 0))
        #expect(throws: ConvertError(path: "--frames", reason: "0 is outside 1…10000")) {
            try zero.assemble(checkpoint: checkpoint.root, path: Self.sources.checkpoint.path)
        }
        let (tensors, _) = try Self.checkpointState()
        let state = WeightSource(path: Self.sources.checkpoint.path, tensors: tensors)
        let defaults = OpenVLJEPAConverter(sources: Self.sources, options: ConvertOptions())
        #expect(throws: ConvertError(path: Self.sources.checkpoint.path, reason: "config.data.num_frames is 0, outside 1…10000")) {
            try defaults.assemble(state: state, data: .dict([(.string("num_frames"), .int(0))]))
        }
        // Without a data section, convert.py's fallbacks: 8 frames, 64 tokens each.
        let fallbacks = try defaults.assemble(state: state, data: .dict([])).config
        #expect(fallbacks["clip"]?["frames"] == .int(8))
        #expect(fallbacks["predictor"]?["max_prompt_tokens"] == .int(64))
        #expect(fallbacks["text"]?["max_tokens"] == .int(64))
    }

    // MARK: - config.json, as transformers reads it

    /// Sections and tensor shapes from config.json files in both RoPE spellings and with transformers' defaults, or
    /// the error, as convert.py gives them.
    @Test func configSectionsAndShapesMatchTransformers() throws {
        guard case .array(let cases) = try Self.json("hf-config-cases.json") else {
            Issue.record("no cases")
            return
        }
        for spec in cases {
            guard case .string(let family)? = spec["family"], case .string(let name)? = spec["name"],
                  let config = spec["config"] else {
                Issue.record("malformed case")
                continue
            }
            let folder = try TemporaryDirectory()
            try Data(config.pythonDump().utf8).write(to: folder.file("config.json"))
            let label = Comment(rawValue: "\(family): \(name)")
            do {
                let (section, shapes) = try Self.derive(family, folder: folder.url)
                #expect(spec["error"] == nil, label)
                #expect(.string(section.pythonDump()) == spec["dump"], label)
                let expected: [PythonJSON] = shapes.map { .array([.string($0.name), .array($0.shape.map { .int($0) })]) }
                #expect(.array(expected) == spec["shapes"], label)
            } catch let error as ConvertError {
                let path = folder.file("config.json").path
                guard case .string(let message)? = spec["error"] else {
                    Issue.record("\(family): \(name): \(error)")
                    continue
                }
                #expect(error.description == message.replacingOccurrences(of: "{path}", with: path), label)
            }
        }
    }

    /// What make_fixtures.py's `config_cases` asks convert.py for: 2 predictor layers, 16 prompt tokens, 24 text tokens.
    static func derive(_ family: String, folder: URL) throws -> (section: PythonJSON, shapes: ExpectedShapes) {
        switch family {
        case "vjepa2":
            let config = try HFVJEPA2Config(folder: folder)
            return (config.section, config.encoderShapes)
        case "llama":
            let config = try HFLlamaConfig(folder: folder)
            return (config.section(layers: 2, maxPromptTokens: 16), config.shapes(layers: 2))
        default:
            let config = try HFGemma3Config(folder: folder)
            return (config.section(maxTokens: 24), config.shapes)
        }
    }

    // MARK: - Writers

    /// `json.dump(indent=2, sort_keys=True)` of floats (fixed and exponent forms, shortest digits, random bit
    /// patterns), ensure_ascii strings, key order, nesting and empty containers, as Python writes them.
    @Test func pythonDumpMatchesPython() throws {
        guard case .array(let cases) = try Self.json("python-json-cases.json") else {
            Issue.record("no cases")
            return
        }
        for spec in cases {
            guard case .string(let input)? = spec["input"], case .string(let dump)? = spec["dump"] else {
                Issue.record("malformed case")
                continue
            }
            let ours = try PythonJSON.parse(Array(input.utf8)).pythonDump()
            #expect(ours == dump, "\(input.prefix(80))")
        }
    }

    @Test(arguments: [
        (1e16, "1e+16"), (9999999999999998.0, "9999999999999998.0"), (0.0001, "0.0001"), (0.00001, "1e-05"),
        (500000.0, "500000.0"), (-0.0, "-0.0"), (Double.leastNonzeroMagnitude, "5e-324"), (1.5e300, "1.5e+300"), (123.25, "123.25"),
    ])
    func floatsAsPythonRepr(value: Double, text: String) {
        #expect(PythonJSON.floatText(value) == text)
    }

    /// F32 → BF16 and F16 as torch's `.to` rounds (ties, carries, overflow, subnormals, NaNs).
    @Test func castsMatchTorch() throws {
        let file = try MappedFile(path: Self.fixtures.appendingPathComponent("casts.safetensors").path)
        let (entries, _, dataOffset) = try SafeTensors.parseHeader(file.bytes, path: file.path)
        func words<T: FixedWidthInteger>(_ name: String, as _: T.Type) throws -> [T] {
            let entry = try #require(entries[name])
            return (0..<entry.count).map {
                T(littleEndian: file.bytes.loadUnaligned(fromByteOffset: dataOffset + entry.begin + $0 * T.bitWidth / 8, as: T.self))
            }
        }
        let source = try words("source", as: UInt32.self).map { Float(bitPattern: $0) }
        for (dtype, name) in [(SafeTensors.DType.bf16, "bf16"), (.f16, "f16")] {
            var ours = [UInt16](repeating: 0, count: source.count)
            source.withUnsafeBufferPointer { floats in
                ours.withUnsafeMutableBytes {
                    SafeTensorsStreamWriter.encode(floats, as: dtype, keepNaN: false, into: $0.baseAddress!)
                }
            }
            let theirs = try words(name, as: UInt16.self)
            let wrong = zip(source, zip(ours, theirs)).filter { $1.0 != $1.1 }.prefix(3)
                .map { String(format: "%08x → %04x, torch %04x", $0.0.bitPattern, $0.1.0, $0.1.1) }
            #expect(wrong.isEmpty, "\(name): \(wrong)")
        }
    }

    /// A full disk is an error naming the file, not a crash.
    @Test func fullDiskNamesTheFile() throws {
        let file = try OutputFile(path: "/dev/full", capacity: 4096)
        let error = #expect(throws: (any Error).self) {
            try file.write([UInt8](repeating: 7, count: 10_000))
            try file.flush()
        }
        #expect(error.map { "\($0)" } == "/dev/full: no space left on device")
    }
}
