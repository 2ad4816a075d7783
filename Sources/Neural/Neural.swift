import CBLAS
import Dispatch
import Foundation
import Synchronization

/// Neural: tensors over flat Float buffers, OpenBLAS GEMM, transformer kernels and safetensors.
///
/// Threading: the kernels split their work across `Neural.threads` workers (the calling thread and the helpers of
/// `WorkerPool`), and each worker calls OpenBLAS on its own share with OpenBLAS itself single-threaded. OpenBLAS's
/// own pool would otherwise spin between calls and compete with the elementwise kernels for the same cores.
public enum Neural {
    private static let configuredThreads = Atomic<Int>(0)

    /// Worker threads for kernels (default: the active processor count).
    public static var threads: Int {
        let n = configuredThreads.load(ordering: .relaxed)
        return n > 0 ? n : defaultThreads
    }

    /// Worker threads at most: a larger request is clamped (each worker is a thread with its own stack).
    public static let maxThreads = 256

    /// Sets the worker count for all later kernel calls (process-wide), clamped to 1...`maxThreads`.
    public static func setThreads(_ count: Int) {
        configuredThreads.store(min(max(1, count), maxThreads), ordering: .relaxed)
    }

    static let defaultThreads = min(max(1, ProcessInfo.processInfo.activeProcessorCount), maxThreads)

    /// The kernel set OpenBLAS picked when it loaded, e.g. `Haswell`.
    public static var blasCore: String { vj_blas_core_name().map { String(cString: $0) } ?? "unknown" }

    /// The `OPENBLAS_CORETYPE` this CPU can run when OpenBLAS, not recognising it, fell back to its generic kernels
    /// (`Prescott`), which run `sgemm` at a third of the speed; nil when OpenBLAS's choice stands. OpenBLAS reads
    /// the variable only when it loads, so a process must set it and start again (see `vjsearch`'s `main`).
    public static var betterBLASCore: String? { vj_blas_better_core().map { String(cString: $0) } }

    /// Pins OpenBLAS to one thread the first time a kernel runs (lazy statics initialise exactly once).
    static let blasPinned: Bool = {
        vj_blas_set_num_threads(1)
        return true
    }()
}

/// Fork-join over contiguous ranges on `Neural.threads` workers.
enum Parallel {
    /// Calls `body` on disjoint ranges covering `0..<count`, at most one range per worker and none shorter than
    /// `minimum` (except when `count` itself is). Runs inline when one range suffices.
    static func ranges(_ count: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
        _ = Neural.blasPinned
        let workers = min(Neural.threads, max(1, count / max(1, minimum)))
        if workers <= 1 || count <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let chunk = (count + workers - 1) / workers
        withoutActuallyEscaping(body) { body in
            // Each worker touches only its own range of buffers the caller owns for the duration of the call.
            let work = UncheckedSendable(value: body)
            fork(workers) { w in
                let start = w * chunk
                let end = min(count, start + chunk)
                if start < end { work.value(start..<end) }
            }
        }
    }

    /// Calls `body(worker, item)` for items `0..<count`, item `i` on worker `i mod workers` (for work that needs
    /// per-worker scratch space); at most `maxWorkers` workers.
    static func items(_ count: Int, maxWorkers: Int = .max, _ body: (Int, Int) -> Void) {
        _ = Neural.blasPinned
        let workers = min(Neural.threads, count, maxWorkers)
        if workers <= 1 {
            for i in 0..<count { body(0, i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(value: body)
            fork(workers) { w in
                var i = w
                while i < count { work.value(w, i); i += workers }
            }
        }
    }
}

extension Parallel {
    /// Runs `body(w)` for `w` in `0..<workers` at once: on the spinning `WorkerPool`, or through libdispatch when
    /// another thread's job holds the pool.
    fileprivate static func fork(_ workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        if !WorkerPool.shared.perform(workers, body) {
            DispatchQueue.concurrentPerform(iterations: workers, execute: body)
        }
    }
}

/// Carries a value into a `@Sendable` closure when the caller guarantees the accesses do not race.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
