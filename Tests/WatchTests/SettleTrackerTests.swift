import Testing
@testable import Watch

// `#expect` cannot call mutating methods; these take the value `inout` instead.
private func take(_ t: inout SettleTracker) -> [String] { t.takeReady() }
private func push(_ path: String, _ q: inout WorkQueue) -> Bool { q.push(path) }
private func pop(_ q: inout WorkQueue) -> String? { q.pop() }

@Suite struct SettleTrackerTests {
    @Test func aFileIsReadyOnlyAfterHoldingStillForTheSettleTime() {
        var t = SettleTracker(settle: 2)
        t.observe("/v/a.mp4", size: 100, mtime: 10, at: 0)
        #expect(take(&t).isEmpty)
        t.observe("/v/a.mp4", size: 100, mtime: 10, at: 1.9)
        #expect(take(&t).isEmpty)
        t.observe("/v/a.mp4", size: 100, mtime: 10, at: 2.0)
        #expect(take(&t) == ["/v/a.mp4"])
        #expect(t.isEmpty)
        #expect(take(&t).isEmpty)
    }

    @Test(arguments: [(UInt64(200), 10.0), (UInt64(100), 11.0)])
    func aChangeRestartsTheWait(size: UInt64, mtime: Double) {
        var t = SettleTracker(settle: 2)
        t.observe("/v/a.mp4", size: 100, mtime: 10, at: 0)
        t.observe("/v/a.mp4", size: size, mtime: mtime, at: 1.5)  // still being written
        t.observe("/v/a.mp4", size: size, mtime: mtime, at: 3.0)
        #expect(take(&t).isEmpty)
        #expect(t.nextDeadline == 3.5)
        t.observe("/v/a.mp4", size: size, mtime: mtime, at: 3.5)
        #expect(take(&t) == ["/v/a.mp4"])
    }

    @Test func withoutALaterObservationNothingIsReady() {
        // Time passing is not enough: stability must be seen by a stat after the settle time.
        var t = SettleTracker(settle: 1)
        t.observe("/v/a.mp4", size: 1, mtime: 1, at: 0)
        #expect(take(&t).isEmpty)
        #expect(t.pending == ["/v/a.mp4"])
    }

    @Test func forgettingAFolderForgetsWhatIsUnderIt() {
        var t = SettleTracker(settle: 0)
        for p in ["/v/a/1.mp4", "/v/a/b/2.mp4", "/v/ab.mp4", "/v/c.mp4"] { t.observe(p, size: 1, mtime: 1, at: 0) }
        t.forget(under: "/v/a")
        t.forget("/v/c.mp4")
        #expect(t.pending == ["/v/ab.mp4"])
        #expect(t.takeReady() == ["/v/ab.mp4"])  // settle 0: ready at once
    }

    @Test func filesSettleIndependently() {
        var t = SettleTracker(settle: 1)
        t.observe("/v/a.mp4", size: 1, mtime: 1, at: 0)
        t.observe("/v/b.mp4", size: 1, mtime: 1, at: 0.5)
        #expect(t.nextDeadline == 1)
        t.observe("/v/a.mp4", size: 1, mtime: 1, at: 1.2)
        t.observe("/v/b.mp4", size: 1, mtime: 1, at: 1.2)
        #expect(take(&t) == ["/v/a.mp4"])
        #expect(t.count == 1)
    }
}

@Suite struct WorkQueueTests {
    @Test func pathsAreQueuedOnceInArrivalOrder() {
        var q = WorkQueue()
        #expect(push("/a", &q))
        #expect(push("/b", &q))
        #expect(!push("/a", &q))
        #expect(q.count == 2)
        #expect(q.paths == ["/a", "/b"])
        #expect(pop(&q) == "/a")
        #expect(push("/a", &q))  // queued again once taken
        #expect(pop(&q) == "/b")
        #expect(pop(&q) == "/a")
        #expect(pop(&q) == nil)
        #expect(q.isEmpty)
    }

    @Test func removingAFolderDropsWhatIsUnderIt() {
        var q = WorkQueue()
        for p in ["/v/a/1", "/v/ab", "/v/a", "/v/a/b/2", "/w"] { q.push(p) }
        q.remove("/v/a", under: true)
        #expect(q.paths == ["/v/ab", "/w"])
        q.remove("/w")
        #expect(pop(&q) == "/v/ab")
        #expect(pop(&q) == nil)
    }

    @Test func aLongQueueHoldsEachPathOnceAndKeepsOrder() {
        var q = WorkQueue()
        var model: [String] = []  // the obvious implementation, to compare with
        for i in 0..<500 {
            for p in ["/f\(i)", "/f\(i / 2)"] where !model.contains(p) {
                model.append(p)
                #expect(push(p, &q))
            }
            if i % 3 == 0 {
                let popped = q.pop()
                #expect(popped == model.removeFirst())
            }
            if i % 7 == 0, let victim = model.last {
                model.removeLast()
                q.remove(victim)
            }
        }
        #expect(q.paths == model)
        #expect(q.count == model.count)
        while let p = q.pop() {
            let expected = model.removeFirst()
            #expect(p == expected)
        }
        #expect(model.isEmpty)
    }
}
