import Foundation

extension SafeTensors {
    /// Serialises Float tensors as F32, F16 or BF16 (round to nearest even), names sorted, header padded to 8 bytes.
    public static func serialize(
        _ tensors: [String: Tensor], dtype: DType = .f32, metadata: [String: String] = [:]
    ) throws -> Data {
        precondition([.f32, .f16, .bf16].contains(dtype), "only float dtypes are written")
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var payload = Data()
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let begin = payload.count
            for x in tensor.scalars {
                switch dtype {
                case .f16:
                    let bits = Float16(x).bitPattern.littleEndian
                    withUnsafeBytes(of: bits) { payload.append(contentsOf: $0) }
                case .bf16:
                    let bits = x.bitPattern
                    let rounded = x.isNaN ? UInt16(bits >> 16) | 0x40
                        : UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
                    withUnsafeBytes(of: rounded.littleEndian) { payload.append(contentsOf: $0) }
                default:
                    withUnsafeBytes(of: x.bitPattern.littleEndian) { payload.append(contentsOf: $0) }
                }
            }
            header[name] = ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [begin, payload.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(payload)
        return out
    }
}
