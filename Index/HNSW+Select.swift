extension Graph {
    /// hnswlib's `getNeighborsByHeuristic2` (the paper's Algorithm 4 without extension or pruned-link
    /// keeping): walking `candidates` closest first, keep one unless it is closer to an already kept
    /// neighbour than to the base. Keeps at most `limit`; rewrites `candidates[0..<count]` in place.
    ///
    /// - Parameter candidates: sorted by ascending distance to the base.
    /// - Returns: how many were kept.
    func selectNeighbours(_ candidates: UnsafeMutablePointer<Candidate>, count: Int, limit: Int) -> Int {
        if count <= limit { return count }
        var kept = 0
        var i = 0
        while i < count && kept < limit {
            let candidate = candidates[i]
            let v = vector(candidate.slot)
            var good = true
            var j = 0
            while j < kept {
                if distance(v, vector(candidates[j].slot)) < candidate.distance {
                    good = false
                    break
                }
                j &+= 1
            }
            if good {
                candidates[kept] = candidate
                kept &+= 1
            }
            i &+= 1
        }
        return kept
    }
}

/// Sorts candidates by ascending distance (insertion sort: lists hold at most a few hundred).
func sortCandidates(_ c: UnsafeMutablePointer<Candidate>, count: Int) {
    if count > 64 {
        var buffer = UnsafeMutableBufferPointer(start: c, count: count)
        buffer.sort { $0.distance < $1.distance }
        return
    }
    var i = 1
    while i < count {
        let x = c[i]
        var j = i - 1
        while j >= 0 && c[j].distance > x.distance {
            c[j + 1] = c[j]
            j -= 1
        }
        c[j + 1] = x
        i += 1
    }
}
