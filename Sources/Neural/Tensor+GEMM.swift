import CBLAS

/// Matrix products through OpenBLAS `cblas_sgemm` (row-major, Int32 dimensions).
public enum GEMM {
    /// `C[m×n] = alpha · op(A) · op(B) + beta · C`, all row-major with leading dimensions `lda`, `ldb`, `ldc`.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// A fully connected layer in PyTorch's layout: the weight is [out, in], `y = x · weightᵀ + bias`.
///
/// The weight is Float32, or 16-bit floats left in the mapped file (`HalfMatrix`) and converted a block of
/// output features at a time inside each product, into a small scratch that stays in cache.
public struct Linear: Sendable {
    public enum Weight: Sendable {
        case float(Parameter)
        case half(HalfMatrix)
    }

    public let weight: Weight
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weight: Parameter, bias: Parameter?) {
        precondition(weight.shape.count == 2)
        self.init(.float(weight), outFeatures: weight.shape[0], inFeatures: weight.shape[1], bias: bias)
    }

    public init(weight: HalfMatrix, bias: Parameter?) {
        self.init(.half(weight), outFeatures: weight.rows, inFeatures: weight.columns, bias: bias)
    }

    private init(_ weight: Weight, outFeatures: Int, inFeatures: Int, bias: Parameter?) {
        precondition(bias == nil || bias!.shape == [outFeatures])
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// Stacks layers with the same input along the output dimension (e.g. q, k, v into one GEMM); copies weights.
    public init(stacking layers: [Linear]) {
        precondition(!layers.isEmpty && layers.allSatisfy { $0.inFeatures == layers[0].inFeatures })
        let out = layers.reduce(0) { $0 + $1.outFeatures }
        let scalars = layers.flatMap { layer -> [Float] in
            switch layer.weight {
            case .float(let p): return p.scalars
            case .half(let m):
                var rows = [Float](repeating: 0, count: m.count)
                rows.withUnsafeMutableBufferPointer { m.convert(rows: 0..<m.rows, into: $0.baseAddress!) }
                return rows
            }
        }
        let biased = layers.filter { $0.bias != nil }.count
        precondition(biased == 0 || biased == layers.count, "either all stacked layers have a bias or none")
        self.init(weight: Parameter(shape: [out, layers[0].inFeatures], scalars: scalars),
                  bias: biased == 0 ? nil : Parameter(shape: [out], scalars: layers.flatMap { $0.bias!.scalars }))
    }

    public var parameterCount: Int { inFeatures * outFeatures + (bias?.count ?? 0) }

    /// `y[rows × out] = x[rows × in] · Wᵀ + b` (or `y += …` when `accumulate`); `ldy` lets the output land in a
    /// column block of a wider matrix. Workers split the rows, or the output features when there are few rows
    /// or the weight is 16-bit.
    public func callAsFunction(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false
    ) {
        let ld = ldy ?? outFeatures
        guard rows > 0 else { return }
        // 16-bit weights split by output features whatever the rows, so that each is converted once per product.
        let splitRows: Bool
        switch weight {
        case .float: splitRows = rows >= 64 * Neural.threads || outFeatures < 128
        case .half: splitRows = outFeatures < 128
        }
        if splitRows {
            Parallel.ranges(rows, minimum: 32) { r in
                block(x, rows: r, columns: 0..<outFeatures, into: y, ld: ld, accumulate: accumulate)
            }
        } else {
            Parallel.ranges(outFeatures, minimum: 64) { c in
                block(x, rows: 0..<rows, columns: c, into: y, ld: ld, accumulate: accumulate)
            }
        }
    }

    /// Output features converted per step of a 16-bit weight: a scratch of about 64 KiB for a few rows (a query,
    /// where it stays in cache); for many (a clip's tokens) up to 32 MiB, usually a worker's whole share of the
    /// features, since each `sgemm` packs all the rows again and must be wide enough to amortise that.
    private func halfBlock(rows: Int) -> Int { Swift.max(8, (rows >= 256 ? 8_388_608 : 16_384) / Swift.max(1, inFeatures)) }

    private func block(
        _ x: UnsafePointer<Float>, rows: Range<Int>, columns: Range<Int>, into y: UnsafeMutablePointer<Float>, ld: Int,
        accumulate: Bool
    ) {
        let k = inFeatures, n = columns.count
        let out = y + rows.lowerBound * ld + columns.lowerBound
        if let bias, !accumulate {
            for r in 0..<rows.count { (out + r * ld).update(from: bias.pointer + columns.lowerBound, count: n) }
        }
        let beta: Float = accumulate || bias != nil ? 1 : 0
        switch weight {
        case .float(let w):
            GEMM.sgemm(transB: true, m: rows.count, n: n, k: k, a: x + rows.lowerBound * k, lda: k,
                       b: w.pointer + columns.lowerBound * k, ldb: k, beta: beta, c: out, ldc: ld)
        case .half(let w):
            let step = halfBlock(rows: rows.count)
            ThreadScratch.withFloats(Swift.min(step, n) * k) { scratch in
                for c0 in stride(from: columns.lowerBound, to: columns.upperBound, by: step) {
                    let c1 = Swift.min(c0 + step, columns.upperBound)
                    w.convert(rows: c0..<c1, into: scratch)
                    GEMM.sgemm(transB: true, m: rows.count, n: c1 - c0, k: k, a: x + rows.lowerBound * k, lda: k,
                               b: scratch, ldb: k, beta: beta, c: out + (c0 - columns.lowerBound), ldc: ld)
                }
            }
        }
        if accumulate, let bias {
            for r in 0..<rows.count { Kernels.add(bias.pointer + columns.lowerBound, into: out + r * ld, count: n) }
        }
    }

    /// Convenience for tensors: [rows, in] → [rows, out].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures)
        let rows = x.count / inFeatures
        var out = [Float](repeating: 0, count: rows * outFeatures)
        x.scalars.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in self(xb.baseAddress!, rows: rows, into: ob.baseAddress!) }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], scalars: out)
    }
}

extension GEMM {
    /// Measures this machine's single-precision GEMM rate with OpenBLAS's own `threads` threads: the best of
    /// `repeats` products of two n×n matrices.
    /// - Returns: GFLOP/s (2n³ floating-point operations per product).
    public static func measureGFLOPS(n: Int = 1024, repeats: Int = 5, threads: Int = Neural.threads) -> Double {
        _ = Neural.blasPinned
        vj_blas_set_num_threads(Int32(threads))
        defer { vj_blas_set_num_threads(1) }
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)  // warm-up
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)
            let elapsed = ContinuousClock.now - start
            best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }
}
