/// Softmax and scaled dot-product attention over token-major [tokens × heads·headDim] buffers.
extension Kernels {
    /// Row softmax in place over [rows × cols]; a row that is all −∞ becomes all zeros.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = x + r * cols
            let total = exponentiate(row, count: cols)
            if total > 0 { scale(row, by: 1 / total, count: cols) }
        }
    }

    /// Replaces a row by `exp(x − max x)` and returns its sum; an all −∞ row becomes zeros with sum 0.
    @inline(__always) static func exponentiate(_ row: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var vmax = Vec(repeating: -.infinity)
        var i = 0
        while i + lanes <= count {
            let x = load(row + i)
            vmax.replace(with: x, where: x .> vmax)
            i += lanes
        }
        var m = vmax.max()
        while i < count { m = Swift.max(m, row[i]); i += 1 }
        if m == -.infinity {
            row.update(repeating: 0, count: count)
            return 0
        }
        let vm = Vec(repeating: m)
        var acc = Vec()
        i = 0
        while i + lanes <= count {
            let e = exp(load(row + i) - vm)
            store(e, row + i)
            acc += e
            i += lanes
        }
        var total = acc.sum()
        if i < count {
            var tail = Vec(repeating: -.infinity)
            for j in 0..<(count - i) { tail[j] = row[i + j] }
            let e = exp(tail - vm)
            for j in 0..<(count - i) { row[i + j] = e[j]; total += e[j] }
        }
        return total
    }

    /// Which keys each query may attend to.
    public struct AttentionMask: Sendable {
        /// Per key, whether it is a real (non-pad) token; nil means all keys are real.
        public var keyIsValid: [Bool]?
        /// When set, query `i` sees key `j` only if `|i − j| < window` (bidirectional sliding window).
        public var window: Int?

        public init(keyIsValid: [Bool]? = nil, window: Int? = nil) {
            self.keyIsValid = keyIsValid
            self.window = window
        }

        public static let none = AttentionMask()
        var isTrivial: Bool { keyIsValid == nil && window == nil }
    }

    /// Query rows per block: a block's scores (`attentionBlock × length` floats) stay in cache between the two GEMMs.
    public static let attentionBlock = 128

    /// Floats of `scores` scratch that `attention` needs for a sequence of `length` tokens (one block per worker).
    public static func attentionScratch(length: Int) -> Int {
        Neural.threads * Swift.min(length, attentionBlock) * length
    }

    /// Bidirectional multi-head attention for one sequence of `length` tokens, with grouped-query sharing.
    ///
    /// Query head `h` reads key/value head `h / (heads / kvHeads)`. Rows of `q`, `k`, `v`, `out` are tokens,
    /// with leading dimensions `qStride`, `kvStride`, `outStride`; head `h` occupies columns `h·headDim ..< (h+1)·headDim`.
    /// `scores` should hold `attentionScratch(length:)` floats (at least one block). Per head and block of query rows (spread over the workers):
    /// `S = scale · Q Kᵀ` (sgemm), masked `exp(S − max)`, `O = S V` (sgemm), then each row of `O` divided by its sum.
    public static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        length: Int, heads: Int, kvHeads: Int, headDim: Int, qStride: Int, kvStride: Int, outStride: Int,
        scale: Float, mask: AttentionMask = .none, scores: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(heads % kvHeads == 0, "query heads \(heads) not a multiple of key/value heads \(kvHeads)")
        let group = heads / kvHeads
        let n = length
        let block = Swift.min(n, attentionBlock)
        let blocks = (n + block - 1) / block
        // One block of scores per worker; the scratch's size, not the current thread setting, bounds the workers.
        let slots = scores.count / Swift.max(1, block * n)
        precondition(slots >= 1 || n == 0, "attention scratch of \(scores.count) floats is smaller than one block")
        Parallel.items(heads * blocks, maxWorkers: slots) { worker, item in
            let h = item / blocks, r0 = (item % blocks) * block
            let kvh = h / group
            let m = Swift.min(block, n - r0)
            let s = scores.baseAddress! + worker * block * n
            GEMM.sgemm(transB: true, m: m, n: n, k: headDim, alpha: scale,
                       a: q + r0 * qStride + h * headDim, lda: qStride, b: k + kvh * headDim, ldb: kvStride,
                       c: s, ldc: n)
            if !mask.isTrivial { applyMask(mask, scores: s, rows: r0..<(r0 + m), length: n) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { sums in
                for i in 0..<m { sums[i] = exponentiate(s + i * n, count: n) }
                let o = out + r0 * outStride + h * headDim
                GEMM.sgemm(m: m, n: headDim, k: n, a: s, lda: n, b: v + kvh * headDim, ldb: kvStride,
                           c: o, ldc: outStride)
                for i in 0..<m where sums[i] > 0 { Kernels.scale(o + i * outStride, by: 1 / sums[i], count: headDim) }
            }
        }
    }

    /// Sets masked scores of query rows `rows` (stored from `scores`) to −∞.
    static func applyMask(_ mask: AttentionMask, scores: UnsafeMutablePointer<Float>, rows: Range<Int>, length n: Int) {
        for i in rows {
            let row = scores + (i - rows.lowerBound) * n
            if let valid = mask.keyIsValid {
                for j in 0..<n where !valid[j] { row[j] = -.infinity }
            }
            if let w = mask.window {
                for j in 0..<n where abs(i - j) >= w { row[j] = -.infinity }
            }
        }
    }
}
