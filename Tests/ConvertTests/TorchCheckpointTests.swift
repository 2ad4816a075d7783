import Convert
import Foundation
import Neural
import Testing
import TestSupport

/// `TorchCheckpoint` against archives torch.save wrote (Fixtures/checkpoints/, from
/// Tools/convert/make_checkpoint_fixtures.py, with what torch.load gives in expected.json), against hostile and
/// broken ones, and against pickles made by hand for each limit of the unpickler.
@Suite struct TorchCheckpointTests {
    static func fixture(_ name: String) throws -> String {
        try #require(Bundle.module.url(forResource: "Fixtures/checkpoints/\(name)", withExtension: nil)).path
    }

    // MARK: Archives torch wrote

    @Test("reads what torch.load reads", arguments: ["state_dict.pt", "mixed.pt", "zip64.pt"])
    func readsLikeTorch(_ name: String) throws {
        let expected = try Expected.load()[name]
        let fixture = try #require(expected)
        let checkpoint = try TorchCheckpoint(path: try Self.fixture(name))
        #expect(checkpoint.path == (try Self.fixture(name)))
        var tensors: [TorchTensor] = []
        #expect(Value(checkpoint.root, tensors: &tensors) == fixture.root)
        try #require(tensors.count == fixture.tensors.count)
        for (index, (tensor, want)) in zip(tensors, fixture.tensors).enumerated() {
            #expect(tensor.dtype.rawValue == want.dtype, "tensor \(index)")
            #expect(tensor.shape == want.shape, "tensor \(index)")
            #expect(tensor.strides == want.strides, "tensor \(index)")
            #expect(tensor.storageOffset == want.offset, "tensor \(index)")
            #expect(Self.hex(tensor.contiguousBytes()) == want.bytes, "tensor \(index)")
            if let bits = want.floatBits {
                #expect(try tensor.floats().map(\.bitPattern) == bits, "tensor \(index)")
                #expect(throws: ConvertError.self) { try tensor.ints() }
            } else {
                #expect(try tensor.ints() == want.ints, "tensor \(index)")
                #expect(throws: ConvertError.self) { try tensor.floats() }
            }
        }
    }

    @Test func readsATrainingCheckpoint() throws {
        let root = try TorchCheckpoint(path: try Self.fixture("mixed.pt")).root
        guard case .int(3) = root["epoch"], case .float(0.25) = root["loss"] else {
            Issue.record("epoch and loss: \(String(describing: root["epoch"])), \(String(describing: root["loss"]))")
            return
        }
        let config = try #require(root["config"])
        guard case .int(1 << 40) = config["big"], case .int(-(1 << 35)) = config["neg_big"],
              case .int(Int.max) = config["max_int"], case .bool(true) = config["use_bias"],
              case .some(.none) = config["dropout"], case .float(1e-3) = config["lr"],
              case .string("tiny-vljepa") = config["name"], case .tuple(let window) = config["window"], window.count == 2
        else {
            Issue.record("config: \(config)")
            return
        }
        // Two views of one storage: the same bytes, at their own offsets.
        let weights = try #require(root["model_state_dict"])
        guard case .tensor(let a) = weights["shared.a"], case .tensor(let b) = weights["shared.b"] else {
            Issue.record("shared tensors missing")
            return
        }
        #expect(a.storage.baseAddress == b.storage.baseAddress)
        #expect((a.storageOffset, b.storageOffset) == (2, 12))
        #expect(try a.floats() == [-2, -1.5, -1, -0.5, 0, 0.5])
        #expect(try b.floats() == [3, 4, 5, 6, 3.5, 4.5, 5.5, 6.5])
    }

    // MARK: Hostile and broken archives

    @Test("refuses code in the pickle, and runs none of it", arguments: [
        ("evil_os_system.pt", "os.system", "/tmp/vjsearch-evil-os-system"),
        ("evil_builtins_eval.pt", "builtins.eval", "/tmp/vjsearch-evil-builtins-eval"),
    ])
    func refusesCode(_ name: String, global: String, touched: String) throws {
        try? FileManager.default.removeItem(atPath: touched)
        let path = try Self.fixture(name)
        let error = #expect(throws: ConvertError.self) { try TorchCheckpoint(path: path) }
        #expect(error?.path == path)
        #expect(error?.reason.contains("refuses the pickle global '\(global)'") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: touched))
    }

    @Test("refuses broken archives naming the cause", arguments: [
        ("evil_build.pt", "BUILD on a list is refused"),
        ("compressed.pt", "zip entry 'state_dict/data.pkl' is compressed (method 8)"),
        ("bigendian.pt", "'state_dict/byteorder' says 'big'"),
        ("truncated.pt", "no end of central directory record"),
        ("not_zip.pt", "not a PyTorch zip archive (torch.save of torch ≥ 1.6): this is the legacy format"),
        ("expected.json", "not a PyTorch zip archive"),
    ])
    func refusesBroken(_ name: String, reason: String) throws {
        let path = try Self.fixture(name)
        let error = #expect(throws: ConvertError.self) { try TorchCheckpoint(path: path) }
        #expect(error?.path == path)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    @Test func namesAMissingFile() throws {
        let error = #expect(throws: ConvertError.self) { try TorchCheckpoint(path: "/nonexistent/best.pt") }
        #expect(error?.description
            == "/nonexistent/best.pt: cannot read the checkpoint: open failed: no such file or directory")
    }

    /// Random damage to each good fixture (most of it lands in data.pkl, which is stored, so the zip stays valid):
    /// every load returns or throws, and an accepted tensor reads inside its file.
    @Test(arguments: ["state_dict.pt", "mixed.pt", "zip64.pt"])
    func survivesDamage(_ name: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try Self.fixture(name))))
        let dir = try TemporaryDirectory()
        var rng = SplitMix64(seed: UInt64(name.utf8.count) * 7919)
        var accepted = 0
        for round in 0..<150 {
            var bytes = original
            switch round % 3 {
            case 0:   // flip a few bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 1:   // set a byte to an interesting value
                let value: UInt8 = [0x00, 0x7F, 0x80, 0xFF, 0x2E, 0x28].randomElement(using: &rng)!
                bytes[Int.random(in: 0..<min(bytes.count, 2048), using: &rng)] = value
            default:  // cut
                bytes.removeLast(Int.random(in: 1..<bytes.count, using: &rng))
            }
            let path = dir.file("damaged-\(round).pt").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            guard let checkpoint = try? TorchCheckpoint(path: path) else { continue }
            accepted += 1
            var tensors: [TorchTensor] = []
            _ = Value(checkpoint.root, tensors: &tensors)
            for tensor in tensors where tensor.count <= 1 << 16 {
                #expect(tensor.contiguousBytes().count == tensor.count * tensor.dtype.size)
                if let floats = try? tensor.floats() { #expect(floats.count == tensor.count) }
            }
        }
        #expect(accepted > 0, "no damaged copy was accepted: the damage is too coarse to reach the unpickler")
    }

    // MARK: Pickles made by hand

    @Test func readsAHandMadeTensor() throws {
        let pickle = Pickle.proto + Pickle.tensor(key: "7", numel: 6, offset: 1, size: [2, 2], stride: [1, 2]) + Pickle.stop
        let root = try load(pickle, storages: ["7": Self.floatBytes([0, 1, 2, 3, 4, 5])])
        guard case .tensor(let t) = root else { Issue.record("\(root)"); return }
        #expect(try t.floats() == [1, 3, 2, 4])
    }

    /// A pickle that must be refused and what the reason says.
    struct HandMade: Sendable, CustomTestStringConvertible {
        let pickle: [UInt8]
        let reason: String
        var testDescription: String { reason }

        /// PROTO 2, `parts`, STOP.
        init(_ reason: String, _ parts: [UInt8]...) {
            self.init(unterminated: reason, parts + [Pickle.stop])
        }

        /// PROTO 2 and `parts`, without STOP.
        init(unterminated reason: String, _ parts: [[UInt8]]) {
            self.reason = reason
            pickle = Pickle.proto + parts.flatMap { $0 }
        }
    }

    static let handMade: [HandMade] = {
        let repeated1: [UInt8] = [UInt8](repeating: 1, count: 9)
        let tuples: [UInt8] = [UInt8](repeating: 0x85, count: 300)
        // Lists of 8 references to the previous list, 12 deep: 8^12 values if expanded.
        var shared: [UInt8] = [0x5D, 0x71, 0]
        for level in 0..<12 {
            shared += [0x30, 0x28]
            for _ in 0..<8 { shared += [0x68, UInt8(level)] }
            shared += [0x6C, 0x71, UInt8(level + 1)]
        }
        func tensor(offset: Int = 0, size: [Int], stride: [Int]) -> [UInt8] {
            Pickle.tensor(key: "0", numel: 4, offset: offset, size: size, stride: stride)
        }
        return [
            HandMade("byte 2: refuses pickle opcode 0x69 (INST)", [0x69]),
            HandMade("0x8B (LONG4)", [0x8B, 1, 0, 0, 0, 1]),
            HandMade("integers beyond 64 bits are refused", [0x8A, 9], repeated1),
            HandMade("refuses the pickle global 'posix.system'", Pickle.global("posix", "system")),
            HandMade("refuses the pickle global 'torch.load'", Pickle.global("torch", "load")),
            HandMade("global 'os\\u{1B}[2J.x'", Pickle.global("os\u{1B}[2J", "x")),
            HandMade("holds the global collections.OrderedDict", Pickle.global("collections", "OrderedDict")),
            HandMade("refuses to call torch.FloatStorage", Pickle.global("torch", "FloatStorage"), [0x29, 0x52]),
            HandMade("memo slot 3 is read before it is stored", [0x68, 3]),
            HandMade("STOP leaves 2 objects", [0x4E, 0x4E]),
            HandMade(unterminated: "ends without STOP", [[0x4E]]),
            HandMade(unterminated: "runs past the end of the pickle", [[0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61]]),
            HandMade("not valid UTF-8", [0x8C, 2, 0xC3, 0x28]),
            HandMade("an opcode needs an object, but the stack holds 0", [0x61]),
            HandMade("APPEND to a None", [0x4E, 0x4E, 0x61]),
            HandMade("a dict key of type list", [0x7D, 0x5D, 0x4E, 0x73]),
            HandMade("nests deeper than 200 levels (or contains itself)", [0x5D, 0x71, 0, 0x68, 0, 0x61]),
            HandMade("tuples nest deeper than 200", [0x4E], tuples),
            HandMade("expands to too many values", shared),
            HandMade("holds storage '0' itself", Pickle.persistent(key: "0", numel: 4)),
            HandMade("storage '9' has no zip entry 'archive/data/9'", Pickle.persistent(key: "9", numel: 1)),
            HandMade("larger than its zip entry 'archive/data/0' of 16 bytes", Pickle.persistent(key: "0", numel: 5)),
            HandMade("larger than its zip entry", Pickle.persistent(key: "0", numel: 1 << 62)),
            HandMade("a persistent id that is not ('storage'", [0x4E, 0x51]),
            HandMade("reach element 4 of a storage of 4", tensor(size: [5], stride: [1])),
            HandMade("reach element 4 of a storage of 4", tensor(offset: 4, size: [1], stride: [1])),
            HandMade("reach past what an Int counts", tensor(size: [2, 3], stride: [Int.max, 1])),
            HandMade("more elements than an Int counts", tensor(size: [1 << 40, 1 << 40], stride: [0, 0])),
            HandMade("a negative stride", tensor(size: [2], stride: [-1])),
            HandMade("1 sizes but 2 strides", tensor(size: [2], stride: [1, 1])),
        ]
    }()

    @Test("refuses what a checkpoint never holds", arguments: handMade)
    func refusesHandMade(_ example: HandMade) throws {
        let error = #expect(throws: ConvertError.self) {
            try load(example.pickle, storages: ["0": Self.floatBytes([1, 2, 3, 4])])
        }
        #expect(error?.reason.contains(example.reason) == true, "\(String(describing: error))")
        #expect(error?.reason.hasPrefix("archive/data.pkl, byte ") == true, "\(String(describing: error))")
    }

    @Test func keysFollowPythonEquality() throws {
        // {1: 'a', True: 'b', 1.0: 'c', 'x': None}: one key 1 (the first), whose value is the last.
        let pickle = Pickle.proto + [0x28, 0x4B, 1] + Pickle.string("a") + [0x88] + Pickle.string("b")
            + [0x47, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0] + Pickle.string("c") + Pickle.string("x") + [0x4E, 0x64] + Pickle.stop
        guard case .dict(let items) = try load(pickle) else { Issue.record("not a dict"); return }
        #expect(items.count == 2)
        guard case .int(1) = items[0].key, case .string("c") = items[0].value, case .none = items[1].value else {
            Issue.record("\(items)")
            return
        }
    }

    @Test func readsIntegersAndFloats() throws {
        let pickle = Pickle.proto + [0x28, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x4D, 0xFF, 0xFF, 0x8A, 0, 0x8A, 8]
            + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x8A, 1, 0x80, 0x47, 0xC0, 0x04, 0, 0, 0, 0, 0, 0, 0x74]
            + Pickle.stop
        guard case .tuple(let items) = try load(pickle) else { Issue.record("not a tuple"); return }
        guard items.count == 6, case .int(-2) = items[0], case .int(65535) = items[1], case .int(0) = items[2],
              case .int(Int.max) = items[3], case .int(-128) = items[4], case .float(-2.5) = items[5]
        else {
            Issue.record("\(items)")
            return
        }
    }

    // MARK: Helpers

    /// Loads `pickle` as the data.pkl of an archive made by hand, with `storages` as its data/ entries.
    func load(_ pickle: [UInt8], storages: [String: [UInt8]] = [:]) throws -> PickleValue {
        let dir = try TemporaryDirectory()
        let path = dir.file("hand-made.pt").path
        var entries = [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))]
        entries += storages.sorted { $0.key < $1.key }.map { ("archive/data/\($0.key)", $0.value) }
        try Data(Self.storedZip(entries)).write(to: URL(fileURLWithPath: path))
        return try TorchCheckpoint(path: path).root
    }
}

extension TorchCheckpointTests {
    /// Pickle opcodes for hand-made tests (Python's pickletools names them).
    enum Pickle {
        static let proto: [UInt8] = [0x80, 0x02]
        static let stop: [UInt8] = [0x2E]

        static func string(_ text: String) -> [UInt8] { [0x8C, UInt8(text.utf8.count)] + Array(text.utf8) }

        static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }

        static func int(_ value: Int) -> [UInt8] {
            [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }

        static func tuple(_ values: [Int]) -> [UInt8] { [0x28] + values.flatMap(int) + [0x74] }

        /// BINPERSID of ('storage', torch.FloatStorage, key, 'cpu', numel).
        static func persistent(key: String, numel: Int) -> [UInt8] {
            [0x28] + string("storage") + global("torch", "FloatStorage") + string(key) + string("cpu") + int(numel)
                + [0x74, 0x51]
        }

        /// _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).
        static func tensor(key: String, numel: Int, offset: Int, size: [Int], stride: [Int]) -> [UInt8] {
            global("torch._utils", "_rebuild_tensor_v2") + [0x28] + persistent(key: key, numel: numel) + int(offset)
                + tuple(size) + tuple(stride) + [0x89] + global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52]
        }
    }

    /// A zip of stored entries, as small as the format allows (CRCs left 0: the reader does not check them).
    static func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
        func le(_ value: Int, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        var body: [UInt8] = []
        var directory: [UInt8] = []
        for (name, data) in entries {
            let offset = body.count
            let sizes = le(0, 4) + le(data.count, 4) + le(data.count, 4)   // CRC, compressed, uncompressed
            body += le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + sizes
            body += le(name.utf8.count, 2) + le(0, 2)
            body += Array(name.utf8) + data
            directory += le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + sizes
            directory += le(name.utf8.count, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(offset, 4)
            directory += Array(name.utf8)
        }
        let end = le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(entries.count, 2) + le(entries.count, 2)
            + le(directory.count, 4) + le(body.count, 4) + le(0, 2)
        return body + directory + end
    }

    static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// expected.json: per fixture, the saved object with its Python types and its tensors in depth-first order.
    struct Expected: Decodable {
        let root: Value
        let tensors: [Tensor]

        struct Tensor: Decodable {
            let dtype: String
            let shape: [Int]
            let strides: [Int]
            let offset: Int
            /// The contiguous bytes, in hex.
            let bytes: String
            /// What `.float()` gives, as bits.
            let floatBits: [UInt32]?
            let ints: [Int]?

            enum CodingKeys: String, CodingKey {
                case dtype, shape, strides, offset, bytes, ints
                case floatBits = "float_bits"
            }
        }

        static func load() throws -> [String: Expected] {
            let url = try #require(Bundle.module.url(forResource: "Fixtures/checkpoints/expected.json", withExtension: nil))
            return try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: url))
        }
    }

    /// A Python value tagged with its type, as expected.json writes it (`{"int": 3}`, `{"float": "<bits in hex>"}`,
    /// `{"tensor": <index>}`).
    indirect enum Value: Decodable, Equatable {
        case none
        case bool(Bool)
        case int(Int)
        case float(UInt64)
        case str(String)
        case list([Value])
        case tuple([Value])
        case dict([[Value]])
        case tensor(Int)

        enum Tag: String, CodingKey { case none, bool, int, float, str, list, tuple, dict, tensor }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Tag.self)
            guard container.allKeys.count == 1, let tag = container.allKeys.first else {
                let context = DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "one tag expected")
                throw DecodingError.dataCorrupted(context)
            }
            switch tag {
            case .none: self = .none
            case .bool: self = .bool(try container.decode(Bool.self, forKey: tag))
            case .int: self = .int(try container.decode(Int.self, forKey: tag))
            case .float: self = .float(UInt64(try container.decode(String.self, forKey: tag), radix: 16) ?? 0)
            case .str: self = .str(try container.decode(String.self, forKey: tag))
            case .list: self = .list(try container.decode([Value].self, forKey: tag))
            case .tuple: self = .tuple(try container.decode([Value].self, forKey: tag))
            case .dict: self = .dict(try container.decode([[Value]].self, forKey: tag))
            case .tensor: self = .tensor(try container.decode(Int.self, forKey: tag))
            }
        }

        /// `value` in this form, its tensors appended to `tensors` (depth-first, as the fixture script numbers them).
        init(_ value: PickleValue, tensors: inout [TorchTensor]) {
            switch value {
            case .none: self = .none
            case .bool(let b): self = .bool(b)
            case .int(let i): self = .int(i)
            case .float(let x): self = .float(x.bitPattern)
            case .string(let s): self = .str(s)
            case .bytes(let b): self = .str("bytes \(b)")
            case .list(let items): self = .list(items.map { Value($0, tensors: &tensors) })
            case .tuple(let items): self = .tuple(items.map { Value($0, tensors: &tensors) })
            case .dict(let items):
                self = .dict(items.map { [Value($0.key, tensors: &tensors), Value($0.value, tensors: &tensors)] })
            case .tensor(let t):
                tensors.append(t)
                self = .tensor(tensors.count - 1)
            }
        }
    }
}
