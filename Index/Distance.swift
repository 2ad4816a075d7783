/// How two vectors are compared. Smaller distances are closer.
public enum Metric: UInt32, Sendable, CaseIterable {
    /// `1 − a·b` on vectors normalised at insert and query time.
    case cosine = 0
    /// `1 − a·b` on vectors as given (hnswlib's `ip` space).
    case innerProduct = 1
    /// Squared Euclidean distance.
    case l2 = 2
}

/// SIMD distance kernels over contiguous `Float` memory, four 16-lane accumulators wide.
enum Distance {
    /// `a·b` over `n` floats. Unaligned loads: vectors from the LMDB map are 16-byte aligned at best.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        var i = 0
        while i &+ 64 <= n {
            let o = i &* 4
            s0.addProduct(ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            s1.addProduct(ra.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self))
            s2.addProduct(ra.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self))
            s3.addProduct(ra.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self))
            i &+= 64
        }
        while i &+ 16 <= n {
            s0.addProduct(ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self),
                          rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self))
            i &+= 16
        }
        var sum = ((s0 + s1) + (s2 + s3)).sum()
        while i < n {
            sum += a[i] * b[i]
            i &+= 1
        }
        return sum
    }

    /// `a·c` for `n` floats `a` and `n` int8 values `c`: each 16 codes widen to floats in registers, so the map
    /// is read a quarter as much as for f32 vectors.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, codes c: UnsafeRawPointer, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a)
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= n {
            s0.addProduct(ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self),
                          SIMD16<Float>(c.loadUnaligned(fromByteOffset: i, as: SIMD16<Int8>.self)))
            s1.addProduct(ra.loadUnaligned(fromByteOffset: (i &+ 16) &* 4, as: SIMD16<Float>.self),
                          SIMD16<Float>(c.loadUnaligned(fromByteOffset: i &+ 16, as: SIMD16<Int8>.self)))
            i &+= 32
        }
        var sum = (s0 + s1).sum()
        while i < n {
            sum += a[i] * Float(c.load(fromByteOffset: i, as: Int8.self))
            i &+= 1
        }
        return sum
    }

    /// `|a − b|²` over `n` floats.
    @inline(__always)
    static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        var i = 0
        while i &+ 64 <= n {
            let o = i &* 4
            let d0 = ra.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            let d1 = ra.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD16<Float>.self)
            let d2 = ra.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o &+ 128, as: SIMD16<Float>.self)
            let d3 = ra.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: o &+ 192, as: SIMD16<Float>.self)
            s0.addProduct(d0, d0)
            s1.addProduct(d1, d1)
            s2.addProduct(d2, d2)
            s3.addProduct(d3, d3)
            i &+= 64
        }
        while i &+ 16 <= n {
            let d = ra.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            s0.addProduct(d, d)
            i &+= 16
        }
        var sum = ((s0 + s1) + (s2 + s3)).sum()
        while i < n {
            let d = a[i] - b[i]
            sum += d * d
            i &+= 1
        }
        return sum
    }

    /// The distance under `metric`; cosine vectors are already normalised.
    @inline(__always)
    static func distance(_ metric: Metric, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        switch metric {
        case .cosine, .innerProduct: return 1 - dot(a, b, n)
        case .l2: return l2Squared(a, b, n)
        }
    }

    /// Scales `v` to unit length in place (a zero vector stays zero).
    static func normalize(_ v: UnsafeMutablePointer<Float>, _ n: Int) {
        let norm = dot(v, v, n).squareRoot()
        guard norm > 0 else { return }
        let scale = 1 / norm
        for i in 0..<n { v[i] *= scale }
    }
}

extension SIMD16<Float> {
    /// `self += a * b`, fused where the target has FMA.
    @inline(__always)
    mutating func addProduct(_ a: SIMD16<Float>, _ b: SIMD16<Float>) {
        self = self.addingProduct(a, b)
    }
}
