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

/// The buffers of a pre-norm block with grouped-query attention and a gated MLP (the Llama predictor, Gemma 3),
/// for `rows` tokens in segments of at most `longest`, in their `Workspace.Slot`s.
struct GatedBlockBuffers {
    /// The normed stream, and the attention projection's output before it is added back.
    let hidden: UnsafeMutablePointer<Float>
    let query, key, value, attended: UnsafeMutablePointer<Float>
    let gate, up: UnsafeMutablePointer<Float>
    let scores: UnsafeMutableBufferPointer<Float>

    init(_ workspace: Workspace, rows: Int, longest: Int, width h: Int, heads: Int, kvHeads: Int, headDim d: Int,
         intermediate: Int) {
        hidden = workspace.buffer(.hidden, count: rows * max(h, heads * d))
        query = workspace.buffer(.query, count: rows * heads * d)
        key = workspace.buffer(.key, count: rows * kvHeads * d)
        value = workspace.buffer(.value, count: rows * kvHeads * d)
        attended = workspace.buffer(.attended, count: rows * heads * d)
        gate = workspace.buffer(.gate, count: rows * intermediate)
        up = workspace.buffer(.up, count: rows * intermediate)
        scores = workspace.scratch(.scores, count: Kernels.attentionScratch(length: longest, kvHeads: kvHeads, headDim: d))
    }

    /// `(hidden, query, key, value, attended, gate, up, scores)`, for the short names of the block loops.
    var all: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
              UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutableBufferPointer<Float>) {
        (hidden, query, key, value, attended, gate, up, scores)
    }
}
