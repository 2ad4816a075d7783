import Foundation
import Neural

/// A candidate text and its cosine similarity to a query.
public struct ScoredText: Sendable, Equatable {
    public var text: String
    public var score: Float

    public init(text: String, score: Float) { (self.text, self.score) = (text, score) }
}

/// Candidate texts with their unit Y-encoder embeddings (VL-JEPA's open-vocabulary classification: the nearest
/// text embedding to a predicted one).
public struct LabelSet: Sendable {
    public let texts: [String]
    /// `texts.count × dimension`, flat, unit rows.
    public let vectors: [Float]
    public let dimension: Int

    public init(texts: [String], vectors: [Float], dimension: Int) {
        precondition(dimension > 0 && vectors.count == texts.count * dimension, "one vector per text")
        (self.texts, self.vectors, self.dimension) = (texts, vectors, dimension)
    }

    /// The text most similar to the unit vector `query` (cosine), ties to the earlier text; nil when empty.
    ///
    /// - Complexity: O(texts · d).
    public func nearest(to query: [Float]) -> (text: String, score: Float)? {
        precondition(query.count == dimension, "query has the labels' dimension")
        var best: (index: Int, score: Float)?
        vectors.withUnsafeBufferPointer { v in
            query.withUnsafeBufferPointer { q in
                for t in texts.indices {
                    let dot = Self.dot(v.baseAddress! + t * dimension, q.baseAddress!, dimension)
                    if best == nil || dot > best!.score { best = (t, dot) }
                }
            }
        }
        return best.map { (texts[$0.index], $0.score) }
    }

    /// The nearest text to each row of `queries` (unit vectors, `rows × dimension` flat), as `nearest(to:)` gives
    /// it one row at a time, computed as one matrix product per block of rows.
    ///
    /// - Complexity: O(rows · texts · d), in `sgemm`.
    public func nearest(toRows queries: [Float]) -> [(text: String, score: Float)] {
        ranked(toRows: queries, top: 1).map { ($0[0].text, $0[0].score) }
    }

    /// The `top` texts most similar to each row of `queries` (unit vectors, `rows × dimension` flat), best first,
    /// ties to the earlier text; all of them when there are fewer. Empty lists when there are no texts.
    ///
    /// - Complexity: O(rows · texts · (d + top)), the products in `sgemm`, one block of 64 rows at a time.
    public func ranked(toRows queries: [Float], top: Int) -> [[ScoredText]] {
        precondition(queries.count % dimension == 0, "queries are rows of the labels' dimension")
        let rows = queries.count / dimension
        let k = min(max(1, top), texts.count)
        guard !texts.isEmpty else { return [[ScoredText]](repeating: [], count: rows) }
        let block = 64
        var out: [[ScoredText]] = []
        out.reserveCapacity(rows)
        var scores = [Float](repeating: 0, count: block * texts.count)
        var best = [Int]()  // indices of the row's best texts so far, best first
        best.reserveCapacity(k + 1)
        queries.withUnsafeBufferPointer { q in
            vectors.withUnsafeBufferPointer { v in
                scores.withUnsafeMutableBufferPointer { s in
                    for first in stride(from: 0, to: rows, by: block) {
                        let m = min(block, rows - first)
                        GEMM.sgemm(transB: true, m: m, n: texts.count, k: dimension, a: q.baseAddress! + first * dimension,
                                   lda: dimension, b: v.baseAddress!, ldb: dimension, c: s.baseAddress!, ldc: texts.count)
                        for r in 0..<m {
                            let row = s.baseAddress! + r * texts.count
                            best.removeAll(keepingCapacity: true)
                            for t in 0..<texts.count where best.count < k || row[t] > row[best[k - 1]] {
                                // Insertion after every text that scores at least as much: ties keep their order.
                                var at = best.count
                                while at > 0 && row[best[at - 1]] < row[t] { at -= 1 }
                                best.insert(t, at: at)
                                if best.count > k { best.removeLast() }
                            }
                            out.append(best.map { ScoredText(text: texts[$0], score: row[$0]) })
                        }
                    }
                }
            }
        }
        return out
    }

    /// `a · b` over `n` floats, eight lanes at a time.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var lanes = SIMD8<Float>()
        var j = 0
        while j + 8 <= n {
            lanes += UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(b + j).loadUnaligned(as: SIMD8<Float>.self)
            j += 8
        }
        var sum = lanes.sum()
        while j < n {
            sum += a[j] * b[j]
            j += 1
        }
        return sum
    }

    /// `texts` embedded by the Y-encoder of model `modelID`, `batch` texts per call; read from and written to the
    /// cache folder `cache` when given (a bundle's vocabulary of thousands of captions takes seconds to embed, and
    /// reads back in a millisecond). `embedder` is called only on a miss. A cache that cannot be written is left
    /// alone.
    public static func embedding(
        _ texts: [String], modelID: String, dimension: Int, cache: URL?, batch: Int = 64, embedder: () throws -> Embedder
    ) throws -> LabelSet {
        let file = cache.map { Self.cacheFile(in: $0, texts: texts, modelID: modelID) }
        if let file, let cached = Self.read(file, texts: texts, modelID: modelID, dimension: dimension) {
            return cached
        }
        let encoder = try embedder()
        precondition(encoder.modelID == modelID && encoder.dimension == dimension, "the embedder is model \(modelID)")
        let workspace = Workspace()
        var vectors: [Float] = []
        vectors.reserveCapacity(texts.count * dimension)
        let step = max(1, batch)
        for start in stride(from: 0, to: texts.count, by: step) {
            vectors += try encoder.embedQueries(Array(texts[start..<min(start + step, texts.count)]), workspace: workspace)
        }
        let set = LabelSet(texts: texts, vectors: vectors, dimension: dimension)
        if let file { try? set.write(file, modelID: modelID) }
        return set
    }

    // MARK: The cache file

    /// `<folder>/<model id>-<FNV-1a of the texts>.labels`; the file holds the model id and the texts too, so that
    /// a name collision reads as a miss, never as the wrong labels.
    static func cacheFile(in folder: URL, texts: [String], modelID: String) -> URL {
        var h = FNV1a()
        for t in texts {
            Array(t.utf8).withUnsafeBytes { h.mix($0) }
            h.mix(UInt64(0x0A))
        }
        let safeID = String(modelID.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "-" ? Character($0) : "_" })
        return folder.appendingPathComponent(String(format: "%@-%016llx.labels", safeID, h.value))
    }

    static let magic = Array("VJLABEL1".utf8)

    /// Layout: magic (8 bytes), then little-endian `UInt32`s dimension, count and header bytes, then the header
    /// (the model id and each text, each followed by a newline), then `count × dimension` little-endian floats.
    func write(_ file: URL, modelID: String) throws {
        var header = Array((modelID + "\n").utf8)
        for t in texts { header += Array((t + "\n").utf8) }
        var data = Data(Self.magic)
        for word in [UInt32(dimension), UInt32(texts.count), UInt32(header.count)] {
            withUnsafeBytes(of: word.littleEndian) { data.append(contentsOf: $0) }
        }
        data.append(contentsOf: header)
        vectors.withUnsafeBytes { data.append(contentsOf: $0) }  // little-endian on every platform Swift runs here
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file, options: .atomic)
    }

    /// The labels in `file` when it holds exactly `texts` for `modelID` at `dimension`, unit rows; else nil.
    static func read(_ file: URL, texts: [String], modelID: String, dimension: Int) -> LabelSet? {
        guard let data = try? MappedFile.contents(path: file.path), data.count >= 20,
              Array(data.prefix(8)) == magic else { return nil }
        func word(_ at: Int) -> Int { Int(UInt32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) })) }
        let (d, count, headerBytes) = (word(8), word(12), word(16))
        guard d == dimension, count == texts.count, 20 + headerBytes + count * d * 4 == data.count else { return nil }
        var expected = Array((modelID + "\n").utf8)
        for t in texts { expected += Array((t + "\n").utf8) }
        guard headerBytes == expected.count, data[data.startIndex + 20 ..< data.startIndex + 20 + headerBytes].elementsEqual(expected) else {
            return nil
        }
        var vectors = [Float](repeating: 0, count: count * d)
        vectors.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[(20 + headerBytes)...])) }
        }
        let unit = vectors.withUnsafeBufferPointer { v in
            (0..<count).allSatisfy { i in
                let norm = dot(v.baseAddress! + i * d, v.baseAddress! + i * d, d)
                return norm.isFinite && abs(norm - 1) < 1e-3
            }
        }
        guard unit else { return nil }
        return LabelSet(texts: texts, vectors: vectors, dimension: d)
    }
}
