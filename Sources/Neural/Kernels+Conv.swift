/// The inner loops of the convolutions in `Convolution.swift`: im2col, the depthwise kernel, the bias-and-activation
/// epilogue and global average pooling.
extension Kernels {
    enum ReLU6: VectorFunction {
        @inline(__always) static func apply(_ x: Vec) -> Vec {
            x.replacing(with: 0, where: x .< 0).replacing(with: 6, where: x .> 6)
        }
    }

    /// `y[r, c] = act(y[r, c] + bias[c])` over `rows` rows of `columns` values, `ld` apart.
    static func biasActivate(
        _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ld: Int, bias: UnsafePointer<Float>,
        _ activation: ConvActivation
    ) {
        switch activation {
        case .identity: biasActivate(y, rows: rows, columns: columns, ld: ld, bias: bias, Identity.self)
        case .relu6: biasActivate(y, rows: rows, columns: columns, ld: ld, bias: bias, ReLU6.self)
        }
    }

    @inline(__always)
    static func biasActivate<F: VectorFunction>(
        _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ld: Int, bias: UnsafePointer<Float>, _: F.Type
    ) {
        for r in 0..<rows {
            let row = y + r * ld
            var c = 0
            while c + lanes <= columns {
                store(F.apply(load(row + c) + load(bias + c)), row + c)
                c += lanes
            }
            while c < columns {
                row[c] = F.apply(Vec(repeating: row[c] + bias[c]))[0]
                c += 1
            }
        }
    }

    /// Gathers the k×k windows of output pixels `pixels` (numbered across images, row-major within each) from NCHW
    /// images [images × channels × height × width] into rows [pixels × channels·k·k], columns ordered (c, ky, kx)
    /// as PyTorch flattens a conv weight; padding reads as zeros.
    static func im2col(
        _ x: UnsafePointer<Float>, channels: Int, window: ConvWindow, pixels: Range<Int>,
        into out: UnsafeMutablePointer<Float>
    ) {
        let k = window.kernel, h = window.height, w = window.width
        var o = out
        // The first pixel's image, row and column; then counters, not a division per pixel.
        var image = pixels.lowerBound / window.outPixels
        var oy = pixels.lowerBound % window.outPixels / window.outWidth
        var ox = pixels.lowerBound % window.outWidth
        for _ in pixels {
            let iy0 = oy * window.stride - window.padTop
            let ix0 = ox * window.stride - window.padLeft
            if iy0 >= 0, ix0 >= 0, iy0 + k <= h, ix0 + k <= w {  // inside the image: plain copies
                var src = x + ((image * channels) * h + iy0) * w + ix0
                for _ in 0..<channels {
                    var row = src
                    for _ in 0..<k {
                        if k == 3 {  // the usual stem: three moves, not a loop the compiler vectorises for long rows
                            o[0] = row[0]; o[1] = row[1]; o[2] = row[2]
                        } else {
                            for kx in 0..<k { o[kx] = row[kx] }
                        }
                        o += k
                        row += w
                    }
                    src += h * w
                }
            } else {
                for c in 0..<channels {
                    let plane = x + (image * channels + c) * h * w
                    for ky in 0..<k {
                        let iy = iy0 + ky
                        if iy < 0 || iy >= h {
                            o.update(repeating: 0, count: k)
                        } else {
                            for kx in 0..<k {
                                let ix = ix0 + kx
                                o[kx] = ix >= 0 && ix < w ? plane[iy * w + ix] : 0
                            }
                        }
                        o += k
                    }
                }
            }
            ox += 1
            if ox == window.outWidth {
                ox = 0
                oy += 1
                if oy == window.outHeight { oy = 0; image += 1 }
            }
        }
    }

    /// Global average pooling: `out[i, c]` is the mean over the `pixels` rows of image `i` in NHWC `x`
    /// [images × pixels × channels].
    public static func meanPool(
        _ x: UnsafePointer<Float>, images: Int, pixels: Int, channels: Int, into out: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<images {
            let o = out + i * channels
            o.update(repeating: 0, count: channels)
            for p in 0..<pixels { add(x + (i * pixels + p) * channels, into: o, count: channels) }
            scale(o, by: 1 / Float(max(1, pixels)), count: channels)
        }
    }
}

// MARK: - Depthwise convolution

/// A depthwise kernel size and stride known at compile time, so the tap loops unroll.
protocol DepthwiseShape {
    static var kernel: Int { get }
    static var stride: Int { get }
}

extension Kernels {
    enum Depthwise3x3s1: DepthwiseShape { static var kernel: Int { 3 }; static var stride: Int { 1 } }
    enum Depthwise3x3s2: DepthwiseShape { static var kernel: Int { 3 }; static var stride: Int { 2 } }
    enum Depthwise5x5s1: DepthwiseShape { static var kernel: Int { 5 }; static var stride: Int { 1 } }
    enum Depthwise5x5s2: DepthwiseShape { static var kernel: Int { 5 }; static var stride: Int { 2 } }

    /// One output row `row` of a depthwise convolution of the NHWC image `x` [height × width × channels] with
    /// tap-major weights `taps` [k·k × channels]: `y` [outWidth × channels] gets `act(bias + Σ taps · x)`.
    ///
    /// Columns whose window lies inside the image run four output pixels by sixteen channels at a time, each tap's
    /// weights loaded once (3×3 and 5×5, strides 1 and 2); border columns and other shapes take a per-pixel loop with
    /// the taps clipped, thirty-two channels at a time; channels past the last multiple of eight, a scalar one.
    static func depthwiseRow(
        _ x: UnsafePointer<Float>, window: ConvWindow, channels: Int, row: Int, taps: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, activation: ConvActivation, into y: UnsafeMutablePointer<Float>
    ) {
        switch activation {
        case .identity: depthwiseRow(x, window, channels, row, taps, bias, y, Identity.self)
        case .relu6: depthwiseRow(x, window, channels, row, taps, bias, y, ReLU6.self)
        }
    }

    @inline(__always)
    static func depthwiseRow<F: VectorFunction>(
        _ x: UnsafePointer<Float>, _ window: ConvWindow, _ channels: Int, _ row: Int, _ taps: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ f: F.Type
    ) {
        switch (window.kernel, window.stride) {
        case (3, 1): depthwiseRow(x, window, channels, row, taps, bias, y, Depthwise3x3s1.self, f)
        case (3, 2): depthwiseRow(x, window, channels, row, taps, bias, y, Depthwise3x3s2.self, f)
        case (5, 1): depthwiseRow(x, window, channels, row, taps, bias, y, Depthwise5x5s1.self, f)
        case (5, 2): depthwiseRow(x, window, channels, row, taps, bias, y, Depthwise5x5s2.self, f)
        default:
            let rows = tapRows(window, row: row)
            for ox in 0..<window.outWidth {
                depthwisePixel(x, window, channels, rows, ox, from: 0, taps, bias, y + ox * channels, f)
            }
        }
    }

    /// The input rows a window row reads, as `iy0` (the input row of tap row 0) and the valid tap rows.
    @inline(__always)
    static func tapRows(_ window: ConvWindow, row: Int) -> (iy0: Int, ky: Range<Int>) {
        let iy0 = row * window.stride - window.padTop
        let lower = max(0, -iy0), upper = min(window.kernel, window.height - iy0)
        return (iy0, lower..<max(lower, upper))
    }

    @inline(__always)
    static func depthwiseRow<S: DepthwiseShape, F: VectorFunction>(
        _ x: UnsafePointer<Float>, _ window: ConvWindow, _ channels: Int, _ row: Int, _ taps: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _: S.Type, _ f: F.Type
    ) {
        let k = S.kernel, s = S.stride, c = channels
        let rows = tapRows(window, row: row)
        // Output columns whose whole window lies inside the image: ox·s − padLeft ≥ 0 and ox·s − padLeft + k ≤ width.
        let first = min(window.outWidth, (window.padLeft + s - 1) / s)
        let last = window.width - k + window.padLeft < 0 ? first
            : max(first, min(window.outWidth, (window.width - k + window.padLeft) / s + 1))
        let vectorChannels = c / lanes * lanes
        for ox in 0..<first { depthwisePixel(x, window, c, rows, ox, from: 0, taps, bias, y + ox * c, f) }
        let step = s * c  // from one output pixel's input to the next one's
        var ox = first
        while ox + 4 <= last {
            let ix0 = ox * s - window.padLeft
            let out = y + ox * c
            var ch = 0
            // Two channel blocks at once: eight independent FMA chains hide the FMA latency.
            while ch + 2 * lanes <= vectorChannels {
                let b0 = load(bias + ch), b1 = load(bias + ch + lanes)
                var a0 = b0, a1 = b0, a2 = b0, a3 = b0
                var d0 = b1, d1 = b1, d2 = b1, d3 = b1
                for ky in rows.ky {
                    // Pointers step by whole pixels; no index arithmetic (and no overflow check) in the tap loop.
                    var p = x + ((rows.iy0 + ky) * window.width + ix0) * c + ch
                    var w = taps + ky * k * c + ch
                    for _ in 0..<k {
                        let u = load(w), v = load(w + lanes)
                        a0 = fma(load(p), u, a0); d0 = fma(load(p + lanes), v, d0)
                        a1 = fma(load(p + step), u, a1); d1 = fma(load(p + step + lanes), v, d1)
                        a2 = fma(load(p + 2 * step), u, a2); d2 = fma(load(p + 2 * step + lanes), v, d2)
                        a3 = fma(load(p + 3 * step), u, a3); d3 = fma(load(p + 3 * step + lanes), v, d3)
                        p += c
                        w += c
                    }
                }
                store(F.apply(a0), out + ch); store(F.apply(d0), out + ch + lanes)
                store(F.apply(a1), out + c + ch); store(F.apply(d1), out + c + ch + lanes)
                store(F.apply(a2), out + 2 * c + ch); store(F.apply(d2), out + 2 * c + ch + lanes)
                store(F.apply(a3), out + 3 * c + ch); store(F.apply(d3), out + 3 * c + ch + lanes)
                ch += 2 * lanes
            }
            if ch < vectorChannels {
                let b = load(bias + ch)
                var a0 = b, a1 = b, a2 = b, a3 = b
                for ky in rows.ky {
                    var p = x + ((rows.iy0 + ky) * window.width + ix0) * c + ch
                    var w = taps + ky * k * c + ch
                    for _ in 0..<k {
                        let u = load(w)
                        a0 = fma(load(p), u, a0)
                        a1 = fma(load(p + step), u, a1)
                        a2 = fma(load(p + 2 * step), u, a2)
                        a3 = fma(load(p + 3 * step), u, a3)
                        p += c
                        w += c
                    }
                }
                store(F.apply(a0), out + ch)
                store(F.apply(a1), out + c + ch)
                store(F.apply(a2), out + 2 * c + ch)
                store(F.apply(a3), out + 3 * c + ch)
            }
            if vectorChannels < c {
                for p in ox..<(ox + 4) {
                    depthwisePixel(x, window, c, rows, p, from: vectorChannels, taps, bias, y + p * c, f)
                }
            }
            ox += 4
        }
        for p in ox..<window.outWidth { depthwisePixel(x, window, c, rows, p, from: 0, taps, bias, y + p * c, f) }
    }

    /// Output pixel `ox` of a row, channels `from..<channels`, with the taps clipped to the image.
    @inline(__always)
    static func depthwisePixel<F: VectorFunction>(
        _ x: UnsafePointer<Float>, _ window: ConvWindow, _ channels: Int, _ rows: (iy0: Int, ky: Range<Int>), _ ox: Int,
        from start: Int, _ taps: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        _: F.Type
    ) {
        let k = window.kernel, c = channels
        let ix0 = ox * window.stride - window.padLeft
        let kx = max(0, -ix0)..<max(0, min(k, window.width - ix0))
        var ch = start
        // Four channel blocks at once, for four independent FMA chains.
        while ch + 4 * lanes <= c {
            var a0 = load(bias + ch), a1 = load(bias + ch + lanes)
            var a2 = load(bias + ch + 2 * lanes), a3 = load(bias + ch + 3 * lanes)
            for ky in rows.ky {
                var p = x + ((rows.iy0 + ky) * window.width + ix0 + kx.lowerBound) * c + ch
                var w = taps + (ky * k + kx.lowerBound) * c + ch
                for _ in kx {
                    a0 = fma(load(p), load(w), a0)
                    a1 = fma(load(p + lanes), load(w + lanes), a1)
                    a2 = fma(load(p + 2 * lanes), load(w + 2 * lanes), a2)
                    a3 = fma(load(p + 3 * lanes), load(w + 3 * lanes), a3)
                    p += c
                    w += c
                }
            }
            store(F.apply(a0), out + ch)
            store(F.apply(a1), out + ch + lanes)
            store(F.apply(a2), out + ch + 2 * lanes)
            store(F.apply(a3), out + ch + 3 * lanes)
            ch += 4 * lanes
        }
        while ch + lanes <= c {
            var acc = load(bias + ch)
            for ky in rows.ky {
                var p = x + ((rows.iy0 + ky) * window.width + ix0 + kx.lowerBound) * c + ch
                var w = taps + (ky * k + kx.lowerBound) * c + ch
                for _ in kx {
                    acc = fma(load(p), load(w), acc)
                    p += c
                    w += c
                }
            }
            store(F.apply(acc), out + ch)
            ch += lanes
        }
        while ch < c {
            var acc = bias[ch]
            for ky in rows.ky {
                let base = ((rows.iy0 + ky) * window.width + ix0) * c + ch
                for t in kx { acc += x[base + t * c] * taps[(ky * k + t) * c + ch] }
            }
            out[ch] = F.apply(Vec(repeating: acc))[0]
            ch += 1
        }
    }
}
