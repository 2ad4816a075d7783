/// How an index keeps the vectors its graph walk reads.
public enum VectorStorage: String, Sendable, CaseIterable {
    /// The f32 vectors only: exact distances everywhere.
    case f32
    /// An int8 code per vector (scalar quantisation with one scale per vector) beside the f32 vector. The graph
    /// walk reads only the codes, a quarter of the bytes, and the final candidates are rescored exactly on the
    /// f32 vectors. Cosine and inner product only.
    case int8
}

/// Symmetric int8 scalar quantisation with one scale per vector: `x ≈ scale · code`, `scale = max|x| / 127`.
/// Deterministic, so that `verify` can recompute every code from its vector and compare.
enum Quantizer {
    static func codeBytes(dimension: Int) -> Int { 4 + (dimension + 3) / 4 * 4 }

    /// Writes the code of `vector` (`dimension` floats) at `code`: the scale, then the values, zero-padded.
    /// Returns the scale.
    @discardableResult
    static func encode(_ vector: UnsafePointer<Float>, dimension: Int, into code: UnsafeMutableRawPointer) -> Float {
        var largest: Float = 0
        for i in 0..<dimension { largest = max(largest, abs(vector[i])) }
        let scale: Float = largest > 0 ? largest / 127 : 1
        code.storeBytes(of: scale, as: Float.self)
        let values = (code + 4).assumingMemoryBound(to: CSignedChar.self)
        for i in 0..<dimension { values[i] = CSignedChar(clamping: Int((vector[i] / scale).rounded())) }
        for i in dimension..<((dimension + 3) / 4 * 4) { values[i] = 0 }
        return scale
    }
}
