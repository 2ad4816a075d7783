/// A row-major [rows, columns] matrix of 16-bit floats (IEEE half or bfloat16) read in place from a mapped
/// file, at any alignment, and converted to Float32 a few rows at a time.
public struct HalfMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// bfloat16 when true, IEEE binary16 otherwise.
    public let isBFloat16: Bool
    private let words: UnsafeRawPointer
    private let owner: AnyObject

    init(rows: Int, columns: Int, words: UnsafeRawPointer, bfloat16: Bool, owner: AnyObject) {
        self.rows = rows
        self.columns = columns
        self.words = words
        self.isBFloat16 = bfloat16
        self.owner = owner
    }

    public var count: Int { rows * columns }

    /// Writes rows `range` as Float32, each multiplied by `scale`, to `out` [range.count × columns].
    public func convert(rows range: Range<Int>, scale: Float = 1, into out: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        let base = words + 2 * range.lowerBound * columns
        let n = range.count * columns
        // Branch-free loops over aligned words vectorise; unaligned data (legal in safetensors) takes the slow path.
        if Int(bitPattern: base) % 2 == 0 {
            let halves = base.assumingMemoryBound(to: UInt16.self)
            if isBFloat16 {
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: halves[i])) << 16) * scale }
            } else {
                for i in 0..<n { out[i] = Float(halfBits: UInt16(littleEndian: halves[i])) * scale }
            }
            return
        }
        for i in 0..<n {
            let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            out[i] = (isBFloat16 ? Float(bitPattern: UInt32(bits) << 16) : Float(halfBits: bits)) * scale
        }
    }
}
