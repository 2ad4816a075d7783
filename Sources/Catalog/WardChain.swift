/// Ward agglomerative clustering of a video's embedding stream with temporal connectivity: the segmentation
/// behind VL-JEPA's selective decoding (arXiv 2512.10942 §4.6), where it cuts the stream into stretches "of high
/// intra-segment monosemanticity, measured by variance (i.e. Ward distance)".
///
/// Items are the clip vectors in time order, L2-normalised here. Only neighbouring clusters may merge (the
/// connectivity graph is the chain 0–1–…–(n−1)), so every cluster is a contiguous run of clips. Each step merges
/// the neighbouring pair with the least Ward cost, the increase in the total within-cluster sum of squares:
///
///     cost(A, B) = nA·nB / (nA + nB) · ‖μA − μB‖²
///
/// as scikit-learn's `AgglomerativeClustering(linkage="ward", connectivity=<chain>)` does. Under a connectivity
/// constraint the costs are not always non-decreasing: merging A with B can bring the union closer to its other
/// neighbour C than B was (`WardChain.heights` gives the running maximum, the non-decreasing dendrogram height).
public struct WardChain: Sendable {
    /// One merge: the clusters meeting at `boundary` (the first item of the right-hand one) become one.
    public struct Merge: Sendable, Equatable {
        public var boundary: Int
        /// Ward's cost: how much the within-cluster sum of squares grew (squared unit-vector distances).
        public var cost: Double
    }

    /// Items clustered.
    public let count: Int
    /// The `count − 1` merges (none for an empty stream), in the order made, from `count` clusters down to one.
    public let merges: [Merge]

    /// Clusters `vectors` (`count × dimension`, flat, time order).
    ///
    /// - Complexity: O(n log n + n·d) for n items of d dimensions: a heap over neighbouring pairs with stale
    ///   entries skipped on pop; each merge costs two new pairs.
    public init(vectors: [Float], dimension: Int) {
        precondition(dimension > 0 && vectors.count % dimension == 0, "vectors must be count × dimension")
        let n = vectors.count / dimension
        count = n
        guard n > 1 else {
            merges = []
            return
        }
        // Per cluster, addressed by its first item (its head): size and the sum of its unit vectors.
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: n * dimension)
        defer { sums.deallocate() }
        vectors.withUnsafeBufferPointer { v in
            for i in 0..<n {
                let row = v.baseAddress! + i * dimension
                var norm = 0.0
                for j in 0..<dimension { norm += Double(row[j]) * Double(row[j]) }
                let scale = norm > 0 ? 1 / norm.squareRoot() : 0
                for j in 0..<dimension { sums[i * dimension + j] = Double(row[j]) * scale }
            }
        }
        var size = [Int](repeating: 1, count: n)
        // Neighbouring heads (−1 / n at the ends) and a version that changes whenever a cluster grows.
        var previous = Array(-1..<(n - 1))
        var next = Array(1...n)
        var version = [UInt32](repeating: 0, count: n)

        /// ‖sa/na − sb/nb‖² · na·nb/(na+nb) over the sums `sa`, `sb` of clusters of sizes `na`, `nb`.
        func cost(_ sa: UnsafePointer<Double>, _ na: Int, _ sb: UnsafePointer<Double>, _ nb: Int) -> Double {
            let ra = SIMD4<Double>(repeating: 1 / Double(na)), rb = SIMD4<Double>(repeating: 1 / Double(nb))
            var lanes = SIMD4<Double>()
            var j = 0
            while j + 4 <= dimension {
                let x = UnsafeRawPointer(sa + j).loadUnaligned(as: SIMD4<Double>.self) * ra
                    - UnsafeRawPointer(sb + j).loadUnaligned(as: SIMD4<Double>.self) * rb
                lanes += x * x
                j += 4
            }
            var squared = lanes.sum()
            while j < dimension {
                let x = sa[j] / Double(na) - sb[j] / Double(nb)
                squared += x * x
                j += 1
            }
            return Double(na) * Double(nb) / Double(na + nb) * squared
        }
        func cost(_ a: Int, _ b: Int) -> Double {
            cost(sums + a * dimension, size[a], sums + b * dimension, size[b])
        }

        var heap = PairHeap()
        heap.reserve(3 * n)
        for a in 0..<(n - 1) {
            heap.push(PairHeap.Entry(cost: cost(a, a + 1), left: Int32(a), right: Int32(a + 1), leftVersion: 0, rightVersion: 0))
        }
        var out: [Merge] = []
        out.reserveCapacity(n - 1)
        while let e = heap.pop() {
            let a = Int(e.left), b = Int(e.right)
            // Stale: either side has grown since the entry was made (a merged-away head keeps its last version,
            // but then its neighbour grew, and every entry naming it names that neighbour too).
            guard version[a] == e.leftVersion, version[b] == e.rightVersion, next[a] == b else { continue }
            out.append(Merge(boundary: b, cost: e.cost))
            size[a] += size[b]
            for j in 0..<dimension { sums[a * dimension + j] += sums[b * dimension + j] }
            version[a] &+= 1
            version[b] &+= 1
            next[a] = next[b]
            if next[a] < n { previous[next[a]] = a }
            if previous[a] >= 0 {
                let p = previous[a]
                heap.push(PairHeap.Entry(cost: cost(p, a), left: Int32(p), right: Int32(a),
                                         leftVersion: version[p], rightVersion: version[a]))
            }
            if next[a] < n {
                let c = next[a]
                heap.push(PairHeap.Entry(cost: cost(a, c), left: Int32(a), right: Int32(c),
                                         leftVersion: version[a], rightVersion: version[c]))
            }
        }
        merges = out
    }

    /// The dendrogram's heights: after merge k, the largest cost of merges 0…k (non-decreasing).
    public var heights: [Double] {
        var top = 0.0
        return merges.map { m in
            top = max(top, m.cost)
            return top
        }
    }

    /// The partition into `clusters` contiguous runs (clamped to 1…count): what is left after the first
    /// `count − clusters` merges. Empty for an empty stream.
    ///
    /// - Complexity: O(n).
    public func partition(clusters: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let k = min(max(clusters, 1), count)
        var merged = [Bool](repeating: false, count: count)
        for m in merges.prefix(count - k) { merged[m.boundary] = true }
        var out: [Range<Int>] = []
        var start = 0
        for i in 1..<count where !merged[i] {
            out.append(start..<i)
            start = i
        }
        out.append(start..<count)
        return out
    }

    /// The number of clusters the merge costs point to, for `--auto`.
    ///
    /// Rule (an elbow of the within-cluster sum of squares): W(k), the sum of squares left with k clusters, falls
    /// from W(1) (everything one cluster) to W(n) = 0; merging within a uniform stretch adds little to it and
    /// merging across a change adds much. On the curve with both axes scaled to [0, 1] (k − 1 over n − 1,
    /// W(k) over W(1)), the chosen k is the point farthest below the straight line from (1, W(1)) to (n, 0): the
    /// knee where extra clusters stop paying. One cluster when the stream is uniform (W(1) is 0 but for
    /// rounding) or has fewer than three items.
    ///
    /// - Complexity: O(n).
    public func automaticCount() -> Int {
        let n = count
        guard n >= 3 else { return n == 2 && (merges.first?.cost ?? 0) > 0 ? 2 : 1 }
        // W(k) for k = n…1: W(n) = 0, and each merge adds its cost.
        var within = [Double](repeating: 0, count: n + 1)
        for (i, m) in merges.enumerated() { within[n - 1 - i] = within[n - i] + max(0, m.cost) }
        let total = within[1]
        // Identical clips leave only rounding (about 1e-32 per merge): no knee to find.
        guard total > 1e-9 * Double(n) else { return 1 }
        var best = 1
        var bestGap = 0.0
        for k in 1...n {
            let x = Double(k - 1) / Double(n - 1)
            let gap = (1 - x) - within[k] / total  // how far below the chord y = 1 − x
            if gap > bestGap {
                best = k
                bestGap = gap
            }
        }
        return best
    }
}

/// A binary min-heap of neighbouring-pair costs, ties going to the earlier pair, so that the merge order is
/// deterministic.
struct PairHeap {
    struct Entry {
        var cost: Double
        var left: Int32
        var right: Int32
        var leftVersion: UInt32
        var rightVersion: UInt32

        @inline(__always)
        func precedes(_ other: Entry) -> Bool { cost != other.cost ? cost < other.cost : left < other.left }
    }

    private var items: [Entry] = []

    mutating func reserve(_ n: Int) { items.reserveCapacity(n) }

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard e.precedes(items[parent]) else { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = e
    }

    mutating func pop() -> Entry? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        var i = 0
        let n = items.count
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && items[child + 1].precedes(items[child]) { child += 1 }
            guard items[child].precedes(last) else { break }
            items[i] = items[child]
            i = child
        }
        items[i] = last
        return top
    }
}
