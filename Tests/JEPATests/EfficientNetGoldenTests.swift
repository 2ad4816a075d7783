import Foundation
import Neural
import Testing
import TestSupport
@testable import JEPA

/// EfficientNet-Lite0 on the `objects` bundle's weights against `Tools/goldens/efficientnet.py` (PyTorch, float64) on
/// real frames: `Fixtures/efficientnet/io.safetensors` holds the images, the first image's activations and all logits.
@Suite struct EfficientNetGoldenTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let weights = root.appendingPathComponent("Models/objects/model.safetensors")

    /// EfficientNet-Lite0, as the `objects` bundle's `config.json` declares it.
    static let lite0 = """
        {"family": "efficientnet", "image_size": 224, "in_chans": 3, "stem_channels": 32, "head_channels": 1280,
         "num_classes": 1000, "padding": "same", "stages": [
           {"repeats": 1, "kernel": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16},
           {"repeats": 2, "kernel": 3, "stride": 2, "expand_ratio": 6, "out_channels": 24},
           {"repeats": 2, "kernel": 5, "stride": 2, "expand_ratio": 6, "out_channels": 40},
           {"repeats": 3, "kernel": 3, "stride": 2, "expand_ratio": 6, "out_channels": 80},
           {"repeats": 3, "kernel": 5, "stride": 1, "expand_ratio": 6, "out_channels": 112},
           {"repeats": 4, "kernel": 5, "stride": 2, "expand_ratio": 6, "out_channels": 192},
           {"repeats": 1, "kernel": 3, "stride": 1, "expand_ratio": 6, "out_channels": 320}]}
        """

    @Test
    func activationsAndLogitsMatchPyTorch() throws {
        let fixtures = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let io = try SafeTensorsFile(url: fixtures.appendingPathComponent("efficientnet/io.safetensors"))
        let config = try decodeVision(Self.lite0)
        #expect(io.metadata["padding"] == config.padding.rawValue)
        let binder = ParameterBinder(file: try SafeTensorsFile(url: Self.weights))
        let net = try EfficientNet(config: config, binder: binder)
        try binder.finish(prefixes: ["x_encoder."])
        #expect(net.parameterCount == 4_631_000)

        let images = try #require(try io.parameter("images")).tensor
        var traced: [String: Tensor] = [:]
        let logits = try net.forward(images, workspace: Workspace(), isCancelled: { false }, trace: { traced[$0] = $1 })
        let layers = io.names.filter { $0 == "stem" || $0.hasPrefix("block") || $0 == "head" || $0 == "pooled" }
        #expect(layers.count == 10, "the fixture holds \(layers)")
        for name in layers {
            let expected = try #require(try io.parameter(name)).tensor
            let actual = try #require(traced[name], "no activation '\(name)' traced")
            expectWithin(actual, expected, name)
        }
        let reference = try #require(try io.parameter("logits")).tensor
        expectWithin(logits, reference, "logits")
        // The same class wins on every image.
        let classes = config.numClasses
        for i in 0..<images.shape[0] {
            let ours = Array(logits.scalars[(i * classes)..<((i + 1) * classes)])
            let theirs = Array(reference.scalars[(i * classes)..<((i + 1) * classes)])
            #expect(ours.indices.max { ours[$0] < ours[$1] } == theirs.indices.max { theirs[$0] < theirs[$1] }, "image \(i)")
        }
    }

    /// Shape, then every value finite and within 1e-4 + 1e-4·|expected| (NaN fails).
    func expectWithin(_ actual: Tensor, _ expected: Tensor, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.shape == expected.shape, "\(name): shape", sourceLocation: sourceLocation)
        guard actual.shape == expected.shape else { return }
        var bad = 0, first = -1
        for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated()
        where !(a.isFinite && abs(a - e) <= 1e-4 + 1e-4 * abs(e)) {
            bad += 1
            if first < 0 { first = i }
        }
        #expect(bad == 0, "\(name): \(bad) values off, first at \(first): \(first < 0 ? 0 : actual.scalars[first]) vs \(first < 0 ? 0 : expected.scalars[first])",
                sourceLocation: sourceLocation)
    }
}

/// The same network at toy size on random weights: binding errors, input checks, cancellation and batching.
@Suite struct EfficientNetTests {
    static let tiny = """
        {"family": "efficientnet", "image_size": 20, "in_chans": 3, "stem_channels": 8, "head_channels": 24,
         "num_classes": 5, "padding": "same", "stages": [
           {"repeats": 1, "kernel": 3, "stride": 1, "expand_ratio": 1, "out_channels": 8},
           {"repeats": 2, "kernel": 5, "stride": 2, "expand_ratio": 3, "out_channels": 12},
           {"repeats": 1, "kernel": 3, "stride": 2, "expand_ratio": 2, "out_channels": 13}]}
        """

    /// Random weights for `config`, named as the bundle names them.
    static func weights(_ config: EfficientNetConfig, seed: UInt64 = 1) -> [String: Tensor] {
        var rng = SplitMix64(seed: seed)
        func random(_ shape: [Int], scale: Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -scale...scale, using: &rng) })
        }
        var out: [String: Tensor] = [:]
        func conv(_ name: String, _ shape: [Int]) {
            out["x_encoder.\(name).weight"] = random(shape, scale: 1 / Float(shape.dropFirst().reduce(1, *)).squareRoot())
            out["x_encoder.\(name).bias"] = random([shape[0]], scale: 0.1)
        }
        conv("stem", [config.stemChannels, config.inChans, 3, 3])
        for (i, b) in config.blocks.enumerated() {
            if b.expands { conv("blocks.\(i).expand", [b.hiddenChannels, b.inChannels, 1, 1]) }
            conv("blocks.\(i).depthwise", [b.hiddenChannels, 1, b.kernel, b.kernel])
            conv("blocks.\(i).project", [b.outChannels, b.hiddenChannels, 1, 1])
        }
        conv("head", [config.headChannels, config.lastChannels, 1, 1])
        conv("classifier", [config.numClasses, config.headChannels])
        return out
    }

    /// Builds the network from `tensors` written to a temporary safetensors file (binding strictly).
    static func load(_ config: EfficientNetConfig, _ tensors: [String: Tensor]) throws -> EfficientNet {
        let directory = try TemporaryDirectory()
        let url = directory.file("model.safetensors")
        try SafeTensors.serialize(tensors, dtype: .f16).write(to: url)
        let binder = ParameterBinder(file: try SafeTensorsFile(url: url))
        let net = try EfficientNet(config: config, binder: binder)
        try binder.finish(prefixes: ["x_encoder."])
        return net
    }

    static func images(_ count: Int, size: Int, seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed)
        return Tensor(shape: [count, 3, size, size], scalars: (0..<(count * 3 * size * size)).map { _ in Float.random(in: -1...1, using: &rng) })
    }

    @Test func aMissingOrMisshapenTensorIsNamed() throws {
        let config = try decodeVision(Self.tiny)
        var tensors = Self.weights(config)
        tensors["x_encoder.blocks.1.expand.weight"] = nil
        let missing = #expect(throws: NeuralError.self) { _ = try Self.load(config, tensors) }
        #expect("\(missing!)".contains("tensor 'x_encoder.blocks.1.expand.weight' is missing"))

        tensors = Self.weights(config)
        tensors["x_encoder.blocks.2.depthwise.weight"] = Tensor(zeros: [36, 1, 3, 3])
        let misshapen = #expect(throws: NeuralError.self) { _ = try Self.load(config, tensors) }
        #expect("\(misshapen!)".contains("tensor 'x_encoder.blocks.2.depthwise.weight' expected [36, 1, 5, 5], found [36, 1, 3, 3]"))

        tensors = Self.weights(config)
        tensors["x_encoder.blocks.0.expand.weight"] = Tensor(zeros: [8, 8, 1, 1])  // ratio 1: no expansion
        let unused = #expect(throws: NeuralError.self) { _ = try Self.load(config, tensors) }
        #expect("\(unused!)".contains("unused tensors: 'x_encoder.blocks.0.expand.weight'"))
    }

    @Test func rejectsImagesOfTheWrongShape() throws {
        let config = try decodeVision(Self.tiny)
        let net = try Self.load(config, Self.weights(config))
        for shape in [[2, 3, 20, 21], [2, 1, 20, 20], [3, 20, 20]] {
            #expect(throws: ModelInputError.shape(found: shape, expected: "[images, 3, 20, 20]")) {
                _ = try net.logits(Tensor(zeros: shape), workspace: Workspace())
            }
        }
        #expect(try net.logits(Tensor(zeros: [0, 3, 20, 20]), workspace: Workspace()).shape == [0, 5])
    }

    @Test func rejectsAConfigItCannotSize() throws {
        var config = try decodeVision(Self.tiny)
        config.imageSize = 1_000_000_000
        #expect(throws: ConfigError.self) { _ = try Self.load(config, [:]) }
        config = try decodeVision(Self.tiny)
        config.stages[1].expandRatio = 1 << 40
        #expect(throws: ConfigError.self) { _ = try Self.load(config, [:]) }
        // An unknown padding is refused by decoding, naming the field and the choices.
        #expect(throws: ConfigError("padding 'valid' is not supported (same, symmetric)")) {
            _ = try decodeVision(Self.tiny.replacingOccurrences(of: "\"same\"", with: "\"valid\""))
        }
    }

    @Test func cancellationIsPolledBeforeEachBlock() throws {
        let config = try decodeVision(Self.tiny)
        let net = try Self.load(config, Self.weights(config))
        var polls = 0
        _ = try net.logits(Self.images(1, size: 20, seed: 3), workspace: Workspace(), isCancelled: { polls += 1; return false })
        #expect(polls == config.blocks.count + 1)
        polls = 0
        #expect(throws: CancellationError.self) {
            _ = try net.logits(Self.images(1, size: 20, seed: 3), workspace: Workspace(), isCancelled: { polls += 1; return polls == 3 })
        }
        #expect(polls == 3)
    }

    @Test func aBatchGivesEachImageItsOwnLogits() throws {
        // Layers split their work across images and rows; an image's logits must not depend on its neighbours.
        let config = try decodeVision(Self.tiny)
        let net = try Self.load(config, Self.weights(config))
        let batch = Self.images(5, size: 20, seed: 4)
        let workspace = Workspace()
        let together = try net.logits(batch, workspace: workspace)
        let per = 3 * 20 * 20
        for i in 0..<5 {
            let alone = try net.logits(Tensor(shape: [1, 3, 20, 20], scalars: Array(batch.scalars[(i * per)..<((i + 1) * per)])),
                                       workspace: workspace)
            let row = Array(together.scalars[(i * 5)..<((i + 1) * 5)])
            #expect(alone.scalars.allSatisfy { $0.isFinite })
            #expect(zip(alone.scalars, row).allSatisfy { abs($0 - $1) <= 1e-5 + 1e-5 * abs($1) }, "image \(i): \(alone.scalars) vs \(row)")
        }
    }
}

/// The `vision` section of a config, decoded as `ModelConfig.decode` decodes it.
func decodeVision(_ json: String) throws -> EfficientNetConfig {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(EfficientNetConfig.self, from: Data(json.utf8))
}
