import Convert
import Neural

/// `torch-checkpoint`: `TorchCheckpoint(path:)` on the bytes written to one temp file per process (the zip reader and
/// the restricted unpickler), then every tensor of an accepted checkpoint read.
///
/// Accepted tensors must lie inside their storage and their storage inside the file: `floats()` and
/// `contiguousBytes()` read them through raw pointers on that promise. Tensors of more than 2¹⁶ elements (a zero
/// stride can make a tensor of 10¹² elements from 4 bytes, as `expand` does) are checked but not read.
@discardableResult
public func fuzzTorchCheckpoint(_ input: UnsafeRawBufferPointer) -> Bool {
    let path = Scratch.write(input, to: "checkpoint.pt")
    guard let checkpoint = try? TorchCheckpoint(path: path) else { return false }
    var pending = [checkpoint.root]
    while let value = pending.popLast() {
        switch value {
        case .list(let items), .tuple(let items): pending += items
        case .dict(let items): pending += items.flatMap { [$0.key, $0.value] }
        case .tensor(let tensor): check(tensor)
        case .none, .bool, .int, .float, .string, .bytes: break
        }
    }
    return true
}

private func check(_ tensor: TorchTensor) {
    let file = tensor.file.bytes
    if tensor.storage.count > 0 {
        let start = tensor.storage.baseAddress! - file.baseAddress!
        precondition(start >= 0 && start + tensor.storage.count <= file.count, "storage outside the file")
    }
    precondition(tensor.shape.count == tensor.strides.count && tensor.storageOffset >= 0, "malformed tensor")
    var last = tensor.storageOffset
    var count = 1
    for (size, stride) in zip(tensor.shape, tensor.strides) {
        precondition(size >= 0 && stride >= 0, "negative size or stride")
        let (product, overflow) = count.multipliedReportingOverflow(by: size)
        precondition(!overflow, "element count overflows")
        count = product
        guard size > 0 else { continue }
        let (step, stepOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
        let (sum, sumOverflow) = last.addingReportingOverflow(step)
        precondition(!stepOverflow && !sumOverflow, "furthest element overflows")
        last = sum
    }
    precondition(count == 0 || last < tensor.storage.count / tensor.dtype.size, "tensor outside its storage")
    guard count <= 1 << 16 else { return }
    precondition(tensor.contiguousBytes().count == count * tensor.dtype.size, "contiguousBytes of the wrong size")
    if let floats = try? tensor.floats() { precondition(floats.count == count, "floats of the wrong count") }
    if let ints = try? tensor.ints() { precondition(ints.count == count, "ints of the wrong count") }
}
