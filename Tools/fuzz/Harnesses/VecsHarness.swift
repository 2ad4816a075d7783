import VectorIndex

/// `fvecs`: the bytes read both as `.fvecs` (rows of one dimension) and as `.ivecs` (rows of any length).
/// - Returns: whether either reader accepted them.
@discardableResult
public func fuzzVecs(_ input: UnsafeRawBufferPointer) -> Bool {
    var accepted = false
    if let floats = try? VecsFile.readFloats(input, path: "fuzz.fvecs") {
        precondition(floats.dimension > 0 && floats.values.count % floats.dimension == 0, "ragged rows")
        precondition(floats.values.count * 4 <= input.count, "more values than bytes")
        accepted = true
    }
    if let rows = try? VecsFile.readInts(input, path: "fuzz.ivecs") {
        precondition(rows.reduce(0) { $0 + 4 + 4 * $1.count } == input.count, "rows do not cover the file")
        accepted = true
    }
    return accepted
}
