import Foundation
import Neural
import SystemCall

/// Writes a safetensors file tensor by tensor, byte for byte as `safetensors.torch.save_file` (safetensors 0.8)
/// writes the same tensors cast to one dtype, so that only one tensor's elements are in memory at a time.
///
/// Layout, as that version serialises it: the header length as 8 little-endian bytes; a compact JSON header that
/// lists the tensors by name in byte order (with one dtype, its dtype-then-name order is the name order), each as
/// `{"dtype":…,"shape":[…],"data_offsets":[begin,end]}` and with no `__metadata__` when there is none, padded with
/// spaces to a multiple of 8 bytes; then the tensors' little-endian elements back to back in the same order.
///
/// Casting follows torch's `tensor.to(dtype)` on the CPU (torch 2.13, measured): F32 as is, F16 and BF16 rounded to
/// nearest even; a NaN becomes `0xFFFF` in BF16 and, in F16, a quiet NaN with its sign and the top ten payload bits;
/// a tensor already in the output dtype keeps its bits, as `to` returns it unchanged.
struct SafeTensorsStreamWriter {
    let dtype: SafeTensors.DType
    /// The tensors in file order.
    let tensors: [(name: String, tensor: SourceTensor)]

    /// - Precondition: `dtype` is F32, F16 or BF16.
    init(dtype: SafeTensors.DType, tensors: [(name: String, tensor: SourceTensor)]) {
        precondition([.f32, .f16, .bf16].contains(dtype), "only float dtypes are written")
        self.dtype = dtype
        self.tensors = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// The bytes of the data section.
    var dataSize: Int { tensors.reduce(0) { $0 + $1.tensor.count * dtype.size } }

    /// The length prefix and the padded header.
    var header: [UInt8] {
        var json = "{"
        var offset = 0
        for (i, entry) in tensors.enumerated() {
            let end = offset + entry.tensor.count * dtype.size
            if i > 0 { json += "," }
            writeJSONString(entry.name, to: &json, asciiOnly: false)  // as serde_json writes it
            json += ":{\"dtype\":\"\(dtype.rawValue)\",\"shape\":["
                + entry.tensor.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var bytes = Array(json.utf8)
        bytes += [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init) + bytes
    }

    /// Writes the whole file to `file`, calling `progress(done, total)` with data bytes as the tensors go out.
    /// - Throws: `SystemCallError` for a failed write (naming the file), or the reader's error for a source tensor
    ///   that cannot be read as floats.
    func write(to file: OutputFile, progress: ((_ done: Int, _ total: Int) -> Void)?) throws {
        try file.write(header)
        let total = dataSize
        var done = 0
        progress?(0, total)
        let size = dtype.size
        let chunk = file.capacity / size
        for (_, tensor) in tensors {
            let keepNaN = tensor.dtype == dtype
            try tensor.withFloats { floats in
                var start = 0
                while start < floats.count {
                    let n = min(chunk, floats.count - start)
                    let source = UnsafeBufferPointer(rebasing: floats[start..<(start + n)])
                    try file.append(count: n * size) { Self.encode(source, as: dtype, keepNaN: keepNaN, into: $0) }
                    start += n
                    done += n * size
                    progress?(done, total)
                }
            }
        }
    }

    /// Writes `source` as little-endian elements of `dtype` at `out`.
    static func encode(_ source: UnsafeBufferPointer<Float>, as dtype: SafeTensors.DType, keepNaN: Bool,
                       into out: UnsafeMutableRawPointer) {
        switch dtype {
        case .f32:
            #if _endian(little)
            if let base = source.baseAddress { out.copyMemory(from: base, byteCount: 4 * source.count) }
            #else
            for (i, x) in source.enumerated() { out.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            #endif
        case .bf16:
            for (i, x) in source.enumerated() {
                out.storeBytes(of: bfloat16(x, keepNaN: keepNaN).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        case .f16:
            for (i, x) in source.enumerated() {
                out.storeBytes(of: float16(x, keepNaN: keepNaN).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        default:
            preconditionFailure("only float dtypes are written")
        }
    }

    /// The upper half of the float's bits, rounded to nearest, ties to even (torch's vectorised conversion, which
    /// writes every NaN as `0xFFFF`).
    @inline(__always)
    static func bfloat16(_ x: Float, keepNaN: Bool) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return keepNaN ? UInt16(truncatingIfNeeded: bits >> 16) : 0xFFFF }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// IEEE binary16 rounded to nearest even, as Swift's `Float16` converts; a NaN keeps its sign and the top ten
    /// payload bits and is made quiet (`vcvtps2ph`, which torch uses), unless it came from F16 and keeps its bits.
    @inline(__always)
    static func float16(_ x: Float, keepNaN: Bool) -> UInt16 {
        guard x.isNaN else { return Float16(x).bitPattern }
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
        return sign | (keepNaN ? 0x7C00 : 0x7E00) | UInt16(truncatingIfNeeded: (bits >> 13) & 0x3FF)
    }
}
