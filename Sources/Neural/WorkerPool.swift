import Foundation
import Synchronization

/// Persistent helper threads for `Parallel`, which spin briefly on a job ticket before they sleep.
///
/// A fork-join through `DispatchQueue.concurrentPerform` waits tens of microseconds for a parked libdispatch
/// thread to wake; a text encoder runs a few hundred regions of well under a millisecond each, so that wait was a
/// visible share of its time. Here a helper that finished a region moments ago picks the next one up in about a
/// microsecond; after `spinLimit` idle checks it sleeps on a condition variable and costs nothing.
///
/// One job at a time: `perform` returns false at once when another thread's job is running (the caller then uses
/// libdispatch), so concurrent users never wait on each other.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// The current job as one word: serial (16 bits) | iterations (24 bits) | next unclaimed iteration (24 bits).
    /// A helper claims an iteration with one compare-and-swap on it, so it never acts on a finished job.
    private let ticket = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleeping = Atomic<Int>(0)
    private let wake = NSCondition()
    /// The job's body; written only while no iteration of the previous job can still be claimed.
    private var body: ((Int) -> Void)?
    private let helpers = Mutex<Int>(0)
    /// Set by `shutDown`: helpers leave their loop, and the pool refuses jobs.
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)

    private static let indexBits = 24, iterationBits = 24
    private static let indexMask = (1 << indexBits) - 1
    private static let iterationMask = (1 << iterationBits) - 1
    private static let spinLimit = 20_000

    /// Runs `body(i)` for `i` in `0..<iterations` on the calling thread and up to `iterations − 1` helpers.
    /// - Returns: false, having run nothing, when the pool is busy with another thread's job.
    func perform(_ iterations: Int, _ body: (Int) -> Void) -> Bool {
        precondition(iterations > 0 && iterations <= WorkerPool.indexMask)
        guard !stopping.load(ordering: .acquiring),
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        ensureHelpers(iterations - 1)
        withoutActuallyEscaping(body) { body in
            self.body = body
            finished.store(0, ordering: .relaxed)
            let serial = ((ticket.load(ordering: .relaxed) >> (WorkerPool.indexBits + WorkerPool.iterationBits)) + 1) & 0xFFFF
            ticket.store((serial << (WorkerPool.indexBits + WorkerPool.iterationBits)) | (iterations << WorkerPool.indexBits),
                         ordering: .sequentiallyConsistent)
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            while claimAndRun() {}
            var spins = 0
            while finished.load(ordering: .acquiring) < iterations {
                spins += 1
                if spins > 1000 { sched_yield() }
            }
            self.body = nil
        }
        return true
    }

    /// Claims one iteration of the current job and runs it; false when none is left.
    private func claimAndRun() -> Bool {
        var current = ticket.load(ordering: .acquiring)
        while true {
            let index = current & WorkerPool.indexMask
            let iterations = (current >> WorkerPool.indexBits) & WorkerPool.iterationMask
            guard index < iterations else { return false }
            let (exchanged, original) = ticket.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                body!(index)
                finished.add(1, ordering: .releasing)
                return true
            }
            current = original
        }
    }

    private func ensureHelpers(_ wanted: Int) {
        helpers.withLock { count in
            while count < wanted {
                running.add(1, ordering: .relaxed)
                let thread = Thread { [self] in
                    helperLoop()
                    running.subtract(1, ordering: .releasing)
                }
                thread.name = "vjsearch-neural-\(count + 1)"
                thread.start()
                count += 1
            }
        }
    }

    /// Stops the helpers and waits until they have left; the pool then refuses every job (callers fall back to
    /// libdispatch). For pools other than `shared`, which lives as long as the process.
    func shutDown() {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { sched_yield() }
        stopping.store(true, ordering: .sequentiallyConsistent)
        busy.store(false, ordering: .releasing)
        wake.lock()
        wake.broadcast()
        wake.unlock()
        while running.load(ordering: .acquiring) > 0 { sched_yield() }
    }

    /// Helper threads alive now.
    var helperCount: Int { running.load(ordering: .acquiring) }

    private func helperLoop() {
        var seen = ticket.load(ordering: .acquiring) >> WorkerPool.indexBits
        while true {
            var spins = 0
            while ticket.load(ordering: .acquiring) >> WorkerPool.indexBits == seen {
                if stopping.load(ordering: .acquiring) { return }
                spins += 1
                if spins < WorkerPool.spinLimit { continue }
                wake.lock()
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while ticket.load(ordering: .sequentiallyConsistent) >> WorkerPool.indexBits == seen,
                      !stopping.load(ordering: .sequentiallyConsistent) {
                    wake.wait()
                }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
            }
            seen = ticket.load(ordering: .acquiring) >> WorkerPool.indexBits
            while claimAndRun() {}
        }
    }
}
