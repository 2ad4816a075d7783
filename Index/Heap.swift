/// A (distance, slot) pair in a search.
struct Candidate {
    var distance: Float
    var slot: UInt32
}

/// A binary max-heap of candidates over reusable storage: no allocation once warm.
///
/// Search keeps results in one (farthest on top) and the frontier in another with negated
/// distances (closest on top), as hnswlib does.
struct CandidateHeap: ~Copyable {
    private(set) var storage: UnsafeMutablePointer<Candidate>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    var isEmpty: Bool { count == 0 }
    var top: Candidate { storage[0] }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func push(_ distance: Float, _ slot: UInt32) {
        if count == capacity { grow() }
        var i = count
        count &+= 1
        while i > 0 {
            let parent = (i &- 1) >> 1
            if storage[parent].distance >= distance { break }
            storage[i] = storage[parent]
            i = parent
        }
        storage[i] = Candidate(distance: distance, slot: slot)
    }

    @inline(__always)
    @discardableResult
    mutating func pop() -> Candidate {
        let result = storage[0]
        count &-= 1
        if count > 0 {
            let last = storage[count]
            var i = 0
            while true {
                var child = 2 &* i &+ 1
                if child >= count { break }
                if child &+ 1 < count && storage[child &+ 1].distance > storage[child].distance { child &+= 1 }
                if storage[child].distance <= last.distance { break }
                storage[i] = storage[child]
                i = child
            }
            storage[i] = last
        }
        return result
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Candidate>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }
}

/// A visited set over slots, cleared in O(1) by bumping a generation stamp.
///
/// Stamps are 16-bit, as in hnswlib: half the cache footprint of 32-bit ones, cleared for real once
/// every 65,535 searches.
struct VisitedSet: ~Copyable {
    private(set) var marks: UnsafeMutablePointer<UInt16>
    private(set) var capacity: Int
    private var generation: UInt16 = 1

    init(capacity: Int) {
        self.capacity = max(capacity, 1024)
        marks = .allocate(capacity: self.capacity)
        marks.initialize(repeating: 0, count: self.capacity)
    }

    deinit { marks.deallocate() }

    /// Starts a new search over `slots` slots.
    mutating func reset(slots: Int) {
        if slots > capacity {
            marks.deallocate()
            capacity = max(slots, capacity * 2)
            marks = .allocate(capacity: capacity)
            marks.initialize(repeating: 0, count: capacity)
            generation = 1
            return
        }
        generation &+= 1
        if generation == 0 {
            marks.update(repeating: 0, count: capacity)
            generation = 1
        }
    }

    /// Marks `slot`; returns whether it was already marked in this search.
    @inline(__always)
    func testAndSet(_ slot: UInt32) -> Bool { view.testAndSet(slot) }

    @inline(__always)
    func contains(_ slot: UInt32) -> Bool { view.contains(slot) }

    /// A copyable, non-owning handle for a search's hot loop: valid until the next `reset` or the set's end.
    var view: View { View(marks: marks, generation: generation) }

    struct View {
        let marks: UnsafeMutablePointer<UInt16>
        let generation: UInt16

        @inline(__always)
        func testAndSet(_ slot: UInt32) -> Bool {
            let p = marks + Int(slot)
            if p.pointee == generation { return true }
            p.pointee = generation
            return false
        }

        @inline(__always)
        func contains(_ slot: UInt32) -> Bool { marks[Int(slot)] == generation }
    }
}
