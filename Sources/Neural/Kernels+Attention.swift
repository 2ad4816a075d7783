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

    /// Query rows per block; each worker holds one block of scores (`attentionBlock × length` floats).
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

    /// Floats of `scores` scratch that `attention` needs for sequences of at most `length` tokens: one block of
    /// scores per worker, and room for the keys and values of `kvHeads` heads of `headDim`, packed for the kernel
    /// (all heads of a long sequence at once, or one head per worker for short ones).
    public static func attentionScratch(length: Int, kvHeads: Int, headDim: Int) -> Int {
        Neural.threads * Swift.min(length, attentionBlock) * length
            + Swift.max(kvHeads, Neural.threads) * packedHead(length, headDim)
    }

    /// Floats that the packed keys and values of one head of a `length`-token sequence take.
    static func packedHead(_ length: Int, _ headDim: Int) -> Int {
        vj_packed_size(Int32(headDim), Int32(length)) + vj_packed_size(Int32(length), Int32(headDim))
    }

    /// Bidirectional multi-head attention with grouped-query sharing over several sequences stored back to back:
    /// segment `s` is rows `s` of `q`, `k`, `v` and `out`, and attends only to itself.
    ///
    /// Query head `h` reads key/value head `h / (heads / kvHeads)`. Rows of `q`, `k`, `v`, `out` are tokens,
    /// with leading dimensions `qStride`, `kvStride`, `outStride`; head `h` occupies columns `h·headDim ..< (h+1)·headDim`.
    /// Per head and block of query rows: `S = scale · Q Kᵀ`, masked `exp(S − max)`, `O = S V`, then each row of
    /// `O` divided by its sum. Rows with no visible key are zeros. `mask` applies within each segment (positions
    /// counted from its first row). `scores` should hold `attentionScratch(length:kvHeads:headDim:)` floats for the longest segment.
    ///
    /// Short segments (one block of queries) are spread over the workers together, a key/value head each;
    /// longer ones one at a time, by head and block of queries.
    public static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        segments: [Range<Int>], heads: Int, kvHeads: Int, headDim: Int, qStride: Int, kvStride: Int, outStride: Int,
        scale: Float, mask: AttentionMask = .none, scores: UnsafeMutableBufferPointer<Float>
    ) {
        attention(q: q, k: k, v: v, out: out, segments: segments, heads: heads, kvHeads: kvHeads, headDim: headDim,
                  qStride: qStride, kvStride: kvStride, outStride: outStride, scale: scale, mask: mask, scores: scores,
                  products: .preferred)
    }

    static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        segments: [Range<Int>], heads: Int, kvHeads: Int, headDim d: Int, qStride: Int, kvStride: Int, outStride: Int,
        scale: Float, mask: AttentionMask, scores: UnsafeMutableBufferPointer<Float>, products: AttentionProducts
    ) {
        precondition(heads % kvHeads == 0, "query heads \(heads) not a multiple of key/value heads \(kvHeads)")
        let longest = segments.map(\.count).max() ?? 0
        guard longest > 0 else { return }
        let pass = AttentionPass(
            q: q, k: k, v: v, out: out, heads: heads, kvHeads: kvHeads, headDim: d, qStride: qStride,
            kvStride: kvStride, outStride: outStride, scale: scale, mask: mask, products: products,
            block: Swift.min(longest, attentionBlock), longest: longest, scratch: scores)
        let short = segments.filter { !$0.isEmpty && $0.count <= pass.block }
        if !short.isEmpty {
            // Item = (segment, key/value head): the worker packs that head into its own slot, then runs its queries.
            let workers = Swift.min(pass.slots, pass.packedSlots)
            Parallel.items(short.count * kvHeads, maxWorkers: workers) { worker, item in
                let segment = short[item / kvHeads], kvh = item % kvHeads
                let packed = pass.pack(segment, kvHead: kvh, slot: worker)
                for h in (kvh * pass.group)..<((kvh + 1) * pass.group) {
                    pass.run(segment, head: h, rows: 0..<segment.count, packed: packed, worker: worker)
                }
            }
        }
        for segment in segments where segment.count > pass.block {
            // All key/value heads packed first (in parallel), then (head, block of queries) items.
            if products == .packed {
                Parallel.items(kvHeads) { _, kvh in _ = pass.pack(segment, kvHead: kvh, slot: kvh) }
            }
            let n = segment.count, blocks = (n + pass.block - 1) / pass.block
            Parallel.items(heads * blocks, maxWorkers: pass.slots) { worker, item in
                let h = item / blocks, r0 = (item % blocks) * pass.block
                pass.run(segment, head: h, rows: r0..<Swift.min(n, r0 + pass.block),
                         packed: pass.packedSlot(h / pass.group), worker: worker)
            }
        }
    }

    /// One call's operands and scratch layout: `slots` blocks of `block × longest` scores, then slots of packed
    /// keys (`headDim × n`, as Kᵀ) and values (`n × headDim`).
    private struct AttentionPass {
        /// One key/value head packed for the kernel.
        typealias Packed = (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)

        let q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
        let kvHeads: Int, headDim: Int, qStride: Int, kvStride: Int, outStride: Int
        let scale: Float, mask: AttentionMask, products: AttentionProducts
        let block: Int, longest: Int
        let group: Int, slots: Int, packedSlots: Int
        let scores: UnsafeMutablePointer<Float>, packedBase: UnsafeMutablePointer<Float>
        let packedSize: Int

        init(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
             heads: Int, kvHeads: Int, headDim: Int, qStride: Int, kvStride: Int, outStride: Int, scale: Float,
             mask: AttentionMask, products: AttentionProducts, block: Int, longest: Int,
             scratch: UnsafeMutableBufferPointer<Float>) {
            (self.q, self.k, self.v, self.out) = (q, k, v, out)
            (self.kvHeads, self.headDim) = (kvHeads, headDim)
            (self.qStride, self.kvStride, self.outStride) = (qStride, kvStride, outStride)
            (self.scale, self.mask, self.products, self.block, self.longest) = (scale, mask, products, block, longest)
            group = heads / kvHeads
            packedSize = products == .packed ? packedHead(longest, headDim) : 0
            // Packed slots: one per key/value head for a long segment, one per worker for short ones; the rest of
            // the scratch holds blocks of scores, one per worker. Its size, not the thread setting, bounds the workers.
            let scoreFloats = block * longest
            if products == .packed {
                packedSlots = Swift.min(Swift.max(kvHeads, Neural.threads), (scratch.count - scoreFloats) / packedSize)
                precondition(packedSlots >= kvHeads, "attention scratch of \(scratch.count) floats is too small")
            } else {
                packedSlots = .max
            }
            slots = (scratch.count - (products == .packed ? packedSlots * packedSize : 0)) / scoreFloats
            precondition(slots >= 1, "attention scratch of \(scratch.count) floats is too small")
            scores = scratch.baseAddress!
            packedBase = scratch.baseAddress! + slots * scoreFloats
        }

        /// Keys and values of slot `slot` (nil when the products run on OpenBLAS).
        func packedSlot(_ slot: Int) -> Packed? {
            guard products == .packed else { return nil }
            let keys = packedBase + slot * packedSize
            return (keys, keys + vj_packed_size(Int32(headDim), Int32(longest)))
        }

        /// Packs key/value head `kvHead` of `segment` into slot `slot`.
        func pack(_ segment: Range<Int>, kvHead: Int, slot: Int) -> Packed? {
            guard let packed = packedSlot(slot) else { return nil }
            let n = Int32(segment.count), d = Int32(headDim)
            let base = segment.lowerBound * kvStride + kvHead * headDim
            vj_pack_panels(k + base, 1, kvStride, d, n, packed.keys)
            vj_pack_panels(v + base, kvStride, 1, n, d, packed.values)
            return packed
        }

        /// Query rows `rows` (relative to the segment) of head `h`: scores, masked softmax, weighted values.
        func run(_ segment: Range<Int>, head h: Int, rows: Range<Int>, packed: Packed?, worker: Int) {
            let n = segment.count, m = rows.count, d = headDim, kvh = h / group
            let s = scores + worker * block * longest
            let first = segment.lowerBound + rows.lowerBound
            let qh = q + first * qStride + h * d, o = out + first * outStride + h * d
            let kh = k + segment.lowerBound * kvStride + kvh * d, vh = v + segment.lowerBound * kvStride + kvh * d
            if let packed {
                vj_sgemm_packed(Int32(m), Int32(n), Int32(d), scale, qh, qStride, packed.keys, s, n, 0)
            } else {
                GEMM.sgemm(transB: true, m: m, n: n, k: d, alpha: scale, a: qh, lda: qStride, b: kh, ldb: kvStride, c: s, ldc: n)
            }
            if !mask.isTrivial { applyMask(mask, scores: s, rows: rows, length: n) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { sums in
                for i in 0..<m { sums[i] = exponentiate(s + i * n, count: n) }
                if let packed {
                    vj_sgemm_packed(Int32(m), Int32(d), Int32(n), 1, s, n, packed.values, o, outStride, 0)
                } else {
                    GEMM.sgemm(m: m, n: d, k: n, a: s, lda: n, b: vh, ldb: kvStride, c: o, ldc: outStride)
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
