/// A token-embedding matrix [vocabulary, width], read one row at a time.
///
/// A vocabulary is most of a text encoder's weights (23 of MiniLM's 52 MB in f16) while a query reads a dozen
/// rows, so 16-bit tables stay in the mapped file and rows are converted when they are looked up.
public final class EmbeddingTable: @unchecked Sendable {
    public let rows: Int
    public let width: Int
    public var shape: [Int] { [rows, width] }
    public var count: Int { rows * width }

    private enum Storage {
        case float(Parameter)
        case half(HalfMatrix)
    }

    private let storage: Storage

    /// A Float32 table.
    public init(_ parameter: Parameter) {
        precondition(parameter.shape.count == 2, "an embedding table is rank 2, not \(parameter.shape)")
        rows = parameter.shape[0]
        width = parameter.shape[1]
        storage = .float(parameter)
    }

    /// A 16-bit table, read in place.
    public init(_ matrix: HalfMatrix) {
        rows = matrix.rows
        width = matrix.columns
        storage = .half(matrix)
    }

    /// Writes row `id` (which must be in range), multiplied by `scale`, to `out[0..<width]`.
    public func copyRow(_ id: Int, scale: Float = 1, into out: UnsafeMutablePointer<Float>) {
        precondition(id >= 0 && id < rows, "row \(id) outside the table of \(rows)")
        switch storage {
        case .float(let parameter):
            let row = parameter.pointer + id * width
            for c in 0..<width { out[c] = row[c] * scale }
        case .half(let matrix):
            matrix.convert(rows: id..<(id + 1), scale: scale, into: out)
        }
    }
}
