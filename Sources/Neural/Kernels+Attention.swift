import CKernels

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
            let e = expNonPositive(load(row + i) - vm)
            store(e, row + i)
            acc += e
            i += lanes
        }
        var total = acc.sum()
        if i < count {
            var tail = Vec(repeating: -.infinity)
            for j in 0..<(count - i) { tail[j] = row[i + j] }
            let e = expNonPositive(tail - vm)
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

    /// How the two products of attention run.
    enum AttentionProducts {
        /// `cblas_sgemm` on each block of queries (it repacks the keys and values every time).
        case openBLAS
        /// Keys and values packed once per call, then the AVX2 kernel of `CKernels` for every block.
        case packed

        /// Packed where the CPU has AVX2 and FMA.
        static let preferred: AttentionProducts = vj_kernels_available() != 0 ? .packed : .openBLAS
    }

    /// Floats of `scores` scratch that `attention` needs for a sequence of `length` tokens: one block of scores per
    /// worker, and the keys and values of `kvHeads` heads of `headDim` packed for the GEMM kernel.
    public static func attentionScratch(length: Int, kvHeads: Int, headDim: Int) -> Int {
        Neural.threads * Swift.min(length, attentionBlock) * length + packedKeysAndValues(length, kvHeads, headDim)
    }

    /// Floats that the packed keys and values of one sequence take.
    static func packedKeysAndValues(_ length: Int, _ kvHeads: Int, _ headDim: Int) -> Int {
        kvHeads * (vj_packed_size(Int32(headDim), Int32(length)) + vj_packed_size(Int32(length), Int32(headDim)))
    }

    /// Bidirectional multi-head attention for one sequence of `length` tokens, with grouped-query sharing.
    ///
    /// Query head `h` reads key/value head `h / (heads / kvHeads)`. Rows of `q`, `k`, `v`, `out` are tokens,
    /// with leading dimensions `qStride`, `kvStride`, `outStride`; head `h` occupies columns `h·headDim ..< (h+1)·headDim`.
    /// `scores` should hold `attentionScratch(length:kvHeads:headDim:)` floats. Per head and block of query rows
    /// (spread over the workers): `S = scale · Q Kᵀ`, masked `exp(S − max)`, `O = S V`, then each row of `O`
    /// divided by its sum. Rows with no visible key are zeros.
    public static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        length: Int, heads: Int, kvHeads: Int, headDim: Int, qStride: Int, kvStride: Int, outStride: Int,
        scale: Float, mask: AttentionMask = .none, scores: UnsafeMutableBufferPointer<Float>
    ) {
        attention(q: q, k: k, v: v, out: out, length: length, heads: heads, kvHeads: kvHeads, headDim: headDim,
                  qStride: qStride, kvStride: kvStride, outStride: outStride, scale: scale, mask: mask, scores: scores,
                  products: .preferred)
    }

    static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        length: Int, heads: Int, kvHeads: Int, headDim: Int, qStride: Int, kvStride: Int, outStride: Int,
        scale: Float, mask: AttentionMask, scores: UnsafeMutableBufferPointer<Float>, products: AttentionProducts
    ) {
        precondition(heads % kvHeads == 0, "query heads \(heads) not a multiple of key/value heads \(kvHeads)")
        let group = heads / kvHeads
        let n = length
        guard n > 0 else { return }
        let block = Swift.min(n, attentionBlock)
        let blocks = (n + block - 1) / block
        let d = headDim
        // Packed keys (d × n, as Kᵀ) and values (n × d) of each key/value head, at the end of the scratch.
        let packed = products == .packed ? packedKeysAndValues(n, kvHeads, d) : 0
        let keysSize = vj_packed_size(Int32(d), Int32(n)), valuesSize = vj_packed_size(Int32(n), Int32(d))
        precondition(scores.count >= packed + block * n, "attention scratch of \(scores.count) floats is too small")
        let keys = scores.baseAddress! + (scores.count - packed), values = keys + kvHeads * keysSize
        if products == .packed {
            Parallel.items(2 * kvHeads) { _, item in
                let h = item % kvHeads
                if item < kvHeads {
                    vj_pack_panels(k + h * d, 1, kvStride, Int32(d), Int32(n), keys + h * keysSize)
                } else {
                    vj_pack_panels(v + h * d, kvStride, 1, Int32(n), Int32(d), values + h * valuesSize)
                }
            }
        }
        // One block of scores per worker; the scratch's size, not the current thread setting, bounds the workers.
        let slots = (scores.count - packed) / (block * n)
        Parallel.items(heads * blocks, maxWorkers: slots) { worker, item in
            let h = item / blocks, r0 = (item % blocks) * block
            let kvh = h / group
            let m = Swift.min(block, n - r0)
            let s = scores.baseAddress! + worker * block * n
            let qh = q + r0 * qStride + h * d, o = out + r0 * outStride + h * d
            switch products {
            case .openBLAS:
                GEMM.sgemm(transB: true, m: m, n: n, k: d, alpha: scale, a: qh, lda: qStride, b: k + kvh * d,
                           ldb: kvStride, c: s, ldc: n)
            case .packed:
                vj_sgemm_packed(Int32(m), Int32(n), Int32(d), scale, qh, qStride, keys + kvh * keysSize, s, n, 0)
            }
            if !mask.isTrivial { applyMask(mask, scores: s, rows: r0..<(r0 + m), length: n) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { sums in
                for i in 0..<m { sums[i] = exponentiate(s + i * n, count: n) }
                switch products {
                case .openBLAS:
                    GEMM.sgemm(m: m, n: d, k: n, a: s, lda: n, b: v + kvh * d, ldb: kvStride, c: o, ldc: outStride)
                case .packed:
                    vj_sgemm_packed(Int32(m), Int32(d), Int32(n), 1, s, n, values + kvh * valuesSize, o, outStride, 0)
                }
                for i in 0..<m { Kernels.scale(o + i * outStride, by: sums[i] > 0 ? 1 / sums[i] : 0, count: d) }
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
