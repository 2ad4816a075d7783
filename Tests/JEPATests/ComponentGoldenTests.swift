import Foundation
import Neural
import Testing
import TestSupport
@testable import JEPA

/// Each network against transformers on the same tiny random weights (fixtures from Tools/goldens/models.py).
@Suite struct ComponentGoldenTests {
    @Test func comparisonFailsOnNonFiniteValues() {
        // The helper every golden test relies on: `NaN > worst` is false, so a NaN must be counted on its own.
        #expect(toleranceMismatch([1, .nan, 3] as [Float], [1, 2, 3] as [Float], rel: 1, abs: 1) != nil)
        #expect(toleranceMismatch([.infinity] as [Float], [1e30] as [Float], rel: 1, abs: 1) != nil)
        #expect(toleranceMismatch([1] as [Float], [.nan] as [Float], rel: 1, abs: 1) != nil)
        expectMatches(Tensor(shape: [3], scalars: [.infinity, 1, .nan]), Tensor(shape: [3], scalars: [.infinity, 1, .nan]))
    }

    @Test func vjepa2EncoderMatchesTransformers() throws {
        let golden = try Golden("vjepa2")
        let config = try golden.section("vision", as: VisionConfig.self)
        let binder = ParameterBinder(file: golden.weights)
        let encoder = try VisionEncoder(config: config, binder: binder)
        try binder.finish()
        let video = try golden.tensor("pixel_values_videos")  // [2, 4, 3, 32, 32]
        let per = video.count / video.shape[0]
        let clips = (0..<video.shape[0]).map {
            Tensor(shape: Array(video.shape.dropFirst()), scalars: Array(video.scalars[($0 * per)..<(($0 + 1) * per)]))
        }
        let out = try encoder.encode(clips, workspace: Workspace())
        let expected = try golden.tensor("last_hidden_state")
        #expect(encoder.tokenCount(frames: 4) == expected.shape[1])
        expectMatches(out, Tensor(shape: [expected.shape[0] * expected.shape[1], expected.shape[2]], scalars: expected.scalars))
    }

    @Test func llamaBidirectionalMatchesTransformers() throws {
        let golden = try Golden("llama")
        let config = try golden.section("predictor", as: PredictorConfig.self)
        let binder = ParameterBinder(file: golden.weights)
        let stack = try LlamaStack(config: config, binder: binder)
        try binder.finish()
        let sequences = try golden.sequences("input_ids", lengths: "lengths")
        #expect(sequences.map(\.count) == [10, 7])
        let out = try stack.hiddenStates(sequences, workspace: Workspace())
        expectMatches(out, realRows(try golden.tensor("last_hidden_state"), lengths: sequences.map(\.count)))
    }

    @Test(arguments: ["bert", "gemma3"])
    func textBackboneMatchesTransformers(_ name: String) throws {
        let golden = try Golden(name)
        let config = try golden.section("text", as: TextConfig.self)
        let binder = ParameterBinder(file: golden.weights)
        let encoder = try TextEncoder(config: config, sharedDim: nil, binder: binder)
        try binder.finish()
        let sequences = try golden.sequences("input_ids", lengths: "lengths")
        let out = try encoder.hiddenStates(sequences, workspace: Workspace())
        expectMatches(out, realRows(try golden.tensor("last_hidden_state"), lengths: sequences.map(\.count)))
    }

    /// A cancelled encoding stops at the next layer's check with `CancellationError`; one never cancelled polls once
    /// per layer and gives the same features as a call without the check.
    @Test func encodingStopsAtTheNextLayerOnceCancelled() throws {
        let golden = try Golden("vjepa2")
        let encoder = try VisionEncoder(config: try golden.section("vision", as: VisionConfig.self),
                                        binder: ParameterBinder(file: golden.weights))
        let video = try golden.tensor("pixel_values_videos")
        let clip = Tensor(shape: [4, 3, 32, 32], scalars: Array(video.scalars[..<(video.count / 2)]))
        let layers = encoder.config.numHiddenLayers
        var polls = 0
        #expect(throws: CancellationError.self) {
            _ = try encoder.encode([clip], workspace: Workspace()) { polls += 1; return polls == layers }
        }
        #expect(polls == layers)
        var checks = 0
        let checked = try encoder.encode([clip], workspace: Workspace()) { checks += 1; return false }
        #expect(checks == layers)
        #expect(checked.scalars == (try encoder.encode([clip], workspace: Workspace())).scalars)
    }

    @Test func batchedAndSingleClipsAgree() throws {
        let golden = try Golden("vjepa2")
        let binder = ParameterBinder(file: golden.weights)
        let encoder = try VisionEncoder(config: try golden.section("vision", as: VisionConfig.self), binder: binder)
        let video = try golden.tensor("pixel_values_videos")
        let per = video.count / 2
        let second = Tensor(shape: [4, 3, 32, 32], scalars: Array(video.scalars[per...]))
        let both = try encoder.encode([Tensor(shape: [4, 3, 32, 32], scalars: Array(video.scalars[..<per])), second], workspace: Workspace())
        let alone = try encoder.encode([second], workspace: Workspace())
        expectMatches(alone, Tensor(shape: [32, 64], scalars: Array(both.scalars[(32 * 64)...])), rel: 1e-5, abs: 1e-5)
    }
}
