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

/// A fully connected layer in PyTorch's layout: `weight` is [out, in], `y = x · weightᵀ + bias`.
public struct Linear: Sendable {
    public let weight: Parameter
    public let bias: Parameter?

    public init(weight: Parameter, bias: Parameter?) {
        precondition(weight.shape.count == 2)
        precondition(bias == nil || bias!.shape == [weight.shape[0]])
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }
    public var parameterCount: Int { weight.count + (bias?.count ?? 0) }

    /// `y[rows × out] = x[rows × in] · Wᵀ + b`; `ldy` lets the output land in a column block of a wider matrix.
    public func callAsFunction(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false
    ) {
        let n = outFeatures
        let ld = ldy ?? n
        guard rows > 0 else { return }
        if let bias, !accumulate {
            for r in 0..<rows { (y + r * ld).update(from: bias.pointer, count: n) }
            GEMM.sgemm(transB: true, m: rows, n: n, k: inFeatures, a: x, lda: inFeatures,
                       b: weight.pointer, ldb: inFeatures, beta: 1, c: y, ldc: ld)
        } else {
            GEMM.sgemm(transB: true, m: rows, n: n, k: inFeatures, a: x, lda: inFeatures,
                       b: weight.pointer, ldb: inFeatures, beta: accumulate ? 1 : 0, c: y, ldc: ld)
            if accumulate, let bias {
                for r in 0..<rows { Kernels.add(bias.pointer, into: y + r * ld, count: n) }
            }
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
    /// Measures this machine's single-precision GEMM rate: the best of `repeats` products of two n×n matrices.
    /// - Returns: GFLOP/s (2n³ floating-point operations per product).
    public static func measureGFLOPS(n: Int = 1024, repeats: Int = 5) -> Double {
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
