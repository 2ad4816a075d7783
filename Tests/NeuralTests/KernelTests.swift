import Foundation
import Testing
import TestSupport
import CKernels
@testable import Neural

/// A deterministic generator so failures reproduce.
extension SplitMix64 {
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
}

/// Every value within `rel`·|expected| + `abs` (`toleranceMismatch`: NaN never passes the tolerance arithmetic).
func expectClose(_ a: [Float], _ b: [Float], rel: Float = 1e-5, abs absTol: Float = 1e-6,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let mismatch = toleranceMismatch(a, b, rel: Double(rel), abs: Double(absTol))
    #expect(mismatch == nil, "\(mismatch ?? "")", sourceLocation: sourceLocation)
}

@Suite struct KernelTests {
    @Test func comparisonFailsOnNonFiniteValues() {
        // `max(worst, NaN)` keeps `worst`: a NaN must be counted on its own, not through the tolerance.
        #expect(toleranceMismatch([1, .nan, 3] as [Float], [1, 2, 3] as [Float], rel: 1, abs: 1) != nil)
        #expect(toleranceMismatch([.infinity] as [Float], [1e30] as [Float], rel: 1, abs: 1) != nil)
        #expect(toleranceMismatch([1] as [Float], [.nan] as [Float], rel: 1, abs: 1) != nil)
        #expect(toleranceMismatch([.infinity] as [Float], [-.infinity] as [Float], rel: 1e-5, abs: 1e-6) != nil)
        expectClose([1, .infinity, -.infinity, .nan], [1, .infinity, -.infinity, -.nan])
    }

    @Test func expAndErfMatchLibm() {
        var xs: [Float] = stride(from: -20.0, through: 20.0, by: 0.037).map { Float($0) }
        xs += [0, -0.0, 1e-8, -1e-8, 87, -87, 88]
        var e = xs, r = xs
        e.withUnsafeMutableBufferPointer { Kernels.exp($0.baseAddress!, count: $0.count) }
        r.withUnsafeMutableBufferPointer { Kernels.erf($0.baseAddress!, count: $0.count) }
        expectClose(e, xs.map { Float(Foundation.exp(Double($0))) }, rel: 3e-7, abs: 0)
        expectClose(r, xs.map { Float(Foundation.erf(Double($0))) }, rel: 0, abs: 4e-7)
    }

    @Test func softmaxExpMatchesLibmAndReachesExactZero() {
        var xs: [Float] = stride(from: -100.0, through: 0, by: 0.0137).map { Float($0) }
        xs += [0, -0.0, -1e-8, -87, -87.3, -88, -1e30, -.infinity]
        var e = [Float](repeating: 0, count: xs.count)
        for i in stride(from: 0, to: xs.count, by: lanes) {
            var v = Vec(repeating: 0)
            for j in 0..<Swift.min(lanes, xs.count - i) { v[j] = xs[i + j] }
            let y = Kernels.expNonPositive(v)
            for j in 0..<Swift.min(lanes, xs.count - i) { e[i + j] = y[j] }
        }
        for (x, y) in zip(xs, e) {
            let exact = Foundation.exp(Double(x))
            if x > -87 {
                #expect(Swift.abs(Double(y) - exact) <= 3e-7 * exact, "exp(\(x)) = \(y), libm \(exact)")
            } else if x <= -88 {
                #expect(y == 0, "exp(\(x)) = \(y), not 0")
            } else {
                #expect(y >= 0 && Double(y) < 2e-38)
            }
        }
    }

    @Test(arguments: [Activation.gelu, .geluTanh, .silu, .relu])
    func activationsMatchDefinitions(_ act: Activation) {
        var rng = SplitMix64(seed: 1)
        let xs = rng.floats(1000, scale: 8) + [0, 1, -1]
        var ys = xs
        ys.withUnsafeMutableBufferPointer { Kernels.activate($0.baseAddress!, count: $0.count, act) }
        let expected = xs.map { (f: Float) -> Float in
            let x = Double(f)
            switch act {
            case .gelu: return Float(0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())))
            case .geluTanh: return Float(0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))))
            case .silu: return Float(x / (1 + Foundation.exp(-x)))
            case .relu: return Float(Swift.max(0, x))
            case .identity: return f
            }
        }
        expectClose(ys, expected, rel: 1e-5, abs: 1e-6)
    }

    @Test func gatedMultipliesActivatedGateByUp() {
        var rng = SplitMix64(seed: 2)
        let gate = rng.floats(37, scale: 4), up = rng.floats(37, scale: 4)
        var out = gate
        out.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { u in
            Kernels.gated(g.baseAddress!, up: u.baseAddress!, count: 37, .silu)
        } }
        expectClose(out, zip(gate, up).map { g, u in g / (1 + Foundation.exp(-g)) * u }, rel: 1e-5, abs: 1e-6)
    }

    @Test func normsMatchDefinitions() {
        var rng = SplitMix64(seed: 3)
        let rows = 3, dim = 37
        let x = rng.floats(rows * dim, scale: 3).map { $0 + 0.5 }
        let w = rng.floats(dim), b = rng.floats(dim)
        var ln = [Float](repeating: 0, count: rows * dim), rms = ln, gemma = ln
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
            Kernels.layerNorm(xp.baseAddress!, rows: rows, dim: dim, weight: wp.baseAddress!, bias: bp.baseAddress!, eps: 1e-6, into: &ln)
            Kernels.rmsNorm(xp.baseAddress!, rows: rows, dim: dim, weight: wp.baseAddress!, eps: 1e-6, into: &rms)
            Kernels.rmsNorm(xp.baseAddress!, rows: rows, dim: dim, weight: wp.baseAddress!, weightOffset: 1, eps: 1e-6, into: &gemma)
        } } }
        var eLN = [Float](), eRMS = [Float](), eG = [Float]()
        for r in 0..<rows {
            let row = x[(r * dim)..<((r + 1) * dim)].map(Double.init)
            let mean = row.reduce(0, +) / Double(dim)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
            let ms = row.map { $0 * $0 }.reduce(0, +) / Double(dim)
            for i in 0..<dim {
                eLN.append(Float((row[i] - mean) / (variance + 1e-6).squareRoot() * Double(w[i]) + Double(b[i])))
                eRMS.append(Float(row[i] / (ms + 1e-6).squareRoot() * Double(w[i])))
                eG.append(Float(row[i] / (ms + 1e-6).squareRoot() * (1 + Double(w[i]))))
            }
        }
        expectClose(ln, eLN, rel: 1e-5, abs: 1e-5)
        expectClose(rms, eRMS, rel: 1e-5, abs: 1e-5)
        expectClose(gemma, eG, rel: 1e-5, abs: 1e-5)
    }

    @Test func softmaxRowsSumToOneAndMaskedRowsAreZero() {
        var x: [Float] = [1, 2, 3, 4, -.infinity, -.infinity, -.infinity, -.infinity, 1000, 0, -1000, -.infinity]
        x.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, rows: 3, cols: 4) }
        let e = [1, 2, 3, 4].map { Foundation.exp(Double($0)) }
        let s = e.reduce(0, +)
        expectClose(Array(x[0..<4]), e.map { Float($0 / s) }, rel: 1e-6)
        #expect(Array(x[4..<8]) == [0, 0, 0, 0])
        #expect(Array(x[8..<12]) == [1, 0, 0, 0])
    }

    /// Reference attention in Double, one query at a time.
    func naiveAttention(q: [Float], k: [Float], v: [Float], n: Int, heads: Int, kvHeads: Int, d: Int,
                        scale: Float, valid: [Bool]?, window: Int?) -> [Float] {
        var out = [Float](repeating: 0, count: n * heads * d)
        for h in 0..<heads {
            let kh = h / (heads / kvHeads)
            for i in 0..<n {
                var logits = [Double](repeating: -.infinity, count: n)
                for j in 0..<n where (valid?[j] ?? true) && (window.map { Swift.abs(i - j) < $0 } ?? true) {
                    var s = 0.0
                    for c in 0..<d { s += Double(q[i * heads * d + h * d + c]) * Double(k[j * kvHeads * d + kh * d + c]) }
                    logits[j] = s * Double(scale)
                }
                let m = logits.max()!
                guard m > -.infinity else { continue }  // no visible key: the row stays zeros, as documented
                let w = logits.map { Foundation.exp($0 - m) }
                let z = w.reduce(0, +)
                for c in 0..<d {
                    var acc = 0.0
                    for j in 0..<n { acc += w[j] / z * Double(v[j * kvHeads * d + kh * d + c]) }
                    out[i * heads * d + h * d + c] = Float(acc)
                }
            }
        }
        return out
    }

    /// The ways of running attention's two products that this CPU supports.
    static let products: [Kernels.AttentionProducts] = vj_kernels_available() != 0 ? [.openBLAS, .packed] : [.openBLAS]

    /// (segment lengths, heads, kvHeads, headDim, window, padded): short sequences with every kind of mask; longer
    /// ones that span several query blocks, partial 6-row and 16-column tiles and more than one step of keys; and
    /// several sequences back to back, short and long mixed.
    static let attentionShapes: [([Int], Int, Int, Int, Int?, Bool)] = [
        ([9], 4, 4, 8, nil, false), ([9], 4, 2, 8, nil, true), ([9], 6, 1, 8, 3, true), ([9], 2, 2, 8, 2, false),
        ([300], 2, 1, 24, nil, true), ([263], 1, 1, 64, 100, false), ([17], 3, 3, 32, nil, false),
        ([17, 5, 30, 1], 3, 3, 32, nil, false), ([5, 200, 16], 4, 2, 16, 7, false),
    ]

    @Test(arguments: products, attentionShapes)
    func attentionMatchesNaive(products: Kernels.AttentionProducts, shape: ([Int], Int, Int, Int, Int?, Bool)) {
        let (lengths, heads, kvHeads, d, window, padded) = shape
        var segments: [Range<Int>] = []
        for n in lengths { segments.append((segments.last?.upperBound ?? 0)..<((segments.last?.upperBound ?? 0) + n)) }
        let rows = segments.last!.upperBound, longest = lengths.max()!
        var rng = SplitMix64(seed: 4)
        let q = rng.floats(rows * heads * d), k = rng.floats(rows * kvHeads * d), v = rng.floats(rows * kvHeads * d)
        let valid: [Bool]? = padded ? (0..<longest).map { $0 < longest * 2 / 3 } : nil
        var out = [Float](repeating: .nan, count: rows * heads * d)
        var scores = [Float](repeating: .nan, count: Kernels.attentionScratch(length: longest, kvHeads: kvHeads, headDim: d))
        scores.withUnsafeMutableBufferPointer { sb in
            Kernels.attention(q: q, k: k, v: v, out: &out, segments: segments, heads: heads, kvHeads: kvHeads,
                              headDim: d, qStride: heads * d, kvStride: kvHeads * d, outStride: heads * d, scale: 0.3,
                              mask: .init(keyIsValid: valid, window: window), scores: sb, products: products)
        }
        var expected: [Float] = []
        for s in segments {
            func slice(_ x: [Float], _ width: Int) -> [Float] { Array(x[(s.lowerBound * width)..<(s.upperBound * width)]) }
            expected += naiveAttention(q: slice(q, heads * d), k: slice(k, kvHeads * d), v: slice(v, kvHeads * d),
                                       n: s.count, heads: heads, kvHeads: kvHeads, d: d, scale: 0.3,
                                       valid: valid.map { Array($0[0..<s.count]) }, window: window)
        }
        expectClose(out, expected, rel: 1e-5, abs: 2e-6)
    }

    /// The packed GEMM kernel against a Double reference: partial tiles, k in several steps, strided A and C,
    /// overwrite and accumulate, B packed from either orientation.
    @Test(.enabled(if: vj_kernels_available() != 0), arguments: [(1, 1, 1), (6, 16, 64), (13, 37, 300), (128, 50, 7), (7, 64, 600), (200, 20, 5), (3, 5, 0)])
    func packedGEMMMatchesReference(m: Int, n: Int, k: Int) {
        var rng = SplitMix64(seed: UInt64(m * 1000 + n * 10 + k))
        let lda = k + 3, ldc = n + 5
        let a = rng.floats(m * lda), bRowMajor = rng.floats(k * n), c0 = rng.floats(m * ldc)
        let bTransposed = (0..<(n * k)).map { i in bRowMajor[(i % k) * n + i / k] }  // [n × k]: Bᵀ stored row-major
        for transposed in [false, true] {
            var packed = [Float](repeating: .nan, count: vj_packed_size(Int32(k), Int32(n)))
            if transposed {
                vj_pack_panels(bTransposed, 1, k, Int32(k), Int32(n), &packed)
            } else {
                vj_pack_panels(bRowMajor, n, 1, Int32(k), Int32(n), &packed)
            }
            for accumulate in [false, true] {
                var c = c0
                vj_sgemm_packed(Int32(m), Int32(n), Int32(k), 0.5, a, lda, packed, &c, ldc, accumulate ? 1 : 0)
                var expected = c0
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0
                        for p in 0..<k { s += Double(a[i * lda + p]) * Double(bRowMajor[p * n + j]) }
                        expected[i * ldc + j] = Float(0.5 * s) + (accumulate ? c0[i * ldc + j] : 0)
                    }
                }
                expectClose(c, expected, rel: 1e-5, abs: 1e-5)  // includes the untouched padding columns of C
            }
        }
    }

    @Test func linearComputesXWTransposePlusBias() {
        let w = Parameter(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Parameter(shape: [2], scalars: [10, 20])
        let y = Linear(weight: w, bias: b)(Tensor(shape: [2, 3], scalars: [1, 0, -1, 2, 1, 0]))
        #expect(y.shape == [2, 2])
        #expect(y.scalars == [8, 18, 14, 33] as [Float])
    }

    @Test func ropeRotateHalfPreservesNormAndRotatesPairs() {
        let rope = RoPE(inverseFrequencies: RoPE.defaultFrequencies(base: 10_000, dim: 4))
        #expect(rope.inverseFrequencies == [1, 0.01])
        let (c, s) = rope.tables(positions: 0..<3)
        var x: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 0.5, 2, 1, 3]
        RoPE.applyHalf(&x, rows: 3, stride: 4, heads: 1, headDim: 4, cos: c, sin: s, pairs: 2)
        #expect(Array(x[0..<4]) == [1, 0, 0, 0])
        expectClose(Array(x[4..<8]), [Float(Foundation.cos(1.0)), 0, Float(Foundation.sin(1.0)), 0])
        let a = 2.0, f = 0.01
        expectClose(Array(x[8..<12]), [
            Float(0.5 * Foundation.cos(a) - 1 * Foundation.sin(a)), Float(2 * Foundation.cos(a * f) - 3 * Foundation.sin(a * f)),
            Float(1 * Foundation.cos(a) + 0.5 * Foundation.sin(a)), Float(3 * Foundation.cos(a * f) + 2 * Foundation.sin(a * f)),
        ])
    }

    @Test func llama3ScalingKeepsHighAndDividesLowFrequencies() {
        let base = RoPE.defaultFrequencies(base: 500_000, dim: 64)
        let scaled = RoPE.llama3Frequencies(base: 500_000, dim: 64, factor: 32, lowFrequencyFactor: 1,
                                            highFrequencyFactor: 4, originalContext: 8192)
        #expect(scaled[0] == base[0])
        #expect(Swift.abs(scaled[31] - base[31] / 32) <= 1e-12)
        #expect(scaled.indices.contains { scaled[$0] < base[$0] && scaled[$0] > base[$0] / 32 })
    }

    @Test func rope3DRotatesSectionsByFrameRowAndColumn() {
        // headDim 16: sections of 4 dims (frame, row, col) and 4 unrotated dims; grid 2×3 tokens per frame.
        let rope = RoPE3D(headDim: 16, gridHeight: 2, gridWidth: 3, maxPosition: 4)
        #expect(rope.sectionDim == 4)
        let token = 1 * 6 + 1 * 3 + 2  // frame 1, row 1, col 2
        var x = [Float](repeating: 0, count: (token + 1) * 16)
        for i in 0..<16 { x[token * 16 + i] = Float(i + 1) }
        rope.apply(&x, tokens: token + 1, stride: 16, heads: 1)
        let v = Array(x[(token * 16)...])
        // Frequencies inside a 4-dim section: ω = [1, 1/100]; dim j uses ω[j mod 2].
        func rot(_ a: Float, _ b: Float, _ p: Double) -> [Float] {
            [Float(Double(a) * Foundation.cos(p) - Double(b) * Foundation.sin(p)),
             Float(Double(b) * Foundation.cos(p * 0.01) + Double(a) * Foundation.sin(p * 0.01))]
        }
        let expected = rot(1, 2, 1) + rot(3, 4, 1) + rot(5, 6, 1) + rot(7, 8, 1) + rot(9, 10, 2) + rot(11, 12, 2) + [13, 14, 15, 16]
        expectClose(v, expected)
    }

    @Test func tubeletsFollowConv3dOrdering() {
        // 4 frames, 2 channels, 4×4 pixels, tubelet 2, patch 2 → 2×2×2 tokens of 2·2·2·2 = 16 values.
        let video = (0..<(4 * 2 * 4 * 4)).map(Float.init)
        var out = [Float](repeating: -1, count: 8 * 16)
        Kernels.tubelets(video, frames: 4, channels: 2, height: 4, width: 4, tubelet: 2, patch: 2, into: &out)
        func pixel(_ t: Int, _ c: Int, _ y: Int, _ x: Int) -> Float { Float(((t * 2 + c) * 4 + y) * 4 + x) }
        // Token (t=1, y=0, x=1), column (c=1, dt=0, dy=1, dx=0).
        let tokenIndex = (1 * 2 + 0) * 2 + 1
        let column = ((1 * 2 + 0) * 2 + 1) * 2 + 0
        #expect(out[tokenIndex * 16 + column] == pixel(2, 1, 1, 2))
        #expect(!out.contains(-1))
    }

    @Test func maskedMeanAndL2Normalize() {
        var out = [Float](repeating: 9, count: 2)
        Kernels.maskedMean([1, 2, 3, 4, 100, 100], rows: 3, dim: 2, mask: [true, true, false], into: &out)
        #expect(out == [2, 3])
        var v: [Float] = [3, 4, 0, 0]
        Kernels.l2Normalize(&v, rows: 2, dim: 2)
        #expect(v == [0.6, 0.8, 0, 0])
    }
}

@Suite struct ThreadingTests {
    /// Runs `body` with `threads` workers (a process-wide setting; the other suites compare with tolerances).
    func with<T>(threads: Int, _ body: () -> T) -> T {
        let saved = Neural.threads
        Neural.setThreads(threads)
        defer { Neural.setThreads(saved) }
        return body()
    }

    @Test(arguments: [(300, 96), (5, 700)])  // many rows: rows split; few rows and wide output: columns split
    func linearIsTheSameOnOneOrSeveralWorkers(rows: Int, out: Int) {
        var rng = SplitMix64(seed: 9)
        let layer = Linear(weight: Parameter(shape: [out, 40], scalars: rng.floats(out * 40)),
                           bias: Parameter(shape: [out], scalars: rng.floats(out)))
        let x = Tensor(shape: [rows, 40], scalars: rng.floats(rows * 40))
        let one = with(threads: 1) { layer(x) }
        let three = with(threads: 3) { layer(x) }
        expectClose(three.scalars, one.scalars, rel: 1e-5, abs: 1e-5)
        var accumulated = one.scalars
        with(threads: 3) {
            x.scalars.withUnsafeBufferPointer { xb in
                accumulated.withUnsafeMutableBufferPointer { layer(xb.baseAddress!, rows: rows, into: $0.baseAddress!, accumulate: true) }
            }
        }
        expectClose(accumulated, one.scalars.map { 2 * $0 }, rel: 1e-5, abs: 1e-5)
    }

    @Test(arguments: [(300, 96), (5, 700), (600, 1100)])
    func halfWeightsGiveTheConvertedLayersResult(rows: Int, out: Int) throws {
        var rng = SplitMix64(seed: 11)
        let w = Tensor(shape: [out, 1000], scalars: rng.floats(out * 1000)), b = Tensor(shape: [out], scalars: rng.floats(out))
        let dir = try TemporaryDirectory()
        try SafeTensors.serialize(["w": w, "b": b], dtype: .f16).write(to: dir.file("m.safetensors"))
        let file = try SafeTensorsFile(url: dir.file("m.safetensors"))
        let half = Linear(weight: try #require(file.halfMatrix("w")), bias: try file.parameter("b"))
        let converted = Linear(weight: try #require(try file.parameter("w")), bias: try file.parameter("b"))
        #expect(half.inFeatures == 1000 && half.outFeatures == out && half.parameterCount == converted.parameterCount)
        let x = Tensor(shape: [rows, 1000], scalars: rng.floats(rows * 1000))
        for threads in [1, 3] {
            expectClose(with(threads: threads) { half(x) }.scalars, converted(x).scalars, rel: 1e-5, abs: 1e-4)  // sums of 1,000 in another order
        }
        #expect(file.halfMatrix("b") == nil)  // rank 1
    }

    @Test func attentionIsTheSameOnOneOrSeveralWorkers() {
        var rng = SplitMix64(seed: 10)
        let n = 300, heads = 3, d = 8
        let q = rng.floats(n * heads * d), k = rng.floats(n * heads * d), v = rng.floats(n * heads * d)
        func run() -> [Float] {
            var out = [Float](repeating: 0, count: n * heads * d)
            var scores = [Float](repeating: 0, count: Kernels.attentionScratch(length: n, kvHeads: heads, headDim: d))
            scores.withUnsafeMutableBufferPointer { sb in
                Kernels.attention(q: q, k: k, v: v, out: &out, segments: [0..<n], heads: heads, kvHeads: heads, headDim: d,
                                  qStride: heads * d, kvStride: heads * d, outStride: heads * d, scale: 0.5,
                                  mask: .init(window: 50), scores: sb)
            }
            return out
        }
        let one = with(threads: 1) { run() }
        let three = with(threads: 3) { run() }
        expectClose(three, one, rel: 1e-5, abs: 1e-6)
    }
}
