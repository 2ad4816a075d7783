import Foundation
import Neural
import Testing
@testable import JEPA

/// The concept head of `Models/objects` (ConSE): its arithmetic, and that its class embeddings carry the class
/// names into the Y-encoder's space.
@Suite struct ConceptModelTests {
    static let bundle = EfficientNetGoldenTests.root.appendingPathComponent("Models/objects")

    /// Class indices in ImageNet-1k's order.
    static let hare = 331, pizza = 963, sportsCar = 817

    static func load() throws -> (ConceptModel, Tokenizer) {
        let bundle = try ModelBundle(directory: bundle)
        let model = try #require(try bundle.load() as? ConceptModel)
        return (model, try Tokenizer.load(contentsOf: bundle.tokenizerURL))
    }

    func row(_ model: ConceptModel, _ c: Int) -> [Float] {
        let dim = model.concepts.shape[1]
        return Array(UnsafeBufferPointer(start: model.concepts.pointer + c * dim, count: dim))
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return dot / (na * nb)
    }

    @Test func combineWeightsTheTopClassesAndNormalises() throws {
        let (model, _) = try Self.load()
        let classes = model.concepts.shape[0]
        #expect(classes == 1000 && model.topK == 5)
        var p = [Float](repeating: 0, count: classes)
        p[Self.hare] = 1
        let one = model.combine(p)
        #expect(one.allSatisfy { $0.isFinite })
        #expect(cosine(one, row(model, Self.hare)) > 0.9999)

        p[Self.hare] = 0.6
        p[Self.pizza] = 0.4
        let two = model.combine(p)
        let expected = zip(row(model, Self.hare), row(model, Self.pizza)).map { 0.6 * $0 + 0.4 * $1 }
        #expect(cosine(two, expected) > 0.9999)
        #expect(abs(two.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)

        // Beyond the top k, a class adds nothing: k + 1 classes, the smallest dropped.
        let k = model.topK
        var many = [Float](repeating: 0, count: classes)
        for c in 0...k { many[c] = Float(20 - c) }
        var truncated = many
        truncated[k] = 0
        #expect(cosine(model.combine(many), model.combine(truncated)) > 0.99999)
        many[k] = 100  // now the largest: it must count
        #expect(cosine(model.combine(many), model.combine(truncated)) < 0.999)
    }

    @Test func classEmbeddingsAnswerTheirNames() throws {
        let (model, tokenizer) = try Self.load()
        let queries = ["a rabbit", "a pizza", "a car"]
        let vectors = try model.embedTexts(queries.map { tokenizer.encode($0, maxLength: 128) })
        let dim = vectors.shape[1]
        #expect(vectors.scalars.allSatisfy { $0.isFinite })
        let q = (0..<queries.count).map { Array(vectors.scalars[($0 * dim)..<(($0 + 1) * dim)]) }
        for (i, c) in [Self.hare, Self.pizza, Self.sportsCar].enumerated() {
            let mine = cosine(q[i], row(model, c))
            for (j, other) in [Self.hare, Self.pizza, Self.sportsCar].enumerated() where j != i {
                #expect(mine > cosine(q[i], row(model, other)) + 0.1, "'\(queries[i])' vs class \(other)")
            }
        }
    }

    @Test func clipsOfDifferentLengthsAndBadShapes() throws {
        let (model, _) = try Self.load()
        let frame = [Float](repeating: 0.1, count: 3 * 224 * 224)
        let clips = [Tensor(shape: [1, 3, 224, 224], scalars: frame), Tensor(shape: [2, 3, 224, 224], scalars: frame + frame)]
        let out = try model.embedClips(clips, prompt: [])
        #expect(out.shape == [2, 384] && out.scalars.allSatisfy { $0.isFinite })
        // The same frame once or twice: the same mean probabilities, the same vector.
        #expect(cosine(Array(out.scalars[..<384]), Array(out.scalars[384...])) > 0.9999)
        #expect(try model.embedClips([], prompt: []).shape == [0, 384])
        #expect(throws: ModelInputError.self) { try model.embedClips([Tensor(shape: [1, 3, 64, 64], scalars: [Float](repeating: 0, count: 3 * 64 * 64))], prompt: []) }
    }
}
