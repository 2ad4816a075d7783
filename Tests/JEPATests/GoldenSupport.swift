import Foundation
import Neural
import Testing
import TestSupport
@testable import JEPA

/// A golden fixture folder: `config.json`, `model.safetensors`, `io.safetensors`.
struct Golden {
    let directory: URL
    let io: SafeTensorsFile
    let weights: SafeTensorsFile

    init(_ name: String) throws {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        directory = root.appendingPathComponent(name)
        io = try SafeTensorsFile(url: directory.appendingPathComponent("io.safetensors"))
        weights = try SafeTensorsFile(url: directory.appendingPathComponent("model.safetensors"))
    }

    /// One section of `config.json`, e.g. `vision`.
    func section<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]
        let data = try JSONSerialization.data(withJSONObject: object[key]!)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }

    func tensor(_ name: String) throws -> Tensor { try #require(try io.parameter(name)).tensor }

    /// Rows of `ids` [batch × length] cut to each sequence's length.
    func sequences(_ ids: String, lengths: String) throws -> [[Int]] {
        let (shape, values) = try #require(try io.integers(ids))
        let lengths = try #require(try io.integers(lengths)).values
        return (0..<shape[0]).map { b in Array(values[(b * shape[1])..<(b * shape[1] + lengths[b])]) }
    }
}

/// Shape first, then every value within `rel`·|expected| + `abs` (`toleranceMismatch`: NaN never passes the
/// tolerance arithmetic).
func expectMatches(_ actual: Tensor, _ expected: Tensor, rel: Float = 1e-4, abs: Float = 2e-5,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let mismatch = toleranceMismatch(actual.scalars, expected.scalars, rel: Double(rel), abs: Double(abs))
    #expect(mismatch == nil, "\(mismatch ?? "")", sourceLocation: sourceLocation)
}

/// The rows of a padded [batch × length × dim] reference that belong to real tokens, stacked.
func realRows(_ padded: Tensor, lengths: [Int]) -> Tensor {
    let length = padded.shape[1], dim = padded.shape[2]
    var out: [Float] = []
    for (b, n) in lengths.enumerated() {
        out += padded.scalars[(b * length * dim)..<((b * length + n) * dim)]
    }
    return Tensor(shape: [lengths.reduce(0, +), dim], scalars: out)
}
