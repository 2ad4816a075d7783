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
        case float(UnsafePointer<Float>)
        /// 16-bit words at any alignment; `brain` for bfloat16, otherwise IEEE half.
        case half(UnsafeRawPointer, brain: Bool)
    }

    private let storage: Storage
    private let owner: AnyObject

    /// A Float32 table.
    public init(_ parameter: Parameter) {
        precondition(parameter.shape.count == 2, "an embedding table is rank 2, not \(parameter.shape)")
        rows = parameter.shape[0]
        width = parameter.shape[1]
        storage = .float(parameter.pointer)
        owner = parameter
    }

    /// A 16-bit table at `words` inside memory kept alive by `owner`.
    init(rows: Int, width: Int, halves words: UnsafeRawPointer, bfloat16: Bool, owner: AnyObject) {
        self.rows = rows
        self.width = width
        storage = .half(words, brain: bfloat16)
        self.owner = owner
    }

    /// Writes row `id` (which must be in range) to `out[0..<width]`, scaled by `scale`.
    public func copyRow(_ id: Int, scale: Float = 1, into out: UnsafeMutablePointer<Float>) {
        precondition(id >= 0 && id < rows, "row \(id) outside the table of \(rows)")
        switch storage {
        case .float(let base):
            let row = base + id * width
            for c in 0..<width { out[c] = row[c] * scale }
        case .half(let base, let brain):
            let row = base + 2 * id * width
            for c in 0..<width {
                let bits = UInt16(littleEndian: row.loadUnaligned(fromByteOffset: 2 * c, as: UInt16.self))
                out[c] = (brain ? Float(bitPattern: UInt32(bits) << 16) : Float(halfBits: bits)) * scale
            }
        }
    }
}
