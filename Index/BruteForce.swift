extension Graph {
    /// Exact k-nearest search over every live slot (or only the slots of `filter`), for tests,
    /// `--exact` and very selective filters. Leaves results in `scratch.sorted`, closest first.
    ///
    /// - Complexity: O(n · d) for n candidates.
    func exactSearch(
        _ query: UnsafePointer<Float>, k: Int, slotCount: Int, scratch: inout SearchScratch,
        slots candidates: [UInt32]? = nil
    ) {
        scratch.results.removeAll()
        @inline(__always) func consider(_ s: UInt32) {
            let d = distance(query, vector(s))
            if scratch.results.count < k {
                scratch.results.push(d, s)
            } else if d < scratch.results.top.distance {
                scratch.results.pop()
                scratch.results.push(d, s)
            }
        }
        if let candidates {
            for s in candidates { consider(s) }
        } else {
            for s in 0..<UInt32(slotCount) where isLive(s) { consider(s) }
        }
        scratch.sortResults()
    }
}
