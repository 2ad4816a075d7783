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

    /// The query, for walking an int8 index.
    var code: QueryCode { QueryCode(vector: query) }

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

extension Graph {
    /// The distance the graph walk uses: to `slot`'s int8 code when the query was quantised (`code`), else exact.
    @inline(__always)
    func walkDistance(_ query: UnsafePointer<Float>, _ code: QueryCode?, _ slot: UInt32) -> Float {
        if let code { return distance(code, slot) }
        return distance(query, vector(slot))
    }

    /// Greedy descent (ef = 1) from `entry` through layers `top` down to `bottom`, inclusive; on int8 codes
    /// when `code` is given.
    ///
    /// - Returns: the closest slot found and its distance.
    func descend(
        _ query: UnsafePointer<Float>, code: QueryCode? = nil, entry: UInt32, distance: Float, from top: Int, to bottom: Int
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
                let bytes = code == nil ? dimension &* 4 : codeBytes
                while j <= count {
                    prefetch(try checked(list[j], of: current), bytes: bytes, codes: code != nil)
                    j &+= 1
                }
                j = 1
                while j <= count {
                    let candidate = list[j]
                    let d = walkDistance(query, code, candidate)
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
    /// results, while the search still walks through the others. With `code`, distances are to int8 codes.
    ///
    /// - Complexity: O(ef · degree) distance evaluations, typically.
    func searchLayer(
        _ query: UnsafePointer<Float>, entry: UInt32, distance entryDistance: Float, ef: Int, layer: Int,
        slots: Int, scratch: inout SearchScratch, filter: Set<UInt64>? = nil, code: QueryCode? = nil
    ) throws {
        scratch.visited.reset(slots: slots)
        scratch.results.removeAll()
        scratch.frontier.removeAll()
        let visited = scratch.visited.view
        let vectorBytes = min(code == nil ? dimension * 4 : codeBytes, prefetchBytes)
        let codes = code != nil
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
            if n > 0 { prefetch(fresh[0], bytes: vectorBytes, codes: codes) }
            if n > 1 { prefetch(fresh[1], bytes: vectorBytes, codes: codes) }
            j = 0
            while j < n {
                let candidate = fresh[j]
                if j &+ 2 < n { prefetch(fresh[j &+ 2], bytes: vectorBytes, codes: codes) }
                j &+= 1
                let d = walkDistance(query, code, candidate)
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

    /// Starts loading the first `bytes` of the vector (or, with `codes`, the int8 code) of `slot`.
    @inline(__always)
    func prefetch(_ slot: UInt32, bytes: Int, codes: Bool) {
        let v = codes ? code(slot) : UnsafeRawPointer(vector(slot))
        var line = 0
        while line < bytes {
            vj_prefetch(v + line)
            line &+= 64
        }
    }

    /// Full search: greedy descent through the upper layers, then `searchLayer` on layer 0.
    /// Leaves the closest `ef` (allowed) slots in `scratch.sorted`, closest first; with `code`, by the distance
    /// to their int8 codes.
    func search(
        _ query: UnsafePointer<Float>, code: QueryCode? = nil, meta: Meta, ef: Int, scratch: inout SearchScratch,
        filter: Set<UInt64>?
    ) throws {
        scratch.sortedCount = 0
        guard meta.entry != Meta.noEntry else { return }
        guard Int(meta.entry) < slotLimit else { throw damaged("the entry point \(meta.entry) is past the last slot") }
        let entryDistance = walkDistance(query, code, meta.entry)
        let (start, startDistance) = try descend(
            query, code: code, entry: meta.entry, distance: entryDistance, from: meta.maxLevel, to: 1)
        try searchLayer(
            query, entry: start, distance: startDistance, ef: ef, layer: 0, slots: meta.slotCount,
            scratch: &scratch, filter: filter, code: code)
        scratch.sortResults()
    }
}
