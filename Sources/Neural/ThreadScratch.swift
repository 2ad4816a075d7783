#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A scratch buffer of Floats per thread, kept between calls and grown as needed, for scratch too large for the
/// stack: a fresh heap block of megabytes each call is a fresh mapping whose every page faults when first written,
/// which cost more than the work done in it (16-bit weights converted per product, `Linear`).
enum ThreadScratch {
    private final class Buffer {
        var pointer: UnsafeMutablePointer<Float>
        var capacity: Int
        init(_ capacity: Int) {
            pointer = .allocate(capacity: capacity)
            self.capacity = capacity
        }
        deinit { pointer.deallocate() }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<Buffer>.fromOpaque(raw).release()
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    /// Runs `body` with this thread's buffer of at least `count` Floats (contents undefined). Not reentrant.
    static func withFloats<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let buffer: Buffer
        if let raw = pthread_getspecific(key) {
            buffer = Unmanaged<Buffer>.fromOpaque(raw).takeUnretainedValue()
            if buffer.capacity < count {
                buffer.pointer.deallocate()
                buffer.pointer = .allocate(capacity: count)
                buffer.capacity = count
            }
        } else {
            buffer = Buffer(count)
            pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        }
        return try body(buffer.pointer)
    }
}
