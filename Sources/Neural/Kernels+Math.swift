/// Vectorised elementwise math on 8-lane SIMD vectors, and the small loops every kernel shares.
///
/// Eight lanes keep the polynomial's live values in registers on baseline x86-64 (SSE2, sixteen 128-bit
/// registers); wider vectors spill to the stack there.
public enum Kernels {}

typealias Vec = SIMD8<Float>
let lanes = Vec.scalarCount

extension Kernels {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Vec {
        UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
    }

    @inline(__always) static func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
    }

    /// `a · b + c`, fused into one FMA instruction where the build targets a CPU that has it (`VJ_FMA`, set for
    /// x86-64 release builds with `-target-cpu haswell`); Swift never contracts `a * b + c` on its own.
    @inline(__always) static func fma(_ a: Vec, _ b: Vec, _ c: Vec) -> Vec {
        #if VJ_FMA
        return c.addingProduct(a, b)
        #else
        return a * b + c
        #endif
    }

    /// Cephes' range reduction for `e^x`: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, returning `r` and `2^n`.
    /// `x` must lie in [−88, 88]; at −88 (n = −127) the scale is exactly 0.
    @inline(__always) static func reduce(_ x: Vec) -> (r: Vec, scale: Vec) {
        let magic = Vec(repeating: 12_582_912)  // 1.5 · 2^23: adding it rounds to an integer in the low bits.
        let t = fma(x, Vec(repeating: 1.442_695_04), magic)
        let n = t - magic
        let r = fma(n, Vec(repeating: 2.121_944_4e-4), fma(n, Vec(repeating: -0.693_359_375), x))
        let k = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        return (r, unsafeBitCast((k &+ 127) &<< 23, to: Vec.self))
    }

    /// `e^x` to about 2 ulp (Cephes' polynomial); 0 below −87.3, inputs above 88 clamped.
    @inline(__always) static func exp(_ value: Vec) -> Vec {
        // `replacing` rather than `clamped`: the generic min/max are not inlined and cost a call per vector.
        let high = Vec(repeating: 88.0), low = Vec(repeating: -88.0)
        let (x, scale) = reduce(value.replacing(with: high, where: value .> high).replacing(with: low, where: value .< low))
        var p = Vec(repeating: 1.987_569_15e-4)
        p = fma(p, x, Vec(repeating: 1.398_199_950_7e-3))
        p = fma(p, x, Vec(repeating: 8.333_451_907_3e-3))
        p = fma(p, x, Vec(repeating: 4.166_579_589_4e-2))
        p = fma(p, x, Vec(repeating: 1.666_666_545_9e-1))
        p = fma(p, x, Vec(repeating: 5.000_000_120_1e-1))
        p = fma(p, x * x, x + 1)
        // Below −87.3 the result is 0 (the exponent bits of `scale` would underflow).
        return (p * scale).replacing(with: 0, where: value .< -87.3)
    }

    /// `e^x` for `x ≤ 0` (softmax after subtracting the row maximum), relative error about 2e-7: Cephes' range
    /// reduction and a degree-5 minimax polynomial. Inputs at or below −88 (and −∞) give exactly 0, as the exponent
    /// bits of the scale reach zero.
    @inline(__always) static func expNonPositive(_ value: Vec) -> Vec {
        let low = Vec(repeating: -88.0)
        let (r, scale) = reduce(value.replacing(with: low, where: value .< low))
        var p = Vec(repeating: 8.312_525_2e-3)
        p = fma(p, r, Vec(repeating: 4.189_011_5e-2))
        p = fma(p, r, Vec(repeating: 1.666_711_4e-1))
        p = fma(p, r, Vec(repeating: 4.999_923_1e-1))
        return fma(p, r * r, r + 1) * scale
    }

    /// `erf(x)` with absolute error below 4e-7 (Abramowitz & Stegun 7.1.26).
    @inline(__always) static func erf(_ x: Vec) -> Vec {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = 1 / fma(Vec(repeating: 0.327_591_1), a, Vec(repeating: 1))
        var p = Vec(repeating: 1.061_405_429)
        p = fma(p, t, Vec(repeating: -1.453_152_027))
        p = fma(p, t, Vec(repeating: 1.421_413_741))
        p = fma(p, t, Vec(repeating: -0.284_496_736))
        p = fma(p, t, Vec(repeating: 0.254_829_592))
        p = p * t
        let y = 1 - p * expNonPositive(-(a * a))
        return y.replacing(with: -y, where: x .< 0)
    }

    /// `tanh(x)` as `1 − 2 / (e^{2x} + 1)`, with the sign handled so small inputs keep relative accuracy.
    @inline(__always) static func tanh(_ x: Vec) -> Vec {
        let a = x.replacing(with: -x, where: x .< 0)
        let e = exp(-2 * a)
        let y = (1 - e) / (1 + e)
        return y.replacing(with: -y, where: x .< 0)
    }

    /// Applies `body` to `count` floats in place, `lanes` at a time, padding the tail with zeros.
    @inline(__always) static func map(_ x: UnsafeMutablePointer<Float>, count: Int, _ body: (Vec) -> Vec) {
        var i = 0
        while i + lanes <= count {
            store(body(load(x + i)), x + i)
            i += lanes
        }
        if i < count {
            var tail = Vec()
            for j in 0..<(count - i) { tail[j] = x[i + j] }
            let y = body(tail)
            for j in 0..<(count - i) { x[i + j] = y[j] }
        }
    }

    /// Sum of `count` floats with SIMD accumulators.
    @inline(__always) static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vec()
        var i = 0
        while i + lanes <= count { acc += load(x + i); i += lanes }
        var s = acc.sum()
        while i < count { s += x[i]; i += 1 }
        return s
    }

    /// Dot product of two `count`-float vectors.
    @inline(__always) static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vec()
        var i = 0
        while i + lanes <= count { acc += load(x + i) * load(y + i); i += lanes }
        var s = acc.sum()
        while i < count { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// `y += x`, elementwise.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + lanes <= count { store(load(y + i) + load(x + i), y + i); i += lanes }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// `x *= s`, elementwise.
    public static func scale(_ x: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
        map(x, count: count) { $0 * s }
    }

    /// Elementwise `exp` in place (exposed for tests).
    public static func exp(_ x: UnsafeMutablePointer<Float>, count: Int) { map(x, count: count) { exp($0) } }
    /// Elementwise `erf` in place (exposed for tests).
    public static func erf(_ x: UnsafeMutablePointer<Float>, count: Int) { map(x, count: count) { erf($0) } }
}

extension Kernels {
    /// Elementwise `tanh` in place.
    public static func tanh(_ x: UnsafeMutablePointer<Float>, count: Int) { map(x, count: count) { tanh($0) } }
}
