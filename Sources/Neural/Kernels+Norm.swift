/// Row normalisations over [rows × dim] buffers; `x` and `out` may be the same buffer.
extension Kernels {
    /// LayerNorm: `(x − mean) / sqrt(var + eps) · weight + bias`, biased variance as PyTorch computes it.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        eps: Float, into out: UnsafeMutablePointer<Float>
    ) {
        Parallel.ranges(rows, minimum: 64) { range in
            for r in range { layerNormRow(x + r * dim, dim: dim, weight: weight, bias: bias, eps: eps, into: out + r * dim) }
        }
    }

    @inline(__always) static func layerNormRow(
        _ row: UnsafePointer<Float>, dim: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, eps: Float,
        into o: UnsafeMutablePointer<Float>
    ) {
        let mean = sum(row, count: dim) / Float(dim)
        let m = Vec(repeating: mean)
        var acc = Vec()
        var i = 0
        while i + lanes <= dim { let d = load(row + i) - m; acc += d * d; i += lanes }
        var variance = acc.sum()
        while i < dim { let d = row[i] - mean; variance += d * d; i += 1 }
        variance /= Float(dim)
        let inv = 1 / (variance + eps).squareRoot()
        let vinv = Vec(repeating: inv)
        i = 0
        if let bias {
            while i + lanes <= dim { store((load(row + i) - m) * vinv * load(weight + i) + load(bias + i), o + i); i += lanes }
            while i < dim { o[i] = (row[i] - mean) * inv * weight[i] + bias[i]; i += 1 }
        } else {
            while i + lanes <= dim { store((load(row + i) - m) * vinv * load(weight + i), o + i); i += lanes }
            while i < dim { o[i] = (row[i] - mean) * inv * weight[i]; i += 1 }
        }
    }

    /// RMSNorm: `x / sqrt(mean(x²) + eps) · (weightOffset + weight)`.
    ///
    /// Llama uses `weightOffset` 0; Gemma stores `w` and multiplies by `(1 + w)`, so it passes 1.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, weightOffset: Float = 0,
        eps: Float, into out: UnsafeMutablePointer<Float>
    ) {
        Parallel.ranges(rows, minimum: 64) { range in
            for r in range {
                rmsNormRow(x + r * dim, dim: dim, weight: weight, weightOffset: weightOffset, eps: eps, into: out + r * dim)
            }
        }
    }

    @inline(__always) static func rmsNormRow(
        _ row: UnsafePointer<Float>, dim: Int, weight: UnsafePointer<Float>, weightOffset: Float, eps: Float,
        into o: UnsafeMutablePointer<Float>
    ) {
        let inv = 1 / (dot(row, row, count: dim) / Float(dim) + eps).squareRoot()
        let vinv = Vec(repeating: inv), offset = Vec(repeating: weightOffset)
        var i = 0
        while i + lanes <= dim { store(load(row + i) * vinv * (offset + load(weight + i)), o + i); i += lanes }
        while i < dim { o[i] = row[i] * inv * (weightOffset + weight[i]); i += 1 }
    }

    /// Divides each row by its Euclidean norm (clamped below at `eps`, as `torch.nn.functional.normalize`).
    public static func l2Normalize(_ x: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float = 1e-12) {
        for r in 0..<rows {
            let row = x + r * dim
            let norm = max(dot(row, row, count: dim).squareRoot(), eps)
            scale(row, by: 1 / norm, count: dim)
        }
    }

    /// Mean of the rows of `x` [rows × dim] whose `mask` entry is true (all rows when `mask` is nil).
    ///
    /// Writes zeros when no row is selected.
    public static func maskedMean(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, mask: [Bool]? = nil, into out: UnsafeMutablePointer<Float>
    ) {
        out.update(repeating: 0, count: dim)
        var n = 0
        for r in 0..<rows where mask?[r] ?? true {
            add(x + r * dim, into: out, count: dim)
            n += 1
        }
        if n > 0 { scale(out, by: 1 / Float(n), count: dim) }
    }
}
