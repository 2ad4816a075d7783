import Foundation
import Synchronization
import Testing
@testable import Neural

/// Per-index run counts, shared across threads.
private final class Tally: Sendable {
    private let counts: Mutex<[Int]>
    init(_ n: Int) { counts = Mutex([Int](repeating: 0, count: n)) }
    func hit(_ i: Int) { counts.withLock { $0[i] += 1 } }
    var values: [Int] { counts.withLock { $0 } }
}

@Suite struct WorkerPoolTests {
    /// Many back-to-back jobs of varied widths: every iteration of every job runs exactly once, and a job returns
    /// only after all of its iterations have finished.
    @Test func everyIterationRunsExactlyOnce() {
        let pool = WorkerPool()
        defer { pool.shutDown() }
        for job in 0..<20_000 {
            let iterations = 1 + job % 4
            let tally = Tally(iterations)
            let ran = pool.perform(iterations) { i in
                if job % 97 == 0 { usleep(50) }  // now and then a slow iteration
                tally.hit(i)
            }
            #expect(ran)
            if tally.values != [Int](repeating: 1, count: iterations) {
                Issue.record("job \(job): iterations ran \(tally.values) times")
                return
            }
        }
    }

    /// A pool a test makes leaves no threads behind once shut down, and then refuses jobs.
    @Test func shutDownEndsTheHelpers() {
        let pool = WorkerPool()
        let tally = Tally(4)
        #expect(pool.perform(4) { tally.hit($0) })
        #expect(pool.helperCount == 3)
        pool.shutDown()
        #expect(pool.helperCount == 0)
        #expect(!pool.perform(2) { _ in })
    }

    /// Threads sharing one pool: a job either runs completely, or is refused (the pool is busy) and none of it runs.
    @Test func aBusyPoolRefusesOtherThreadsJobs() async {
        let pool = WorkerPool()
        defer { pool.shutDown() }
        let outcomes = await withTaskGroup(of: (ran: Int, refused: Int, broken: Int).self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var result = (ran: 0, refused: 0, broken: 0)
                    for _ in 0..<500 {
                        let tally = Tally(3)
                        let accepted = pool.perform(3) { tally.hit($0) }
                        let expected = [Int](repeating: accepted ? 1 : 0, count: 3)
                        if tally.values != expected { result.broken += 1 }
                        if accepted { result.ran += 1 } else { result.refused += 1 }
                    }
                    return result
                }
            }
            var total = (ran: 0, refused: 0, broken: 0)
            for await r in group { total = (total.ran + r.ran, total.refused + r.refused, total.broken + r.broken) }
            return total
        }
        #expect(outcomes.broken == 0)
        #expect(outcomes.ran + outcomes.refused == 2000 && outcomes.ran > 0)
    }

    /// `Parallel` from several threads at once (the pool for one, libdispatch for the rest) covers each index once.
    @Test func parallelRangesFromSeveralThreadsCoverEveryIndex() async {
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<200 {
                        let tally = Tally(1000)
                        Parallel.ranges(1000, minimum: 10) { r in for i in r { tally.hit(i) } }
                        if tally.values != [Int](repeating: 1, count: 1000) { return false }
                    }
                    return true
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
