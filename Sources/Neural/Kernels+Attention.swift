import Dispatch

/// Softmax and scaled dot-product attention over token-major [tokens × heads·headDim] buffers.
extension Kernels {
    /// Row softmax in place over [rows × cols]; a row that is all −∞ becomes all zeros.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = x + r * cols
            var vmax = V16(repeating: -.infinity)
            var i = 0
            while i + 16 <= cols { vmax = pointwiseMax(vmax, load(row + i)); i += 16 }
            var m = vmax.max()
            while i < cols { m = Swift.max(m, row[i]); i += 1 }
            if m == -.infinity {
                row.update(repeating: 0, count: cols)
                continue
            }
            let vm = V16(repeating: m)
            map(row, count: cols) { exp($0 - vm) }
            // The zero-padded tail of `map` does not reach memory, so the sum covers exactly `cols` values.
            scale(row, by: 1 / sum(row, count: cols), count: cols)
        }
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

    /// Bidirectional multi-head attention for one sequence of `length` tokens, with grouped-query sharing.
    ///
    /// Query head `h` reads key/value head `h / (heads / kvHeads)`. Rows of `q`, `k`, `v`, `out` are tokens,
    /// with leading dimensions `qStride`, `kvStride`, `outStride`; head `h` occupies columns `h·headDim ..< (h+1)·headDim`.
    /// `scores` needs `length²` floats. Per head: `S = scale · Q Kᵀ` (sgemm), masked softmax, `O = S V` (sgemm).
    public static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        length: Int, heads: Int, kvHeads: Int, headDim: Int, qStride: Int, kvStride: Int, outStride: Int,
        scale: Float, mask: AttentionMask = .none, scores: UnsafeMutablePointer<Float>
    ) {
        precondition(heads % kvHeads == 0, "query heads \(heads) not a multiple of key/value heads \(kvHeads)")
        let group = heads / kvHeads
        let n = length
        for h in 0..<heads {
            let kvh = h / group
            GEMM.sgemm(transB: true, m: n, n: n, k: headDim, alpha: scale,
                       a: q + h * headDim, lda: qStride, b: k + kvh * headDim, ldb: kvStride,
                       c: scores, ldc: n)
            if !mask.isTrivial { applyMask(mask, scores: scores, length: n) }
            parallelRows(n, minimumWork: n * n, cost: n) { start, end in
                softmax(scores + start * n, rows: end - start, cols: n)
            }
            GEMM.sgemm(m: n, n: headDim, k: n, a: scores, lda: n, b: v + kvh * headDim, ldb: kvStride,
                       c: out + h * headDim, ldc: outStride)
        }
    }

    static func applyMask(_ mask: AttentionMask, scores: UnsafeMutablePointer<Float>, length n: Int) {
        for i in 0..<n {
            let row = scores + i * n
            if let valid = mask.keyIsValid {
                for j in 0..<n where !valid[j] { row[j] = -.infinity }
            }
            if let w = mask.window {
                for j in 0..<n where abs(i - j) >= w { row[j] = -.infinity }
            }
        }
    }

    /// Splits `rows` into contiguous chunks run on several threads when the work is large enough.
    static func parallelRows(_ rows: Int, minimumWork: Int, cost: Int, _ body: (Int, Int) -> Void) {
        let threads = Swift.min(workerThreads, rows)
        if threads <= 1 || minimumWork < 1 << 16 {
            body(0, rows)
            return
        }
        let chunk = (rows + threads - 1) / threads
        withoutActuallyEscaping(body) { body in
            // The closure only touches disjoint row ranges of buffers the caller owns for the call's duration.
            let work = UncheckedSendable(value: body)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let start = t * chunk
                let end = Swift.min(rows, start + chunk)
                if start < end { work.value(start, end) }
            }
        }
    }

    /// Threads used by the non-GEMM kernels: the same count OpenBLAS uses.
    static var workerThreads: Int { Neural.blasThreads }
}

/// Carries a value into a `@Sendable` closure when the caller guarantees the accesses do not race.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
