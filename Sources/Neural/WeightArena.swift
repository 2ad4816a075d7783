import Glibc

/// Storage for weights converted to Float32 at load time (from f16 or bf16), carved out of large chunks.
///
/// A cold query converts tens of megabytes of text-encoder weights, and first-touch page faults on 4 KiB pages
/// cost more than the conversion itself. Chunks are 2 MiB-aligned and advised as transparent huge pages, so
/// the kernel maps them 2 MiB at a time where it can (THP "madvise" mode, Debian's default); elsewhere they
/// behave as ordinary memory. Parameters borrowing from the arena keep it alive.
public final class WeightArena: @unchecked Sendable {
    private static let alignment = 2 << 20
    private static let chunkBytes = 32 << 20
    private var chunks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0

    public init() {}

    deinit { for chunk in chunks { free(chunk) } }

    /// Uninitialised room for `count` floats, 64-byte aligned.
    public func allocate(count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = (max(1, count) * MemoryLayout<Float>.stride + 63) & ~63
        if bytes > remaining {
            let size = (max(bytes, Self.chunkBytes) + Self.alignment - 1) & ~(Self.alignment - 1)
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, Self.alignment, size) == 0, let memory else {
                fatalError("out of memory allocating \(size) bytes of weights")
            }
            _ = madvise(memory, size, 14)  // MADV_HUGEPAGE; advisory, failure is harmless
            chunks.append(memory)
            cursor = memory
            remaining = size
        }
        let result = cursor!.bindMemory(to: Float.self, capacity: count)
        cursor = cursor! + bytes
        remaining -= bytes
        return result
    }
}
