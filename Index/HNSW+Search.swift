import CLMDB

/// Reusable buffers for one search or one writer: no allocation once warm. Not copyable: each buffer has one
/// owner, freed when it ends.
struct SearchScratch: ~Copyable {
    var visited: VisitedSet
    var results: CandidateHeap
    var frontier: CandidateHeap
    /// The query, normalised for cosine.
    var query: UnsafeMutablePointer<Float>
    var dimension: Int
    /// Results in ascending distance, filled by `sortResults`.
    var sorted: UnsafeMutablePointer<Candidate>
    var sortedCapacity: Int
    var sortedCount = 0
    /// The unvisited neighbours of one expansion.
    let neighbours: UnsafeMutablePointer<UInt32>

    init(dimension: Int, slots: Int, ef: Int) {
        visited = VisitedSet(capacity: slots)
        results = CandidateHeap(capacity: ef + 1)
        frontier = CandidateHeap(capacity: ef * 4)
        query = .allocate(capacity: max(dimension, 1))
        self.dimension = dimension
        sortedCapacity = max(ef + 1, 64)
        sorted = .allocate(capacity: sortedCapacity)
        neighbours = .allocate(capacity: 2 * 1024 + 1)  // m0 ≤ 2048
    }

    deinit {
        neighbours.deallocate()
        query.deallocate()
        sorted.deallocate()
    }

    /// Copies `vector` into `query`, normalising it for cosine.
    mutating func setQuery(_ vector: UnsafePointer<Float>, metric: Metric) {
        query.update(from: vector, count: dimension)
        if metric == .cosine { Distance.normalize(query, dimension) }
    }

    /// Empties `results` into `sorted`, closest first.
    mutating func sortResults() {
        if results.count > sortedCapacity {
            sorted.deallocate()
            sortedCapacity = results.count * 2
            sorted = .allocate(capacity: sortedCapacity)
        }
        sortedCount = results.count
        var i = sortedCount
        while !results.isEmpty {
            i -= 1
            sorted[i] = results.pop()
        }
    }
}

/// What a graph walk measures: exact distances to the f32 vectors, or estimates from the int8 codes. The search
/// loops are generic over it, so that each is compiled for one kind, with no branch per distance.
protocol GraphWalk {
    func distance(_ g: Graph, _ slot: UInt32) -> Float
    /// Where the bytes this walk reads for `slot` start, and how many it reads.
    func address(_ g: Graph, _ slot: UInt32) -> UnsafeRawPointer
    func bytes(_ g: Graph) -> Int
}

/// Exact distances from `query` (normalised for cosine) to the stored f32 vectors.
struct ExactWalk: GraphWalk {
    let query: UnsafePointer<Float>

    @inline(__always) func distance(_ g: Graph, _ slot: UInt32) -> Float { g.distance(query, g.vector(slot)) }
    @inline(__always) func address(_ g: Graph, _ slot: UInt32) -> UnsafeRawPointer { UnsafeRawPointer(g.vector(slot)) }
    @inline(__always) func bytes(_ g: Graph) -> Int { g.dimension &* 4 }
}

/// Distances from `query` (f32) to the int8 codes of an int8 index.
struct CodeWalk: GraphWalk {
    let query: UnsafePointer<Float>

    @inline(__always) func distance(_ g: Graph, _ slot: UInt32) -> Float { g.codeDistance(query, slot) }
    @inline(__always) func address(_ g: Graph, _ slot: UInt32) -> UnsafeRawPointer { g.code(slot) }
    @inline(__always) func bytes(_ g: Graph) -> Int { g.codeBytes }
}

extension Graph {
    /// Greedy descent (ef = 1) from `entry` through layers `top` down to `bottom`, inclusive.
    ///
    /// - Returns: the closest slot found and its distance.
    func descend<W: GraphWalk>(
        _ walk: W, entry: UInt32, distance: Float, from top: Int, to bottom: Int
    ) throws -> (UInt32, Float) {
        var current = entry
        var best = distance
        var layer = top
        while layer >= bottom {
            var changed = true
            while changed {
                changed = false
                let list = try links(current, layer: layer)
                let count = try checkedCount(list, slot: current, layer: layer)
                var j = 1
                let bytes = walk.bytes(self)
                while j <= count {
                    prefetch(walk.address(self, try checked(list[j], of: current)), bytes: bytes)
                    j &+= 1
                }
                j = 1
                while j <= count {
                    let candidate = list[j]
                    let d = walk.distance(self, candidate)
                    if d < best {
                        best = d
                        current = candidate
                        changed = true
                    }
                    j &+= 1
                }
            }
            layer -= 1
        }
        return (current, best)
    }

    /// hnswlib's `searchBaseLayer`: best-first search on `layer` from `entry`, keeping the `ef` closest
    /// slots in `scratch.results`. Only live slots, and with a `filter` only those whose id it holds, enter the
    /// results, while the search still walks through the others.
    ///
    /// - Complexity: O(ef · degree) distance evaluations, typically.
    func searchLayer<W: GraphWalk>(
        _ walk: W, entry: UInt32, distance entryDistance: Float, ef: Int, layer: Int,
        slots: Int, scratch: inout SearchScratch, filter: Set<UInt64>? = nil
    ) throws {
        scratch.visited.reset(slots: slots)
        scratch.results.removeAll()
        scratch.frontier.removeAll()
        let visited = scratch.visited.view
        let vectorBytes = min(walk.bytes(self), prefetchBytes)
        var lowerBound = Float.infinity
        if admits(entry, filter) {
            scratch.results.push(entryDistance, entry)
            lowerBound = entryDistance
        }
        scratch.frontier.push(-entryDistance, entry)
        _ = visited.testAndSet(entry)

        while !scratch.frontier.isEmpty {
            let current = scratch.frontier.top
            if -current.distance > lowerBound && scratch.results.count >= ef { break }
            scratch.frontier.pop()
            let list = layer == 0 ? links0(current.slot) : try links(current.slot, layer: layer)
            let count = try checkedCount(list, slot: current.slot, layer: layer)
            // First pass: keep the unvisited neighbours. Then compute their distances while loading the
            // vectors two ahead, so that memory latency of the map overlaps with arithmetic (hnswlib
            // prefetches one ahead; a whole vector spans many cache lines here).
            let fresh = scratch.neighbours
            var n = 0
            var j = 1
            while j <= count {
                vj_prefetch(visited.marks + Int(try checked(list[j], of: current.slot)))
                j &+= 1
            }
            j = 1
            while j <= count {
                let candidate = list[j]
                j &+= 1
                if visited.testAndSet(candidate) { continue }
                fresh[n] = candidate
                n &+= 1
            }
            if n > 0 { prefetch(walk.address(self, fresh[0]), bytes: vectorBytes) }
            if n > 1 { prefetch(walk.address(self, fresh[1]), bytes: vectorBytes) }
            j = 0
            while j < n {
                let candidate = fresh[j]
                if j &+ 2 < n { prefetch(walk.address(self, fresh[j &+ 2]), bytes: vectorBytes) }
                j &+= 1
                let d = walk.distance(self, candidate)
                if scratch.results.count < ef || d < lowerBound {
                    scratch.frontier.push(-d, candidate)
                    // It will likely be expanded: start loading its links (stored apart from its vector).
                    if layer == 0 { vj_prefetch(links0(candidate)) }
                    if admits(candidate, filter) {
                        scratch.results.push(d, candidate)
                        if scratch.results.count > ef { scratch.results.pop() }
                    }
                    if !scratch.results.isEmpty { lowerBound = scratch.results.top.distance }
                }
            }
        }
    }

    /// Replaces the distances in `scratch.sorted` (to int8 codes) by exact ones from the f32 vectors, and
    /// re-sorts: the final order of an int8 index's results is exact.
    func rescore(_ query: UnsafePointer<Float>, _ scratch: inout SearchScratch) {
        for j in 0..<scratch.sortedCount {
            let slot = scratch.sorted[j].slot
            scratch.sorted[j] = Candidate(distance: distance(query, vector(slot)), slot: slot)
        }
        sortCandidates(scratch.sorted, count: scratch.sortedCount)
    }

    /// How much of each upcoming vector search prefetches: the first lines start the hardware streamer,
    /// and more only fill the line buffers and stall (measured on 384-d).
    var prefetchBytes: Int { 512 }

    /// Starts loading the first `bytes` at `v`.
    @inline(__always)
    func prefetch(_ v: UnsafeRawPointer, bytes: Int) {
        var line = 0
        while line < bytes {
            vj_prefetch(v + line)
            line &+= 64
        }
    }

    /// Full search: greedy descent through the upper layers, then `searchLayer` on layer 0.
    /// Leaves the closest `ef` (allowed) slots in `scratch.sorted`, closest first by the walk's distance.
    func search<W: GraphWalk>(
        _ walk: W, meta: Meta, ef: Int, scratch: inout SearchScratch, filter: Set<UInt64>?
    ) throws {
        scratch.sortedCount = 0
        guard meta.entry != Meta.noEntry else { return }
        guard Int(meta.entry) < slotLimit else { throw damaged("the entry point \(meta.entry) is past the last slot") }
        let entryDistance = walk.distance(self, meta.entry)
        let (start, startDistance) = try descend(walk, entry: meta.entry, distance: entryDistance, from: meta.maxLevel, to: 1)
        try searchLayer(
            walk, entry: start, distance: startDistance, ef: ef, layer: 0, slots: meta.slotCount,
            scratch: &scratch, filter: filter)
        scratch.sortResults()
    }
}
