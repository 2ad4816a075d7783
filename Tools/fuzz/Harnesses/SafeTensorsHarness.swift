import Neural

/// `safetensors`: `SafeTensors.parseHeader` on the bytes of a whole file.
///
/// Accepted headers must describe tensors that lie inside the data section, in order, each spanning exactly
/// its shape's bytes: `SafeTensorsFile` reads them through raw pointers on that promise.
@discardableResult
public func fuzzSafeTensors(_ input: UnsafeRawBufferPointer) -> Bool {
    guard let header = try? SafeTensors.parseHeader(input, path: "fuzz.safetensors") else { return false }
    precondition(header.dataOffset >= 8 && header.dataOffset <= input.count, "data section outside the file")
    let dataSize = input.count - header.dataOffset
    for entry in header.entries.values {
        precondition(entry.begin >= 0 && entry.begin <= entry.end && entry.end <= dataSize,
                     "tensor '\(entry.name)' outside the data section")
        precondition(entry.count * entry.dtype.size == entry.end - entry.begin,
                     "tensor '\(entry.name)' spans other than its shape's bytes")
    }
    return true
}
