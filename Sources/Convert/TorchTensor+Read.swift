import Foundation
import Neural

extension TorchTensor {
    /// The elements as `Float`s in row-major order, whatever the strides: f32 as stored, f16 and bf16 widened
    /// exactly, f64 rounded to nearest (`Float(x)`). A contiguous tensor is one vectorised loop and no allocation but
    /// the result: in a release build, 262M bf16 elements cost a fraction of a second of CPU, most of the 1–2 s wall
    /// time being the kernel faulting in the 1 GB result.
    /// - Throws: `ConvertError` for an integer or bool tensor, or one whose elements lie outside its storage (which
    ///   `TorchCheckpoint` never gives).
    public func floats() throws(ConvertError) -> [Float] {
        try checkBounds()
        let widen: Kernel
        switch dtype {
        case .f32: widen = Self.float32
        case .bf16: widen = Self.bfloat16
        case .f16: widen = Self.float16
        case .f64: widen = Self.float64
        default:
            throw ConvertError(path: file.path,
                               reason: "a tensor of size \(shape) has dtype \(dtype.rawValue), not a float type")
        }
        let size = dtype.size
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            initialized = 0
            guard let base = storage.baseAddress, let first = out.baseAddress else { return }
            var written = 0
            forEachRun { start, length, step in
                widen(base + start * size, length, step, first + written)
                written += length
            }
            initialized = count
        }
    }

    /// The elements as `Int`s in row-major order, from the integer dtypes and bool (as 0 and 1).
    /// - Throws: `ConvertError` for a float tensor, a U64 element past `Int.max`, or elements outside the storage.
    public func ints() throws(ConvertError) -> [Int] {
        try checkBounds()
        switch dtype {
        case .i64: return gather(UInt64.self) { Int(Int64(bitPattern: UInt64(littleEndian: $0))) }
        case .i32: return gather(UInt32.self) { Int(Int32(bitPattern: UInt32(littleEndian: $0))) }
        case .i16: return gather(UInt16.self) { Int(Int16(bitPattern: UInt16(littleEndian: $0))) }
        case .i8: return gather(UInt8.self) { Int(Int8(bitPattern: $0)) }
        case .u32: return gather(UInt32.self) { Int(UInt32(littleEndian: $0)) }
        case .u16: return gather(UInt16.self) { Int(UInt16(littleEndian: $0)) }
        case .u8: return gather(UInt8.self) { Int($0) }
        case .bool: return gather(UInt8.self) { $0 == 0 ? 0 : 1 }
        case .u64:
            let values = gather(UInt64.self) { UInt64(littleEndian: $0) }
            guard let big = values.first(where: { $0 > UInt64(Int.max) }) else { return values.map { Int($0) } }
            throw ConvertError(path: file.path, reason: "a U64 tensor of size \(shape) holds \(big), past Int.max")
        default:
            throw ConvertError(path: file.path,
                               reason: "a tensor of size \(shape) has dtype \(dtype.rawValue), not an integer type")
        }
    }

    /// The elements' bytes in row-major order, unchanged (the tensor made contiguous), e.g. to copy it to a bundle.
    ///
    /// - Precondition: every element lies inside the storage, as for every tensor `TorchCheckpoint` gives.
    public func contiguousBytes() -> [UInt8] {
        if let problem = boundsProblem { preconditionFailure("\(file.path): a tensor of size \(shape): \(problem)") }
        let size = dtype.size
        return [UInt8](unsafeUninitializedCapacity: count * size) { out, initialized in
            initialized = 0
            guard let base = storage.baseAddress, var next = out.baseAddress else { return }
            forEachRun { start, length, step in
                let source = base + start * size
                if step == 1 {
                    UnsafeMutableRawPointer(next).copyMemory(from: source, byteCount: length * size)
                } else {
                    for i in 0..<length {
                        UnsafeMutableRawPointer(next + i * size).copyMemory(from: source + i * step * size, byteCount: size)
                    }
                }
                next += length * size
            }
            initialized = count * size
        }
    }

    /// Converts `count` elements `step` elements apart from `source` (at any alignment) into `destination`.
    private typealias Kernel = (_ source: UnsafeRawPointer, _ count: Int, _ step: Int,
                                _ destination: UnsafeMutablePointer<Float>) -> Void

    private static func float32(_ source: UnsafeRawPointer, _ count: Int, _ step: Int,
                                _ destination: UnsafeMutablePointer<Float>) {
        widen(source, count, step, destination) { (bits: UInt32) in Float(bitPattern: UInt32(littleEndian: bits)) }
    }

    /// A bfloat16 is the upper half of a float.
    private static func bfloat16(_ source: UnsafeRawPointer, _ count: Int, _ step: Int,
                                 _ destination: UnsafeMutablePointer<Float>) {
        widen(source, count, step, destination) { (bits: UInt16) in
            Float(bitPattern: UInt32(UInt16(littleEndian: bits)) &<< 16)
        }
    }

    private static func float16(_ source: UnsafeRawPointer, _ count: Int, _ step: Int,
                                _ destination: UnsafeMutablePointer<Float>) {
        widen(source, count, step, destination) { (bits: UInt16) in float(halfBits: UInt16(littleEndian: bits)) }
    }

    private static func float64(_ source: UnsafeRawPointer, _ count: Int, _ step: Int,
                                _ destination: UnsafeMutablePointer<Float>) {
        widen(source, count, step, destination) { (bits: UInt64) in Float(Double(bitPattern: UInt64(littleEndian: bits))) }
    }

    /// The loop of each kernel, inlined into it with its conversion, so that the contiguous case (step 1) is a loop
    /// over `Raw` loads the compiler vectorises.
    @inline(__always)
    private static func widen<Raw>(_ source: UnsafeRawPointer, _ count: Int, _ step: Int,
                                   _ destination: UnsafeMutablePointer<Float>, _ convert: (Raw) -> Float) {
        let size = MemoryLayout<Raw>.size
        if step == 1 {
            for i in 0..<count {
                destination[i] = convert(source.loadUnaligned(fromByteOffset: i &* size, as: Raw.self))
            }
        } else {
            let byteStep = step &* size
            for i in 0..<count {
                destination[i] = convert(source.loadUnaligned(fromByteOffset: i &* byteStep, as: Raw.self))
            }
        }
    }

    /// Why some element would lie outside the storage, or nil when none does.
    ///
    /// Sizes, strides and the offset are non-negative, the element count and its byte count fit in `Int`, and the
    /// furthest element, `storageOffset + Σ (size − 1) · stride`, lies inside the storage (an empty tensor needs only
    /// its offset inside). All arithmetic is checked for overflow.
    var boundsProblem: String? {
        guard shape.count == strides.count else { return "\(shape.count) sizes but \(strides.count) strides" }
        guard storageOffset >= 0 else { return "a negative storage offset \(storageOffset)" }
        guard shape.allSatisfy({ $0 >= 0 }) else { return "a negative size" }
        guard strides.allSatisfy({ $0 >= 0 }) else { return "a negative stride in \(strides)" }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { return "more elements than an Int counts" }
            count = product
        }
        guard !count.multipliedReportingOverflow(by: dtype.size).overflow else { return "more bytes than an Int counts" }
        let available = storage.count / dtype.size
        guard count > 0 else {
            return storageOffset <= available ? nil : "offset \(storageOffset) past the storage's \(available) elements"
        }
        var last = storageOffset
        for (size, stride) in zip(shape, strides) {
            let (step, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, carry) = last.addingReportingOverflow(step)
            guard !overflow, !carry else { return "strides \(strides) reach past what an Int counts" }
            last = sum
        }
        guard last < available else {
            return "offset \(storageOffset) and strides \(strides) reach element \(last) of a storage of \(available)"
        }
        return nil
    }

    private func checkBounds() throws(ConvertError) {
        if let problem = boundsProblem {
            throw ConvertError(path: file.path, reason: "a tensor of size \(shape): \(problem)")
        }
    }

    /// The elements in row-major order, each read as a `Raw` (the stored type, `dtype.size` bytes, at any alignment)
    /// and converted (for `ints()`; `floats()` has its own kernels).
    private func gather<Raw, Value>(_: Raw.Type, _ convert: (Raw) -> Value) -> [Value] {
        [Value](unsafeUninitializedCapacity: count) { out, initialized in
            initialized = 0
            guard let base = storage.baseAddress, let first = out.baseAddress else { return }
            var written = 0
            let size = MemoryLayout<Raw>.size
            forEachRun { start, length, step in
                for i in 0..<length {
                    let raw = base.loadUnaligned(fromByteOffset: (start + i * step) * size, as: Raw.self)
                    (first + written + i).initialize(to: convert(raw))
                }
                written += length
            }
            initialized = count
        }
    }

    /// Calls `body` for each run of elements in row-major order: `length` elements `step` apart, the first at
    /// element `start` of the storage. Dimensions of size 1 are dropped and dimensions that are contiguous with the
    /// next are merged, so a contiguous tensor is one run.
    private func forEachRun(_ body: (_ start: Int, _ length: Int, _ step: Int) -> Void) {
        guard count > 0 else { return }
        var sizes: [Int] = []
        var steps: [Int] = []
        for (size, stride) in zip(shape, strides) where size != 1 {
            // Bounds were checked, so size × stride ≤ the storage's count + stride: no overflow.
            if let last = sizes.indices.last, steps[last] == size * stride {
                sizes[last] *= size
                steps[last] = stride
            } else {
                sizes.append(size)
                steps.append(stride)
            }
        }
        guard let length = sizes.popLast(), let step = steps.popLast() else {
            body(storageOffset, 1, 1)
            return
        }
        var index = [Int](repeating: 0, count: sizes.count)
        var start = storageOffset
        while true {
            body(start, length, step)
            var dimension = sizes.count - 1
            while dimension >= 0 {
                index[dimension] += 1
                start += steps[dimension]
                if index[dimension] < sizes[dimension] { break }
                start -= steps[dimension] * sizes[dimension]
                index[dimension] = 0
                dimension -= 1
            }
            if dimension < 0 { return }
        }
    }

    /// An IEEE half's value, exactly (subnormals, infinities and NaN payloads included): the magnitude's bits
    /// shifted into a float's place and rescaled by 2¹¹², infinities and NaNs given the float's all-ones exponent.
    static func float(halfBits h: UInt16) -> Float {
        let w = UInt32(h)
        let magnitude = (w & 0x7FFF) &<< 13
        let scaled = (Float(bitPattern: magnitude) * 0x1p112).bitPattern
        let bits = (w & 0x7C00) == 0x7C00 ? magnitude | 0x7F80_0000 : scaled
        return Float(bitPattern: bits | (w & 0x8000) &<< 16)
    }
}
