import Catalog
import Foundation
import JEPA

/// `config-json`: a model bundle's `config.json` decoded and validated as `ModelBundle` does (`validate()`
/// starts with `validateRanges()`).
///
/// An accepted config must be safe for everything built from it: the sizes derived from it compute without
/// overflow, and the clip spec it gives passes Media's own validation (else every video would fail to index).
@discardableResult
public func fuzzConfigJSON(_ input: UnsafeRawBufferPointer) -> Bool {
    guard let config = try? ModelConfig.decode(Data(input)) else { return false }
    do {
        try config.validate()
    } catch {
        return false
    }
    switch config.vision {
    case .vjepa2(let vision):
        precondition(vision.headDim >= 1 && vision.mlpSize >= 1 && vision.grid >= 1, "vision sizes below 1")
    case .efficientnet(let vision):
        precondition(vision.blocks.allSatisfy { $0.hiddenChannels >= 1 } && vision.lastChannels >= 1, "block sizes below 1")
    }
    if let predictor = config.predictor { precondition(predictor.resolvedHeadDim >= 1, "predictor head_dim below 1") }
    do {
        try Embedder.clipSpec(config.clip).validate()
    } catch {
        preconditionFailure("config.json passes validate() but its clip spec does not: \(error)")
    }
    _ = try? config.encoded()
    return true
}
