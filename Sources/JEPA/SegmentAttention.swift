import Neural

/// Rotary attention over packed sequences: rows `[q; k; v]` hold several sequences back to back (`segments`), each
/// attending only to itself. Shared by the Llama predictor and the Gemma 3 text encoder.
enum SegmentAttention {
    /// Applies half-split RoPE (`cos`/`sin` tables from position 0) to `q` and `k` in place, then writes
    /// attention over each segment into `out` ([rows × heads·headDim]).
    static func run(
        q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, segments: [Range<Int>], heads: Int, kvHeads: Int, headDim d: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, pairs: Int, scale: Float,
        mask: Kernels.AttentionMask = .none, scores: UnsafeMutableBufferPointer<Float>
    ) {
        for s in segments {
            RoPE.applyHalf(q + s.lowerBound * heads * d, rows: s.count, stride: heads * d, heads: heads,
                           headDim: d, cos: cos, sin: sin, pairs: pairs)
            RoPE.applyHalf(k + s.lowerBound * kvHeads * d, rows: s.count, stride: kvHeads * d, heads: kvHeads,
                           headDim: d, cos: cos, sin: sin, pairs: pairs)
        }
        Kernels.attention(q: q, k: k, v: v, out: out, segments: segments, heads: heads, kvHeads: kvHeads, headDim: d,
                          qStride: heads * d, kvStride: kvHeads * d, outStride: heads * d, scale: scale, mask: mask,
                          scores: scores)
    }
}
